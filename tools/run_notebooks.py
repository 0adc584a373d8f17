"""Execute notebooks in place from a fresh kernel, so committed outputs are what a
fresh run produces. Used by `make notebooks`.

    python tools/run_notebooks.py course/*.ipynb [--timeout 120]
"""
import argparse
import os
import sys
import time
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
    args = ap.parse_args(argv)
    failed, total = [], 0.0
    for path in args.notebooks:
        try:
            dt = run(path, args.timeout)
            total += dt
            print(f"{dt:6.1f} s  {path}")
        except Exception as exc:  # report every notebook, even after one fails
            failed.append(path)
            print(f"FAILED  {path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    print(f"{len(args.notebooks) - len(failed)} ran, {len(failed)} failed, {total:.1f} s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
