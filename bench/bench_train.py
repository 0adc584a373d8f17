"""How much does bpcore's readable structure cost? Train the same network on the
shipped digits with bpcore and with a plain hand-written NumPy loop doing the same
arithmetic, alternating, several repetitions; print median times and the ratio.

    python bench/bench_train.py [--reps 7]

Network: 64 -> 64 tanh -> 10 softmax, cross-entropy, mini-batches of 32, 20 epochs,
learning rate 0.1, float64, same initial weights and same shuffling for both.
Both record the full-training-set loss and accuracy after every epoch.
Target (issue [foundation]): bpcore <= 1.25x the plain loop.
If PyTorch is installed, the same training in torch (float64, CPU) is timed too.
"""
import argparse
import statistics
import sys
import time

import numpy as np

from bpcore import Network, train
from bpcore.datasets import load_digits, one_hot

EPOCHS, BATCH, LR, HIDDEN, SEED = 20, 32, 0.1, 64, 0


def make_net():
    return Network([64, HIDDEN, 10], g="tanh", g_out="softmax", loss="cross_entropy",
                   init="xavier", seed=SEED)


def run_bpcore(X, Y):
    net = make_net()
    hist = train(net, X, Y, lr=LR, epochs=EPOCHS, batch_size=BATCH, seed=SEED)
    return net.get_params(), hist.loss


def run_plain(X, Y):
    """What one writes by hand: no classes, no checks."""
    init = make_net()
    W1, b1, W2, b2 = [p.copy() for p in init.params]
    N = X.shape[0]
    rng = np.random.default_rng(SEED)
    losses, accs = [], []
    for _ in range(EPOCHS):
        order = rng.permutation(N)
        for start in range(0, N, BATCH):
            rows = order[start:start + BATCH]
            x, y = X[rows], Y[rows]
            a1 = x @ W1 + b1
            o1 = np.tanh(a1)
            a2 = o1 @ W2 + b2
            e = np.exp(a2 - a2.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            d2 = p - y
            d1 = (d2 @ W2.T) * (1.0 - o1 * o1)
            n = x.shape[0]
            W2 -= LR * (o1.T @ d2 / n)
            b2 -= LR * d2.mean(axis=0)
            W1 -= LR * (x.T @ d1 / n)
            b1 -= LR * d1.mean(axis=0)
        a2 = np.tanh(X @ W1 + b1) @ W2 + b2
        top = a2.max(axis=1, keepdims=True)
        logp = a2 - top - np.log(np.exp(a2 - top).sum(axis=1, keepdims=True))
        losses.append(-float(np.sum(Y * logp)) / N)
        accs.append(float(np.mean(a2.argmax(axis=1) == Y.argmax(axis=1))))
    return np.concatenate([W1.ravel(), b1, W2.ravel(), b2]), losses


def run_torch(X, Y):
    import torch
    torch.set_num_threads(1)
    init = make_net()
    params = [torch.tensor(p.copy(), requires_grad=True) for p in init.params]
    W1, b1, W2, b2 = params
    Xt, yt = torch.tensor(X), torch.tensor(Y.argmax(axis=1))
    rng = np.random.default_rng(SEED)
    N = X.shape[0]
    for _ in range(EPOCHS):
        order = torch.tensor(rng.permutation(N))
        for start in range(0, N, BATCH):
            rows = order[start:start + BATCH]
            logits = torch.tanh(Xt[rows] @ W1 + b1) @ W2 + b2
            loss = torch.nn.functional.cross_entropy(logits, yt[rows])
            for q in params:
                q.grad = None
            loss.backward()
            with torch.no_grad():
                for q in params:
                    q -= LR * q.grad
        with torch.no_grad():
            logits = torch.tanh(Xt @ W1 + b1) @ W2 + b2
            float(torch.nn.functional.cross_entropy(logits, yt))
            float((logits.argmax(1) == yt).double().mean())
    return None, None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7, help="repetitions of each (default 7)")
    args = ap.parse_args(argv)
    X, y = load_digits()
    Y = one_hot(y)

    # Same arithmetic? Same initial weights and shuffles must give the same result.
    theta_b, loss_b = run_bpcore(X, Y)
    theta_p, loss_p = run_plain(X, Y)
    same = np.allclose(theta_b, theta_p, rtol=1e-12, atol=1e-14) and np.allclose(loss_b, loss_p, rtol=1e-12)
    print(f"digits {X.shape}, 64-{HIDDEN}-10 tanh/softmax, batch {BATCH}, {EPOCHS} epochs, float64")
    print(f"same final parameters and losses: {same} (final loss {loss_b[-1]:.4f})")
    if not same:
        print("error: the two implementations do not compute the same thing", file=sys.stderr)
        return 1

    try:
        import torch  # noqa: F401
        runners = {"bpcore": run_bpcore, "plain": run_plain, "torch": run_torch}
    except ImportError:
        runners = {"bpcore": run_bpcore, "plain": run_plain}
    times = {name: [] for name in runners}
    for _ in range(args.reps):  # alternate, so drifts in machine speed hit all alike
        for name, fn in runners.items():
            t0 = time.perf_counter()
            fn(X, Y)
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        print(f"{name:>7}: median {med[name]*1e3:8.1f} ms  (min {min(ts)*1e3:.1f}, max {max(ts)*1e3:.1f}, n={len(ts)})")
    ratio = med["bpcore"] / med["plain"]
    print(f"ratio bpcore / plain = {ratio:.3f}  (target <= 1.25: {'met' if ratio <= 1.25 else 'NOT met'})")
    if "torch" in med:
        print(f"ratio bpcore / torch = {med['bpcore'] / med['torch']:.3f}")
    else:
        print("torch not installed: no torch comparison (torch is not a dependency)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
