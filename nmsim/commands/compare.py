"""``nmsim compare RUN_DIR RUN_DIR...``: one table of several runs, ratios against the first, and a bar figure."""

from __future__ import annotations

HELP = "compare runs side by side (table and bar figure)"

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help=HELP,
                              description="Print one table of latency, energy by category, traffic, activity, "
                                          "perplexity, bit_exact and the logits hash of several `nmsim run` "
                                          "output directories, with ratios against the first, and write a "
                                          "side-by-side bar figure.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="output directories of `nmsim run`")
    p.add_argument("--same-model", action="store_true",
                   help="refuse runs whose logits hashes differ (they did not compute the same outputs)")
    p.add_argument("--out", default=None,
                   help="directory for compare.png and compare.md (default: runs/compare)")
    p.set_defaults(func=run)


def run(args) -> int:
    from nmsim.output_files import write_atomic
    from nmsim.report.compare import compare_figure, compare_table, check_same_model, load_runs
    from nmsim.report.figures import png_bytes

    runs = load_runs(args.run_dirs)
    if args.same_model:
        check_same_model(runs)
    table = compare_table(runs)
    out = Path(args.out) if args.out else Path("runs") / "compare"
    fig, _ = compare_figure(runs)
    write_atomic(out / "compare.png", png_bytes(fig))
    write_atomic(out / "compare.md", table + "\n")
    print(table)
    print(f"\nwrote {out / 'compare.png'}, {out / 'compare.md'}")
    return 0
