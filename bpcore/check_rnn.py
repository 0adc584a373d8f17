"""Checks for the recurrent exercise: ``check.bptt_step(bptt_step)``.

One step of backpropagation through time. At step t the hidden output h_t = g(a_t) feeds two
places, the next step's hidden layer (through W_h) and this step's output (through W_y), so

    delta_t = g'(a_t) * (delta_{t+1} W_h^T + delta_out_t W_y^T)

The cases vary N, the hidden size r_1, the output size r_2, the activation (tanh, sigmoid), and
include the last step (delta_{t+1} = 0), a step without output (many-to-one, t < T:
delta_out_t = 0), a float32 case and one case whose shapes come from the seed. Square W_y
(r_1 = r_2) in some cases lets a transposed W_y show itself by value.

``bpcore.check`` merges :data:`SPECS_RNN` and :data:`EXERCISES_RNN` into its tables; this module
must not import ``bpcore.check`` (that would be circular).
"""
from __future__ import annotations

import numpy as np

from .activations import get_activation
from .checking import Act, Case, Mistake, Spec
from .gradcheck import numerical_gradient as _numgrad

__all__ = ["SPECS_RNN", "EXERCISES_RNN"]

SIGNATURE = "bptt_step(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime)"


def _f32(inputs):
    return {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}


def _case_inputs(rng, N, H, r_out, g, kind="middle"):
    a_t = rng.normal(scale=1.2, size=(N, H))
    delta_next = rng.normal(scale=0.5, size=(N, H))
    delta_out = rng.normal(scale=0.5, size=(N, r_out))
    if kind == "last":
        delta_next = np.zeros((N, H))
    elif kind == "no_output":
        delta_out = np.zeros((N, r_out))
    return {"delta_next": delta_next, "W_h": rng.normal(scale=0.6, size=(H, H)),
            "delta_out": delta_out, "W_y": rng.normal(scale=0.6, size=(H, r_out)),
            "a_t": a_t, "h_t": get_activation(g).g(a_t), "g_prime": Act(g)}


_KIND_LABEL = {"middle": "", "last": ", last step t = T (delta_next = 0)",
               "no_output": ", many-to-one step t < T (no output: delta_out = 0)"}


def _bptt_cases(seed):
    rng = np.random.default_rng(seed)
    drawn = (int(rng.integers(1, 9)), int(rng.integers(1, 7)), int(rng.integers(1, 5)),
             str(rng.choice(["tanh", "sigmoid"])), "middle")
    table = [(1, 3, 3, "tanh", "middle"), (4, 4, 2, "sigmoid", "middle"), (5, 3, 1, "tanh", "middle"),
             (3, 5, 5, "tanh", "last"), (6, 2, 3, "sigmoid", "no_output"), (2, 6, 6, "sigmoid", "middle"),
             drawn]
    cases = []
    for N, H, r_out, g, kind in table:
        cases.append(Case(f"N={N}, r_1={H}, r_2={r_out}, g={g}{_KIND_LABEL[kind]}",
                          _case_inputs(rng, N, H, r_out, g, kind)))
    inp = _f32(_case_inputs(rng, 4, 3, 2, "tanh"))
    cases.append(Case("N=4, r_1=3, r_2=2, g=tanh, float32", inp, rtol=1e-5, atol=1e-6))
    return cases


def _bptt_ref(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return (delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(a_t)


def _bptt_numeric(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    """dE/da_t by finite differences: with delta_{t+1} = dE/da_{t+1} and delta_out_t = dE/da_out_t
    held fixed, E changes with a_t as sum(delta_next * (g(a_t) W_h)) + sum(delta_out * (g(a_t) W_y))."""
    g = get_activation(g_prime.name).g
    f64 = lambda v: np.asarray(v, np.float64)  # noqa: E731
    dn, Wh, do, Wy = f64(delta_next), f64(W_h), f64(delta_out), f64(W_y)
    return _numgrad(lambda a: float(np.sum(dn * (g(a) @ Wh)) + np.sum(do * (g(a) @ Wy))),
                    f64(a_t).copy(), h=1e-5)


def _m(fn):
    """A mistake written with the exercise's argument names."""
    return lambda delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime: fn(
        delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime)


_BPTT_MISTAKES = [
    Mistake("missing_g_prime", "Your delta is missing the g'(a_t) factor: delta_t = g'(a_t) * "
            "(delta_{t+1} W_h^T + delta_out_t W_y^T). The sum in brackets is dE/dh_t; the factor g'(a_t) "
            "turns it into dE/da_t.",
            _m(lambda dn, Wh, do, Wy, a, h, gp: dn @ Wh.T + do @ Wy.T)),
    Mistake("h_for_a", "You applied g' to h_t = g(a_t); g' takes the activation: g'(a_t), not g'(h_t). "
            "(o/h used instead of a.)",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (dn @ Wh.T + do @ Wy.T) * gp(h))),
    Mistake("times_h", "You multiplied by h_t, the output of the hidden layer; the factor is the "
            "derivative g'(a_t).",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (dn @ Wh.T + do @ Wy.T) * h)),
    Mistake("no_recurrent_term", "You forgot the recurrent term delta_{t+1} W_h^T: h_t also feeds the next "
            "step's hidden layer (a_{t+1} = x_{t+1} W_x + h_t W_h + b), so the error of step t+1 flows back "
            "into step t. That term is what makes it backpropagation *through time*.",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (do @ Wy.T) * gp(a))),
    Mistake("no_output_term", "You forgot the output term delta_out_t W_y^T: h_t also feeds this step's "
            "output (a_out_t = h_t W_y + b_y), so the error made at step t flows back too.",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (dn @ Wh.T) * gp(a))),
    Mistake("transposed_W_h", "Transposed recurrent weights: W_h[i, j] connects h_{t-1, i} to a_{t, j}, so "
            "the error flows back with the sum over j of W_h[i, j] delta_{t+1, j}: delta_next @ W_h.T.",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (dn @ Wh + do @ Wy.T) * gp(a))),
    Mistake("transposed_W_y", "Transposed output weights: W_y is (r_1, r_2), so the output error flows back "
            "as delta_out @ W_y.T, shape (N, r_1).",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (dn @ Wh.T + do @ Wy) * gp(a))),
    Mistake("g_prime_only_on_output", "g'(a_t) multiplies only the output term in your code: it must multiply "
            "the whole sum, g'(a_t) * (delta_{t+1} W_h^T + delta_out_t W_y^T). Check the brackets: "
            "`x + y * z` is `x + (y * z)`.",
            _m(lambda dn, Wh, do, Wy, a, h, gp: dn @ Wh.T + (do @ Wy.T) * gp(a))),
    Mistake("g_prime_only_on_recurrent", "g'(a_t) multiplies only the recurrent term in your code: it must "
            "multiply the whole sum, g'(a_t) * (delta_{t+1} W_h^T + delta_out_t W_y^T). Check the brackets.",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (dn @ Wh.T) * gp(a) + do @ Wy.T)),
    Mistake("wrong_sign", "Wrong sign: nothing in the delta rule flips the sign; the minus sign belongs to "
            "the gradient-descent update, later.",
            _m(lambda dn, Wh, do, Wy, a, h, gp: -(dn @ Wh.T + do @ Wy.T) * gp(a))),
    Mistake("divided_by_N", "You divided by N: deltas are per sequence; the 1/N belongs to the weight "
            "gradients (summed over t, averaged over the N sequences).",
            _m(lambda dn, Wh, do, Wy, a, h, gp: (dn @ Wh.T + do @ Wy.T) * gp(a) / len(a))),
    Mistake("g_prime_of_sum", "You applied g' to the sum of the errors; g' is evaluated at the activation a_t "
            "and multiplies the sum: g'(a_t) * (delta_{t+1} W_h^T + delta_out_t W_y^T).",
            _m(lambda dn, Wh, do, Wy, a, h, gp: gp(dn @ Wh.T + do @ Wy.T))),
]

SPECS_RNN = {
    "bptt_step": Spec(name="bptt_step", signature=SIGNATURE, cases=_bptt_cases, reference=_bptt_ref,
                      mistakes=_BPTT_MISTAKES, numeric=_bptt_numeric, what="delta_t"),
}

#: Which functions each recurrent exercise notebook asks for (file stem -> spec names).
EXERCISES_RNN = {"09_bptt_step": ["bptt_step"]}
