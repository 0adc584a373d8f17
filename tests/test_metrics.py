"""confusion_matrix counts (true, predicted) pairs with rows = true class."""
import numpy as np
import pytest

from bpcore.metrics import confusion_matrix

# 7 examples, 3 classes, counted by hand:
#   true 0: predicted 0, 0, 1       -> row 0 = [2, 1, 0]
#   true 1: predicted 1             -> row 1 = [0, 1, 0]
#   true 2: predicted 0, 2, 2       -> row 2 = [1, 0, 2]
Y_TRUE = [0, 0, 0, 1, 2, 2, 2]
Y_PRED = [0, 0, 1, 1, 0, 2, 2]
EXPECTED = np.array([[2, 1, 0],
                     [0, 1, 0],
                     [1, 0, 2]])


def test_hand_computed_example():
    C = confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert C.shape == (3, 3) and C.dtype == np.int64
    np.testing.assert_array_equal(C, EXPECTED)
    assert C.sum() == len(Y_TRUE)
    assert np.trace(C) == 5                               # 5 right
    np.testing.assert_array_equal(C.sum(axis=1), [3, 1, 3])  # examples per true class


def test_swapped_arguments_give_the_transpose_so_the_test_would_catch_it():
    swapped = confusion_matrix(Y_PRED, Y_TRUE, 3)
    np.testing.assert_array_equal(swapped, EXPECTED.T)
    # the example is not symmetric, so a rows/columns mix-up fails the check above
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(swapped, EXPECTED)


def test_num_classes_sets_the_size_even_for_absent_classes():
    C = confusion_matrix(np.array([0, 1]), np.array([1, 1]), 4)
    assert C.shape == (4, 4)
    assert C[0, 1] == 1 and C[1, 1] == 1 and C.sum() == 2


def test_whole_number_floats_and_empty_input_are_accepted():
    np.testing.assert_array_equal(confusion_matrix([0.0, 1.0], [1.0, 1.0], 2), [[0, 1], [0, 1]])
    np.testing.assert_array_equal(confusion_matrix([], [], 2), np.zeros((2, 2), int))


def test_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length.*3 true labels and 2 predictions"):
        confusion_matrix([0, 1, 2], [0, 1], 3)


@pytest.mark.parametrize("y_true, y_pred, K, err, match", [
    ([0, 3], [0, 1], 3, ValueError, r"labels in 0 \.\. 2.*\[3\]"),
    ([0, -1], [0, 1], 3, ValueError, "labels in 0"),
    ([0, 1], [0.5, 1], 3, ValueError, "whole-number"),
    ([[1, 0], [0, 1]], [0, 1], 2, ValueError, "argmax"),
    (["a", "b"], [0, 1], 2, TypeError, "integer class labels"),
    ([0, 1], [0, 1], 0, ValueError, "num_classes"),
    ([0, 1], [0, 1], 2.0, TypeError, "num_classes"),
])
def test_rejects_bad_input_with_a_clear_message(y_true, y_pred, K, err, match):
    with pytest.raises(err, match=match):
        confusion_matrix(y_true, y_pred, K)
