"""How long does a slider change take in the playground? Retrain + redraw, in Python.

    python bench/bench_playground.py [--reps 21] [--backend ipympl|agg] [--knob hidden|lr]

The default playground (two moons, 200 points, one hidden layer of 8 tanh nodes,
300 full-batch epochs) is built as in the notebook; then a slider is set
programmatically, alternating between two values (hidden size 8 <-> 9, or
learning rate 3 <-> 2.5), and the time is taken from the assignment until the
network is retrained and the new picture is encoded, ready to send to the browser.

Drawing is real, not skipped:
  ipympl (default): the notebook's own canvas class, with no browser attached.
                    A redraw blits (restore the cached axes, draw what changed) and
                    ipympl encodes the changed pixels as PNG, exactly what it sends.
                    When a full render is due, it is done inside the timing, as the
                    browser's draw request would trigger it.
  agg:              the fallback backend: a full Agg canvas, PNG of the whole figure.
Prints the median (target: <= 150 ms), the 90th percentile and where the time goes.
"""
import argparse
import os
import statistics
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--backend", choices=["ipympl", "agg"], default="ipympl")
    ap.add_argument("--knob", choices=["hidden", "lr"], default="hidden")
    args = ap.parse_args(argv)

    import matplotlib
    matplotlib.use("module://ipympl.backend_nbagg" if args.backend == "ipympl" else "agg")
    from bpcore import live
    from bpcore.plotting import use_course_style

    use_course_style()
    play = live.Playground(backend=args.backend)
    canvas = play.host.fig.canvas
    if args.backend == "ipympl":
        canvas.syncing_data_url = False  # as once a browser is attached: send diffs only
        sent = []
        send = canvas.send_binary
        canvas.send_binary = lambda data: (sent.append(len(data)), send(data))
        canvas.draw()  # the browser's first draw request

    knob = play.hidden if args.knob == "hidden" else play.lr
    values = (9, 8) if args.knob == "hidden" else (2.5, 3.0)
    totals, trains, updates, draws, pngs = [], [], [], [], []
    for rep in range(args.reps + 3):  # 3 warm-up changes
        t0 = time.perf_counter()
        knob.value = values[rep % 2]
        if args.backend == "ipympl" and play.host._bg is None:
            canvas.draw()  # a full render was requested: the browser would ask for it now
        dt = time.perf_counter() - t0
        if rep >= 3:
            totals.append(1e3 * dt)
            trains.append(play.timing["train"])
            updates.append(1e3 * dt - play.timing["train"])
            draws.append(play.host.timing.get("draw", float("nan")))
            pngs.append(play.host.timing.get("png", float("nan")))
    assert not play.status.errors, play.status.errors
    med = statistics.median(totals)
    p90 = sorted(totals)[int(0.9 * (len(totals) - 1))]
    print(f"playground slider change ({args.knob} {values[1]} <-> {values[0]}, backend {args.backend}), "
          f"{args.reps} changes:")
    print(f"  retrain + redraw: median {med:.1f} ms, p90 {p90:.1f} ms, min {min(totals):.1f} ms "
          f"(target <= 150 ms)")
    print(f"  of which training 300 epochs: median {statistics.median(trains):.1f} ms; "
          f"drawing + PNG: median {statistics.median(updates):.1f} ms"
          f" (artists {statistics.median(draws):.1f} ms, PNG {statistics.median(pngs):.1f} ms)")
    print(f"  redraws: {play.host.fast_draws} blitted, {play.host.full_draws} full renders")
    print(f"  status: {play.status.text}")
    if hasattr(os, "getloadavg"):
        print(f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
              f"(other work on the machine slows every number above)")
    return 0 if med <= 150 else 1


if __name__ == "__main__":
    sys.exit(main())
