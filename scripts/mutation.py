#!/usr/bin/env python3
"""Mutation testing of the modules that produce nmsim's reported numbers, with mutmut (``pip install -e ".[mutation]"``).

Usage (from the repository root)::

    python scripts/mutation.py                   # mutate every module, then print the score per module
    python scripts/mutation.py account chip      # only these modules (names below)
    python scripts/mutation.py --report          # print the scores of the last run, run nothing
    python scripts/mutation.py --survivors       # ... and list every surviving mutant
    python scripts/mutation.py --fresh ...       # delete the mutmut work directory (mutants/) first

The mutated files, the tests each mutant runs and pytest's options are ``[tool.mutmut]`` in
``pyproject.toml``.  mutmut runs niced (``nice -n 10``) with one child process, because the
development machine is shared.  Score = killed / (killed + survived + no tests): a mutant counts as
killed when a test fails, times out or crashes.  ``docs/mutation-testing.md`` lists the surviving
mutants that are equivalent (no test can tell them apart) and why.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Short name -> source file of every module under mutation (each must match ``[tool.mutmut] only_mutate``).
MODULES = {
    "account": "nmsim/account/energy.py",
    "replay-metrics": "nmsim/replay/metrics.py",
    "replay-check": "nmsim/replay/check.py",
    "replay-outputs": "nmsim/replay/outputs.py",
    "chip": "nmsim/describe/chip.py",
    "sweep-store": "nmsim/sweep/store.py",
    "sweep-export": "nmsim/sweep/export.py",
}

#: mutmut exit codes (``mutmut.stats.status_by_exit_code``) grouped for the score.
KILLED = {1, 3, 36, 37, -24, 24, 152, 255, -11, -9}   # test failed, timed out, crashed, type-checker caught it
SURVIVED = {0}
NO_TESTS = {5, 33}


def mutant_glob(path: str) -> str:
    """mutmut's mutant-name prefix of a source file (``nmsim/a/b.py`` -> ``nmsim.a.b.*``)."""
    return path[:-3].replace("/", ".") + ".*"


def load_results(paths: list[str]) -> dict[str, dict[str, int | None]]:
    """``{source path: {mutant name: exit code or None}}`` from mutmut's ``mutants/<path>.meta`` files."""
    out = {}
    for p in paths:
        meta = ROOT / "mutants" / (p + ".meta")
        out[p] = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    return out


def score_line(name: str, codes: list[int | None]) -> str:
    k = sum(c in KILLED for c in codes)
    s = sum(c in SURVIVED for c in codes)
    n = sum(c in NO_TESTS for c in codes)
    other = len(codes) - k - s - n
    tested = k + s + n
    pct = f"{100.0 * k / tested:6.1f}%" if tested else "    n/a"
    return f"{name:16s} {len(codes):7d} {k:7d} {s:9d} {n:9d} {other:12d}  {pct}"


def report(names: list[str], survivors: bool, functions: list[str]) -> None:
    res = load_results([MODULES[n] for n in names])
    print(f"{'module':16s} {'mutants':>7s} {'killed':>7s} {'survived':>9s} {'no tests':>9s} {'not checked':>12s}  score")
    for n in names:
        codes = {m: c for m, c in res[MODULES[n]].items()
                 if not functions or any(fnmatch.fnmatch(m, f) for f in functions)}
        print(score_line(n, list(codes.values())))
        if survivors:
            for m, c in sorted(codes.items()):
                if c in SURVIVED or c in NO_TESTS:
                    print(f"    {'survived' if c in SURVIVED else 'no tests'}: {m}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", metavar="MODULE",
                    help=f"modules to mutate (default: all): {', '.join(MODULES)}")
    ap.add_argument("--report", action="store_true", help="only print the last run's scores")
    ap.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    ap.add_argument("--fresh", action="store_true", help="delete mutants/ (mutmut's work directory) first")
    ap.add_argument("--functions", nargs="*", default=[], metavar="GLOB",
                    help="run and score only mutants whose names match (e.g. 'nmsim.replay.core.x_assemble*')")
    args = ap.parse_args(argv)
    unknown = [n for n in args.modules if n not in MODULES]
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    names = args.modules or list(MODULES)
    if not args.report:
        if shutil.which("mutmut") is None:
            print('mutation: error: mutmut is not installed (pip install -e ".[mutation]")', file=sys.stderr)
            return 2
        if args.fresh:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NMSIM_HOME")}
        globs = args.functions or ([] if not args.modules else [mutant_glob(MODULES[n]) for n in names])
        cmd = ["nice", "-n", "10", "mutmut", "run", "--max-children", "1", *globs]
        print("+", " ".join(cmd), flush=True)
        rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        if rc != 0:
            print(f"mutation: error: mutmut exited with status {rc}", file=sys.stderr)
            return rc
    report(names, args.survivors, args.functions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
