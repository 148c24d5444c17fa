"""``nmsim report RUN_DIR``: regenerate a run's PNG figures and ``report.md`` from its files."""

from __future__ import annotations

HELP = "regenerate a run's figures and report.md"


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help=HELP,
                              description="Regenerate the PNG figures and report.md of an `nmsim run` output "
                                          "directory from its summary.json, tokens.csv, steps.csv, cores.csv, "
                                          "links.csv and run.json.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="output directory of `nmsim run`")
    p.set_defaults(func=run)


def run(args) -> int:
    from nmsim.report.run_report import write_report

    paths = write_report(args.run_dir)
    print(f"{args.run_dir}: " + ", ".join(sorted(paths)))
    return 0
