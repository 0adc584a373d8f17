"""Execute notebooks in place from a fresh kernel, so committed outputs are what a
fresh run produces. Used by `make notebooks`.

    python tools/run_notebooks.py course/*.ipynb [--timeout 120] [--jobs 2]
"""
import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient


# kernels inherit this: small matrices are fastest on one BLAS thread
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def run(path, timeout):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    t0 = time.perf_counter()
    client.execute()
    nb.metadata.pop("widgets", None)  # widget state is not reproducible; the kernel recreates it
    nbformat.write(nb, path)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    ap.add_argument("--jobs", type=int, default=1,
                    help="notebooks run at once (on 2 cores, 2 jobs measured slower than 1)")
    args = ap.parse_args(argv)
    ap_jobs = max(1, args.jobs)
    failed, total = [], 0.0
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=ap_jobs) as pool:
        futures = {path: pool.submit(run, path, args.timeout) for path in args.notebooks}
        for path, fut in futures.items():
            try:  # report every notebook, even after one fails
                dt = fut.result()
                total += dt
                print(f"{dt:6.1f} s  {path}", flush=True)
            except Exception as exc:
                failed.append(path)
                print(f"FAILED  {path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    print(f"wall time {time.perf_counter() - t0:.1f} s with {ap_jobs} job(s)")
    print(f"{len(args.notebooks) - len(failed)} ran, {len(failed)} failed, {total:.1f} s of notebook time in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
