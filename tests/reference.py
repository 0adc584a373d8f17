"""An independent, deliberately plain implementation of backpropagation used to test
bpcore: one example at a time, one node at a time, scalar loops (no matrices), so it
shares no code and no vectorisation with bpcore.network.
"""
import math


def _g(name, a):
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
    if name == "tanh":
        return math.tanh(a)
    if name == "relu":
        return a if a > 0 else 0.0
    if name == "identity":
        return a
    raise ValueError(name)


def _dg(name, a):
    if name == "sigmoid":
        s = _g("sigmoid", a)
        return s * (1 - s)
    if name == "tanh":
        return 1 - math.tanh(a) ** 2
    if name == "relu":
        return 1.0 if a > 0 else 0.0
    if name == "identity":
        return 1.0
    raise ValueError(name)


def loop_backprop(W, b, g, g_out, X, Y):
    """MSE loss, element-wise output activation. W, b: lists indexed by k (index 0 unused),
    nested Python lists or arrays. Returns (E, dW, db) as nested lists, averaged over rows."""
    m = len(W) - 1
    sizes = [len(W[1])] + [len(b[k]) for k in range(1, m + 1)]
    dW = [None] + [[[0.0] * sizes[k] for _ in range(sizes[k - 1])] for k in range(1, m + 1)]
    db = [None] + [[0.0] * sizes[k] for k in range(1, m + 1)]
    E = 0.0
    N = len(X)
    for x, y in zip(X, Y):
        o = [list(map(float, x))]
        a = [None]
        for k in range(1, m + 1):
            act = g_out if k == m else g
            a_k = [b[k][j] + sum(W[k][i][j] * o[k - 1][i] for i in range(sizes[k - 1]))
                   for j in range(sizes[k])]
            a.append(a_k)
            o.append([_g(act, v) for v in a_k])
        E += 0.5 * sum((o[m][j] - y[j]) ** 2 for j in range(sizes[m]))
        delta = [None] * (m + 1)
        delta[m] = [(o[m][j] - y[j]) * _dg(g_out, a[m][j]) for j in range(sizes[m])]
        for k in range(m - 1, 0, -1):
            delta[k] = [_dg(g, a[k][j]) * sum(W[k + 1][j][l] * delta[k + 1][l] for l in range(sizes[k + 1]))
                        for j in range(sizes[k])]
        for k in range(1, m + 1):
            for j in range(sizes[k]):
                db[k][j] += delta[k][j] / N
                for i in range(sizes[k - 1]):
                    dW[k][i][j] += delta[k][j] * o[k - 1][i] / N
    return E / N, dW, db
