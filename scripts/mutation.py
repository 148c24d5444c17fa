#!/usr/bin/env python3
"""Mutation testing of the modules that produce nmsim's reported numbers, with mutmut (``pip install -e ".[mutation]"``).

Usage (from the repository root)::

    python scripts/mutation.py                   # mutate every module, then print the score per module
    python scripts/mutation.py account chip      # only these modules (names below)
    python scripts/mutation.py --report          # print the scores of the last run, run nothing
    python scripts/mutation.py --report --survivors   # ... and list every surviving mutant

The modules and the tests each one runs are ``[tool.nmsim-mutation.modules]`` in ``pyproject.toml``; the
settings they share (pytest options, files to copy) are ``[tool.mutmut]``.  Each module is mutated from
scratch in its own root ``.mutation/<module>/`` (links to this checkout and a generated mutmut config), so
a mutant runs only that module's tests and a changed source file is never scored from a stale copy.
mutmut runs niced (``nice -n 10``) with one child process, because the development machine is shared.  Score = killed / (killed + survived + no tests): a mutant counts as
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
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a scratch root links to (the code, the tests and the files the tests read).
LINKED = ("nmsim", "tests", "chips", "data", "workloads", "examples", "docs")

#: mutmut exit codes (``mutmut.stats.status_by_exit_code``) grouped for the score.
KILLED = {1, 3, 36, 37, -24, 24, 152, 255, -11, -9}   # test failed, timed out, crashed, type-checker caught it
SURVIVED = {0}
NO_TESTS = {5, 33}


def load_config(path: Path) -> tuple[dict, dict]:
    """``([tool.mutmut] shared settings, {module: {"source", "tests", optional "mutants"}})`` from a
    pyproject.toml-like file."""
    tool = tomllib.loads(path.read_text())["tool"]
    return tool["mutmut"], tool["nmsim-mutation"]["modules"]


def mutant_glob(path: str) -> str:
    """mutmut's mutant-name prefix of a source file (``nmsim/a/b.py`` -> ``nmsim.a.b.*``)."""
    return path[:-3].replace("/", ".") + ".*"


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)          # strings, numbers and lists of them are the same in TOML and JSON


def prepare(checkout: Path, name: str, shared: dict, module: dict) -> Path:
    """A fresh scratch root ``<checkout>/.mutation/<name>``: links to the checkout and a pyproject.toml that
    mutates only the module's source and selects only its tests."""
    root = checkout / ".mutation" / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for entry in LINKED:
        if (checkout / entry).exists():
            (root / entry).symlink_to(checkout / entry)
    cfg = dict(shared, only_mutate=[module["source"]], pytest_add_cli_args_test_selection=list(module["tests"]))
    (root / "pyproject.toml").write_text("[tool.mutmut]\n" + "".join(f"{k} = {_toml_value(v)}\n"
                                                                     for k, v in cfg.items()))
    return root


def load_results(checkout: Path, name: str, module: dict) -> dict[str, int | None]:
    """``{mutant name: exit code or None}`` from mutmut's ``mutants/<source>.meta`` in the module's root
    (only those matching ``module["mutants"]`` when it names some)."""
    meta = checkout / ".mutation" / name / "mutants" / (module["source"] + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    globs = module_globs(module)
    return {m: c for m, c in codes.items() if any(fnmatch.fnmatch(m, g) for g in globs)}


def module_globs(module: dict) -> list[str]:
    """Mutant names to run: all of the module's, or only those matching its ``mutants`` globs (after the
    module prefix; mutmut names a mutant ``x_<function>__mutmut_<n>`` or ``xǁ<Class>ǁ<method>__mutmut_<n>``,
    so ``["x_assemble__*"]`` selects one function and ``["*0", "*5"]`` a deterministic 1-in-5 sample)."""
    prefix = module["source"][:-3].replace("/", ".")
    return [f"{prefix}.{g}" for g in module.get("mutants", ["*"])]


def score_line(name: str, codes: list[int | None]) -> str:
    k = sum(c in KILLED for c in codes)
    s = sum(c in SURVIVED for c in codes)
    n = sum(c in NO_TESTS for c in codes)
    other = len(codes) - k - s - n
    tested = k + s + n
    pct = f"{100.0 * k / tested:6.1f}%" if tested else "    n/a"
    return f"{name:16s} {len(codes):7d} {k:7d} {s:9d} {n:9d} {other:12d}  {pct}"


def report(checkout: Path, modules: dict, names: list[str], survivors: bool) -> None:
    print(f"{'module':16s} {'mutants':>7s} {'killed':>7s} {'survived':>9s} {'no tests':>9s} {'not checked':>12s}  score")
    for n in names:
        codes = load_results(checkout, n, modules[n])
        print(score_line(n, list(codes.values())))
        if survivors:
            for m, c in sorted(codes.items()):
                if c in SURVIVED or c in NO_TESTS:
                    print(f"    {'survived' if c in SURVIVED else 'no tests'}: {m}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", metavar="MODULE", help="modules to mutate (default: all)")
    ap.add_argument("--report", action="store_true", help="only print the last run's scores")
    ap.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    ap.add_argument("--checkout", type=Path, default=ROOT,
                    help="mutate the code and run the tests of this checkout (default: this one), e.g. a "
                         "worktree of an older commit")
    ap.add_argument("--only", nargs="+", metavar="GLOB", default=None,
                    help="run and score only the mutants matching these globs (after the module prefix), e.g. "
                         "chip --only '*0' '*3' '*6' '*9' for a deterministic 4-in-10 sample of a large module")
    ap.add_argument("--config", type=Path, default=None,
                    help="take [tool.mutmut] and [tool.nmsim-mutation.modules] from this file "
                         "(default: this checkout's pyproject.toml)")
    args = ap.parse_args(argv)
    checkout = args.checkout.resolve()
    shared, modules = load_config(args.config or ROOT / "pyproject.toml")
    if args.only:
        modules = {n: dict(m, mutants=args.only) for n, m in modules.items()}
    unknown = [n for n in args.modules if n not in modules]
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(modules)}")
    names = args.modules or list(modules)
    if not args.report:
        if shutil.which("mutmut") is None:
            print('mutation: error: mutmut is not installed (pip install -e ".[mutation]")', file=sys.stderr)
            return 2
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NMSIM_HOME")}
        # mutmut switches mutants inside unchanged source files, so the placement cache's code fingerprint would
        # not tell them apart: every mutant places afresh
        env["NMSIM_CACHE_DIR"] = "off"
        for n in names:
            root = prepare(checkout, n, shared, modules[n])
            cmd = ["nice", "-n", "10", "mutmut", "run", "--max-children", "1", *module_globs(modules[n])]
            print(f"+ ({n}) {' '.join(cmd)}", flush=True)
            rc = subprocess.run(cmd, cwd=root, env=env).returncode
            if rc != 0:
                print(f"mutation: error: mutmut exited with status {rc} on {n}", file=sys.stderr)
                return rc
    report(checkout, modules, names, args.survivors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
