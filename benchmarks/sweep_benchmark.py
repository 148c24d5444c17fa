"""Sweep scaling: a 12-point sweep on 2 local workers against 1.

    python benchmarks/sweep_benchmark.py [--work-ms 1000] [--repeat 1]

Each point is the ``synthetic`` kind burning ``work_ms`` of CPU time, so the
ideal speed-up on 2 free cores is 2x; the target is >= 1.7x with pool
start-up, Numba cache loading and result writing included (the wall time of
``run_sweep``, fresh sweep directory each time).  Prints the ratio; asserts
only that both runs give byte-identical exports.  Needs 2 idle cores to
mean anything: other CPU-bound processes on the machine lower the ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from nmsim.sweep import export_csv, parse_spec_text, run_sweep

SPEC = """
schema_version = 1
name = "bench"
kind = "synthetic"
[base]
tokens = 16
neurons = 512
work_ms = {work_ms}
[grid]
cores = [4, 16, 64]
sparsity = [0.5, 0.8, 0.9, 0.99]
"""


def timed(spec, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    summary = run_sweep(spec, out, workers=workers)
    wall = time.perf_counter() - t0
    assert summary.ran == 12, summary
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work-ms", type=float, default=1000.0, help="CPU time per point (default 1000)")
    ap.add_argument("--repeat", type=int, default=1, help="repetitions; the best time of each is kept")
    args = ap.parse_args()
    spec = parse_spec_text(SPEC.format(work_ms=args.work_ms), source="sweep_benchmark")
    assert spec.n_points() == 12
    print(f"12 points x {args.work_ms:g} ms CPU each; {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    best = {1: float("inf"), 2: float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_sweep(spec, tmp / "warm", workers=0, max_points=1)  # fill the Numba cache first
        for r in range(args.repeat):
            for workers in (1, 2):
                out = tmp / f"w{workers}-{r}"
                wall = timed(spec, out, workers)
                best[workers] = min(best[workers], wall)
                print(f"  workers={workers}: {wall:6.2f} s")
                export_csv(out, tmp / f"w{workers}-{r}.csv")
        a = (tmp / "w1-0.csv").read_bytes()
        b = (tmp / "w2-0.csv").read_bytes()
        assert a == b, "exports differ between 1 and 2 workers"
    ratio = best[1] / best[2]
    print(f"1 worker {best[1]:.2f} s, 2 workers {best[2]:.2f} s: speed-up {ratio:.2f}x (target >= 1.7x)")
    print("exports identical: yes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
