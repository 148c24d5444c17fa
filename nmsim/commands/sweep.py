"""``nmsim sweep``: run, export and report batch sweeps.

    nmsim sweep run SPEC --out DIR [--workers N | --scheduler tcp://HOST:PORT]
    nmsim sweep SPEC --out DIR ...          (short form of ``run``)
    nmsim sweep export DIR --csv FILE [--with-timing]
    nmsim sweep report DIR [--out REPORT_DIR]
"""

from __future__ import annotations

import argparse
import sys
import types

from nmsim.commands._args import int_at_least, needs_action, positive_float as _positive_float

ACTIONS = ("run", "export", "report")


_nonneg_int = int_at_least(0)


#: the one-line help of the sub-command (``nmsim --help``)
HELP = "batch sweeps and design-space exploration"

def _run(args: argparse.Namespace) -> int:
    from nmsim.output_files import check_out_dir
    from nmsim.sweep.runner import run_sweep

    check_out_dir(args.out, "--out")  # the sweep directory is kept (resumed), so any content is fine

    summary = run_sweep(
        args.spec, args.out, workers=args.workers, scheduler=args.scheduler,
        connect_timeout=args.connect_timeout, progress=not args.quiet, max_points=args.max_points,
    )
    print(summary.line())
    for index, error in summary.failures[:10]:
        print(f"  point {index} failed: {error}", file=sys.stderr)
    if summary.failed > 10:
        print(f"  ... and {summary.failed - 10} more (see nmsim sweep report)", file=sys.stderr)
    return 1 if summary.failed else 0


def _export(args: argparse.Namespace) -> int:
    from nmsim.sweep.export import export_csv

    n = export_csv(args.dir, args.csv, with_timing=args.with_timing)
    if args.csv != "-":
        print(f"{n} rows -> {args.csv}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nmsim.output_files import check_out_dir, output_set
    from nmsim.sweep.report import write_report

    out = Path(args.out) if args.out else Path(args.dir) / "report"
    check_out_dir(out, "--out", own=("report.md", "*.png"))
    with output_set(out) as tmp:  # report.md and its plots are replaced as one set
        path = write_report(args.dir, tmp)
    print(f"report -> {out / path.name}")
    return 0


def register(subparsers) -> None:
    sweep = subparsers.add_parser(
        "sweep",
        help=HELP,
        description="Run a sweep (a TOML file of parameter grids) resumably on local worker processes "
        "or a Dask cluster, then export its rows or report Pareto fronts. "
        "'nmsim sweep SPEC --out DIR' is short for 'nmsim sweep run SPEC --out DIR'.",
    )
    actions = sweep.add_subparsers(dest="sweep_action", metavar="ACTION")

    run = actions.add_parser("run", help="run (or resume) a sweep", description="Run every unfinished point of SPEC "
                             "and store one row per point in DIR/results.sqlite; finished points are skipped.")
    run.add_argument("spec", metavar="SPEC", help="sweep file (TOML)")
    run.add_argument("--out", required=True, metavar="DIR", help="sweep directory (created; reused to resume)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_nonneg_int, default=None, metavar="N",
                       help="local worker processes (default: CPU count; 0 = run in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster, e.g. tcp://HOST:8786 (needs nmsim[dask])")
    run.add_argument("--connect-timeout", type=_positive_float, default=5.0, metavar="S",
                     help="seconds to wait for the Dask scheduler (default 5)")
    run.add_argument("--max-points", type=_nonneg_int, default=None, metavar="K",
                     help="stop after K points of this run (trial runs)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)

    exp = actions.add_parser("export", help="write the finished points as CSV",
                             description="One row per finished point: config_hash, point_index, kind, "
                             "nmsim_version, every parameter and every metric; in point order.")
    exp.add_argument("dir", metavar="DIR", help="sweep directory")
    exp.add_argument("--csv", required=True, metavar="FILE", help="output CSV ('-' for stdout)")
    exp.add_argument("--with-timing", action="store_true", help="add wall_s, worker and finished_at columns (differ run to run)")
    exp.set_defaults(func=_export)

    rep = actions.add_parser("report", help="markdown + PNG report: Pareto fronts, sensitivity")
    rep.add_argument("dir", metavar="DIR", help="sweep directory")
    rep.add_argument("--out", default=None, metavar="REPORT_DIR", help="where to write (default DIR/report)")
    rep.set_defaults(func=_report)

    sweep.set_defaults(func=needs_action("sweep", actions))

    # Short form: "nmsim sweep SPEC ..." means "nmsim sweep run SPEC ...".
    original = sweep.parse_known_args

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        if args and args[0] not in ACTIONS and not args[0].startswith("-"):
            args.insert(0, "run")
        return original(args, namespace)

    sweep.parse_known_args = types.MethodType(parse_known_args, sweep)
