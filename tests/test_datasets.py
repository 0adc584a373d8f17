"""Tests for bpcore.datasets: generated 2-D sets, helpers and the shipped digits."""

import gzip
import importlib.util
import pathlib
import warnings

import numpy as np
import pytest

from bpcore import datasets as ds

GENERATORS = {
    "xor": ds.xor_cloud,
    "moons": ds.moons,
    "circles": ds.circles,
    "spirals": ds.spirals,
    "blobs": ds.blobs,
}
# Number of classes each generator makes with its default arguments.
DEFAULT_K = {"xor": 2, "moons": 2, "circles": 2, "spirals": 3, "blobs": 3}


# --------------------------------------------------------------------------
# Logic-gate truth tables
# --------------------------------------------------------------------------

GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


@pytest.mark.parametrize(
    "func, expected",
    [
        (ds.xor, [0, 1, 1, 0]),
        (ds.and_gate, [0, 0, 0, 1]),
        (ds.or_gate, [0, 1, 1, 1]),
    ],
)
def test_truth_tables(func, expected):
    X, y = func()
    assert X.dtype == np.float64 and X.shape == (4, 2)
    assert y.dtype == np.float64 and y.shape == (4, 1)
    np.testing.assert_array_equal(X, GATE_INPUTS)
    np.testing.assert_array_equal(y[:, 0], expected)


def test_xor_table_is_xor_of_its_inputs():
    X, y = ds.xor()
    a, b = X[:, 0].astype(bool), X[:, 1].astype(bool)
    np.testing.assert_array_equal(y[:, 0], (a ^ b).astype(float))


def test_truth_tables_are_fresh_arrays():
    X, y = ds.xor()
    X[:] = 7
    y[:] = 7
    X2, y2 = ds.xor()
    np.testing.assert_array_equal(X2, GATE_INPUTS)
    np.testing.assert_array_equal(y2[:, 0], [0, 1, 1, 0])


# --------------------------------------------------------------------------
# Generated 2-D sets: common properties
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_shapes_dtypes_and_labels(name):
    X, y = GENERATORS[name](n=123, seed=3)
    assert X.shape == (123, 2) and X.dtype == np.float64
    assert y.shape == (123,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    assert set(np.unique(y).tolist()) == set(range(DEFAULT_K[name]))


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("n", [200, 201, 301])
def test_classes_are_balanced(name, n):
    _, y = GENERATORS[name](n=n, seed=0)
    counts = np.bincount(y)
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("func", [ds.xor_cloud, ds.moons, ds.circles])
def test_two_class_split_is_n_half_and_rest(func):
    _, y = func(n=201, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [100, 101])


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_data(name):
    X1, y1 = GENERATORS[name](seed=42)
    X2, y2 = GENERATORS[name](seed=42)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_different_seed_different_data(name):
    X1, _ = GENERATORS[name](seed=0)
    X2, _ = GENERATORS[name](seed=1)
    assert X1.shape == X2.shape
    assert not np.allclose(X1, X2)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_rows_are_shuffled(name):
    # Classes are interleaved, not one block after the other.
    _, y = GENERATORS[name](n=200, seed=0)
    changes = np.count_nonzero(np.diff(y))
    assert changes > 20


@pytest.mark.parametrize("func", [ds.xor_cloud, ds.moons, ds.circles, ds.spirals])
def test_negative_noise_rejected(func):
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0, got -0.1"):
        func(noise=-0.1)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_too_few_points_rejected(name):
    with pytest.raises(ValueError, match=r"n must be an integer >= \d+, got 1"):
        GENERATORS[name](n=1)


def test_non_integer_n_rejected():
    with pytest.raises(TypeError, match=r"n must be an integer >= 2, got 10.5"):
        ds.moons(n=10.5)


# --------------------------------------------------------------------------
# Generated 2-D sets: geometry (noise = 0 puts points exactly on the curves)
# --------------------------------------------------------------------------

def test_xor_cloud_noise_free_labels_follow_sign_rule():
    X, y = ds.xor_cloud(n=400, noise=0.0, seed=5)
    assert np.all(np.abs(X) <= 1.0)
    assert np.all(X != 0.0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    # All four quadrants are populated.
    quadrant = (X[:, 0] > 0).astype(int) * 2 + (X[:, 1] > 0).astype(int)
    assert set(quadrant.tolist()) == {0, 1, 2, 3}


def test_xor_cloud_noise_moves_points_off_the_clean_rule():
    X, y = ds.xor_cloud(n=2000, noise=0.3, seed=5)
    agree = np.mean(y == (X[:, 0] * X[:, 1] < 0))
    assert 0.6 < agree < 0.99  # mostly right, but noise flips some


def test_moons_noise_free_points_lie_on_the_half_circles():
    X, y = ds.moons(n=300, noise=0.0, seed=2)
    upper, lower = X[y == 0], X[y == 1]
    # Class 0: unit circle centred at (0, 0), upper half.
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert np.all(upper[:, 1] >= 0)
    # Class 1: unit circle centred at (1, 0.5), lower half.
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert np.all(lower[:, 1] <= 0.5)


def test_moons_noise_has_the_requested_size():
    X0, y0 = ds.moons(n=4000, noise=0.0, seed=9)
    X1, y1 = ds.moons(n=4000, noise=0.2, seed=9)
    # Same seed -> same angles and same shuffle, so the difference is the noise.
    np.testing.assert_array_equal(y0, y1)
    diff = X1 - X0
    assert abs(diff.std() - 0.2) < 0.01
    assert abs(diff.mean()) < 0.01


def test_circles_noise_free_radii_are_exactly_one_and_factor():
    X, y = ds.circles(n=250, noise=0.0, factor=0.3, seed=4)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-12)


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5, -0.2])
def test_circles_factor_must_be_between_0_and_1(factor):
    with pytest.raises(ValueError, match="factor"):
        ds.circles(factor=factor)


def test_spirals_noise_free_points_lie_on_their_arms():
    K = 4
    X, y = ds.spirals(n=400, classes=K, noise=0.0, seed=1)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all(r <= 1.0)
    theta = 2 * np.pi * y / K + 4.0 * r
    expected = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    np.testing.assert_allclose(X, expected, atol=1e-12)
    np.testing.assert_array_equal(np.bincount(y), [100] * K)


def test_spirals_classes_and_uneven_split():
    _, y = ds.spirals(n=302, classes=3, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [101, 101, 100])


def test_spirals_need_two_arms_and_n_at_least_classes():
    with pytest.raises(ValueError, match="classes must be an integer >= 2, got 1"):
        ds.spirals(classes=1)
    with pytest.raises(ValueError, match="n must be an integer >= 5, got 4"):
        ds.spirals(n=4, classes=5)


def test_blobs_spread_zero_puts_points_on_a_few_centres_in_the_box():
    X, y = ds.blobs(n=90, centers=3, spread=0.0, seed=8)
    for k in range(3):
        pts = X[y == k]
        assert len(pts) == 30
        np.testing.assert_array_equal(pts, np.broadcast_to(pts[0], pts.shape))
        assert np.all(np.abs(pts[0]) <= 5.0)
    assert len(np.unique(X, axis=0)) == 3


def test_blobs_with_given_centres_and_spread():
    centres = np.array([[10.0, 0.0], [-10.0, 0.0], [0.0, 10.0], [0.0, -10.0]])
    X, y = ds.blobs(n=4000, centers=centres, spread=0.5, seed=0)
    assert np.bincount(y).tolist() == [1000] * 4
    for k in range(4):
        pts = X[y == k]
        np.testing.assert_allclose(pts.mean(axis=0), centres[k], atol=0.06)
        np.testing.assert_allclose(pts.std(axis=0), 0.5, atol=0.04)


def test_blobs_centres_depend_on_seed():
    X0, y0 = ds.blobs(spread=0.0, seed=0)
    X1, y1 = ds.blobs(spread=0.0, seed=1)
    c0 = np.array([X0[y0 == k][0] for k in range(3)])
    c1 = np.array([X1[y1 == k][0] for k in range(3)])
    assert not np.allclose(c0, c1)


def test_blobs_bad_centres_shape():
    with pytest.raises(ValueError, match=r"shape \(K, 2\), got shape \(3,\)"):
        ds.blobs(centers=[1.0, 2.0, 3.0])


# --------------------------------------------------------------------------
# get_dataset
# --------------------------------------------------------------------------

def test_dataset_names():
    assert ds.DATASETS == ("xor", "moons", "circles", "spirals", "blobs")
    assert isinstance(ds.DATASETS, tuple)


@pytest.mark.parametrize("name", ds.DATASETS)
def test_get_dataset_matches_the_generator(name):
    X, y = ds.get_dataset(name, n=60, seed=7)
    Xd, yd = GENERATORS[name](n=60, seed=7)
    np.testing.assert_array_equal(X, Xd)
    np.testing.assert_array_equal(y, yd)


def test_get_dataset_xor_is_the_point_cloud_not_the_table():
    X, y = ds.get_dataset("xor")
    assert X.shape == (200, 2) and y.shape == (200,) and y.dtype == np.int64


def test_get_dataset_passes_keyword_arguments():
    X, y = ds.get_dataset("circles", n=50, noise=0.0, factor=0.25, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(np.sort(np.unique(r.round(12))), [0.25, 1.0])


@pytest.mark.parametrize("bad", ["mnist", "XOR ", "", None])
def test_get_dataset_unknown_name_lists_known_names(bad):
    with pytest.raises(ValueError) as info:
        ds.get_dataset(bad)
    message = str(info.value)
    assert repr(bad) in message
    for name in ds.DATASETS:
        assert name in message


# --------------------------------------------------------------------------
# one_hot
# --------------------------------------------------------------------------

def test_one_hot_values_and_round_trip():
    y = np.array([2, 0, 1, 2, 2], dtype=np.int64)
    Y = ds.one_hot(y)
    assert Y.dtype == np.float64 and Y.shape == (5, 3)
    np.testing.assert_array_equal(
        Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]]
    )
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(Y.argmax(axis=1), y)


def test_one_hot_round_trip_on_generated_labels():
    _, y = ds.spirals(n=99, classes=3, seed=0)
    np.testing.assert_array_equal(ds.one_hot(y).argmax(axis=1), y)


def test_one_hot_num_classes_adds_empty_columns():
    Y = ds.one_hot([0, 1], num_classes=4)
    np.testing.assert_array_equal(Y, [[1, 0, 0, 0], [0, 1, 0, 0]])


def test_one_hot_accepts_other_integer_dtypes_and_lists():
    for y in ([1, 0], np.array([1, 0], dtype=np.uint8), np.array([1, 0], dtype=np.int32)):
        np.testing.assert_array_equal(ds.one_hot(y), [[0, 1], [1, 0]])


def test_one_hot_empty():
    assert ds.one_hot(np.array([], dtype=np.int64)).shape == (0, 0)
    assert ds.one_hot(np.array([], dtype=np.int64), num_classes=3).shape == (0, 3)


def test_one_hot_rejects_2d_with_hint():
    with pytest.raises(ValueError) as info:
        ds.one_hot(np.zeros((4, 1), dtype=np.int64))
    msg = str(info.value)
    assert "1-D" in msg and "(N,)" in msg and "(4, 1)" in msg and "ravel" in msg


def test_one_hot_rejects_floats():
    with pytest.raises(TypeError) as info:
        ds.one_hot(np.array([0.0, 1.0]))
    msg = str(info.value)
    assert "integer" in msg and "float64" in msg


def test_one_hot_rejects_negative_labels():
    with pytest.raises(ValueError) as info:
        ds.one_hot([0, -1, 2])
    msg = str(info.value)
    assert "non-negative" in msg and "-1" in msg


def test_one_hot_rejects_labels_too_large_for_num_classes():
    with pytest.raises(ValueError) as info:
        ds.one_hot([0, 5], num_classes=3)
    msg = str(info.value)
    assert "num_classes=3" in msg and "0..2" in msg and "5" in msg


def test_one_hot_rejects_bad_num_classes():
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1, got 0"):
        ds.one_hot([0], num_classes=0)
    with pytest.raises(TypeError, match="num_classes must be an integer"):
        ds.one_hot([0], num_classes=2.0)


# --------------------------------------------------------------------------
# train_test_split
# --------------------------------------------------------------------------

def _tagged(n, d=3):
    """X whose row i is [i, i, ...] (so rows are identifiable), y = i."""
    X = np.repeat(np.arange(n, dtype=np.float64)[:, None], d, axis=1)
    y = np.arange(n, dtype=np.int64)
    return X, y


@pytest.mark.parametrize("n, frac, n_test", [(100, 0.25, 25), (10, 0.3, 3), (7, 0.5, 4), (2, 0.01, 1), (5, 0.99, 4)])
def test_split_sizes(n, frac, n_test):
    X, y = _tagged(n)
    X_tr, X_te, y_tr, y_te = ds.train_test_split(X, y, test_fraction=frac, seed=0)
    assert X_te.shape == (n_test, 3) and y_te.shape == (n_test,)
    assert X_tr.shape == (n - n_test, 3) and y_tr.shape == (n - n_test,)
    assert X_tr.dtype == X.dtype and y_tr.dtype == y.dtype


def test_split_is_a_partition_and_keeps_rows_with_their_targets():
    X, y = _tagged(101)
    X_tr, X_te, y_tr, y_te = ds.train_test_split(X, y, test_fraction=0.2, seed=3)
    together = np.concatenate([y_tr, y_te])
    np.testing.assert_array_equal(np.sort(together), np.arange(101))  # no loss, no duplicate
    assert len(np.intersect1d(y_tr, y_te)) == 0
    np.testing.assert_array_equal(X_tr[:, 0], y_tr)
    np.testing.assert_array_equal(X_te[:, 0], y_te)


def test_split_shuffles_and_is_deterministic():
    X, y = _tagged(50)
    a = ds.train_test_split(X, y, seed=1)
    b = ds.train_test_split(X, y, seed=1)
    c = ds.train_test_split(X, y, seed=2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[3], c[3])
    assert not np.array_equal(a[2], np.sort(a[2]))  # not just the first rows in order


def test_split_accepts_column_targets():
    X, y = ds.xor()
    X_tr, X_te, y_tr, y_te = ds.train_test_split(X, y, test_fraction=0.25)
    assert y_tr.shape == (3, 1) and y_te.shape == (1, 1)


def test_split_returns_copies():
    X, y = _tagged(8)
    X_tr, _, _, _ = ds.train_test_split(X, y)
    X_tr[:] = -1
    np.testing.assert_array_equal(X, _tagged(8)[0])


def test_split_length_mismatch_error():
    X, _ = _tagged(10)
    with pytest.raises(ValueError) as info:
        ds.train_test_split(X, np.zeros(9))
    msg = str(info.value)
    assert "same number of rows" in msg and "10 rows" in msg and "9 rows" in msg


@pytest.mark.parametrize("frac", [0.0, 1.0, -0.5, 2])
def test_split_fraction_must_be_between_0_and_1(frac):
    X, y = _tagged(10)
    with pytest.raises(ValueError, match="test_fraction must be strictly between 0 and 1"):
        ds.train_test_split(X, y, test_fraction=frac)


def test_split_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        ds.train_test_split(np.zeros((1, 2)), np.zeros(1))


# --------------------------------------------------------------------------
# standardize
# --------------------------------------------------------------------------

def test_standardize_train_only():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[5.0, -3.0, 100.0], scale=[2.0, 0.1, 30.0], size=(500, 3))
    Z = ds.standardize(X)
    assert isinstance(Z, np.ndarray) and Z.shape == (500, 3) and Z.dtype == np.float64
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=1e-12)


def test_standardize_uses_training_statistics_for_test():
    X_tr = np.array([[0.0, 10.0], [2.0, 30.0]])  # mean [1, 20], std [1, 10]
    X_te = np.array([[1.0, 20.0], [3.0, 0.0]])
    Z_tr, Z_te = ds.standardize(X_tr, X_te)
    np.testing.assert_allclose(Z_tr, [[-1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(Z_te, [[0.0, 0.0], [2.0, -2.0]])


def test_standardize_constant_columns_stay_zero_without_warnings():
    X = np.array([[0.0, 1.0, 7.0], [0.0, 3.0, 7.0], [0.0, 5.0, 7.0]])
    X_te = np.array([[0.0, 3.0, 8.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z, Z_te = ds.standardize(X, X_te)
    assert np.all(np.isfinite(Z)) and np.all(np.isfinite(Z_te))
    np.testing.assert_array_equal(Z[:, [0, 2]], 0.0)
    np.testing.assert_allclose(Z[:, 1].std(), 1.0)
    np.testing.assert_allclose(Z_te, [[0.0, 0.0, 1.0]])  # constant column: centred only


def test_standardize_does_not_modify_inputs_and_casts_ints():
    X = np.array([[1, 2], [3, 4]])
    Z = ds.standardize(X)
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert Z.dtype == np.float64
    np.testing.assert_allclose(Z, [[-1, -1], [1, 1]])


def test_standardize_shape_errors():
    with pytest.raises(ValueError, match=r"shape \(N, D\).*got shape \(5,\)"):
        ds.standardize(np.arange(5.0))
    with pytest.raises(ValueError, match=r"\(M, 2\).*got shape \(3, 3\)"):
        ds.standardize(np.zeros((4, 2)), np.zeros((3, 3)))


# --------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------

def test_digits_shapes_dtypes_and_range():
    X, y = ds.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    # Values are the original 0..16 counts divided by 16.
    np.testing.assert_array_equal(X * 16, np.round(X * 16))


def test_digits_class_counts():
    _, y = ds.load_digits()
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10 and set(np.unique(y).tolist()) == set(range(10))
    assert counts.sum() == 1797
    assert np.all((counts >= 170) & (counts <= 190))
    # The well-known per-class counts of this data set.
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_overall_statistics_are_sane():
    X, _ = ds.load_digits()
    assert 0.25 < X.mean() < 0.35  # mostly dark background, bright strokes
    # The left- and right-most pixel columns are nearly blank; the centre is not.
    images = X.reshape(-1, 8, 8)
    assert images[:, :, 0].mean() < 0.05 and images[:, :, 3:5].mean() > 0.5


def test_digits_images_match_flat_rows():
    X, y = ds.load_digits()
    I, y2 = ds.load_digits(images=True)
    assert I.shape == (1797, 8, 8) and I.dtype == np.float64
    np.testing.assert_array_equal(I.reshape(1797, 64), X)
    np.testing.assert_array_equal(y, y2)


def test_digits_calls_return_fresh_arrays():
    X, y = ds.load_digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = ds.load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


def test_digits_standardize_has_no_warnings():
    X, _ = ds.load_digits()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = ds.standardize(X)
    constant = X.std(axis=0) == 0
    assert constant.any()  # e.g. the top-left corner pixel is always blank
    np.testing.assert_array_equal(Z[:, constant], 0.0)
    np.testing.assert_allclose(Z[:, ~constant].std(axis=0), 1.0, atol=1e-12)


def _sklearn_digits_csv():
    """Path of scikit-learn's digits.csv.gz if some copy is on this machine."""
    candidates = [
        pathlib.Path("/tmp/probe-venv/lib/python3.11/site-packages/sklearn/datasets/data/digits.csv.gz")
    ]
    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.append(pathlib.Path(loc) / "datasets" / "data" / "digits.csv.gz")
    for path in candidates:
        if path.is_file():
            return path
    return None


def test_digits_first_row_matches_the_original_csv():
    path = _sklearn_digits_csv()
    if path is None:
        pytest.skip("scikit-learn's digits.csv.gz is not available on this machine")
    with gzip.open(path, "rt") as fh:
        first = np.array(fh.readline().strip().split(","), dtype=np.int64)
    assert first.shape == (65,)
    X, y = ds.load_digits()
    np.testing.assert_array_equal(X[0] * 16, first[:64])
    assert y[0] == first[64]


def test_digits_first_image_is_a_zero():
    # Independent of any file: the first image of the set is a well-known "0".
    I, y = ds.load_digits(images=True)
    assert y[0] == 0
    expected_top_row = np.array([0, 0, 5, 13, 9, 1, 0, 0]) / 16
    np.testing.assert_array_equal(I[0, 0], expected_top_row)
