"""``nmsim validate``: the validation studies and SANA-FE file import.

    nmsim validate [--quick] [--oracle-cases N] --out DIR
        run every study (engine vs SimPy oracle, published per-operation figures,
        SANA-FE side by side when the optional package is installed) and write
        DIR/report.md with CSV tables and PNG plots
    nmsim validate --sanafe ARCH.yaml [SNN.yaml] [--steps N] [--timing nmsim|sanafe-simple]
        import SANA-FE files into nmsim and print what they became; with an SNN
        file and ``sanafe`` installed, also run both simulators and print the
        side-by-side counts.  An unsupported feature prints one line, exit 2.
        --steps defaults to the longest input spike list (stated in the output);
        a network without input neurons needs it.  --timing sanafe-simple
        computes step times with SANA-FE's analytic simple model from nmsim's
        counts (compared with SANA-FE's simple model); default nmsim's engine
        (compared with SANA-FE's detailed model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nmsim.commands._args import int_at_least
from nmsim.errors import NmsimError

#: what ``nmsim validate --out DIR`` writes (an existing DIR may hold these and nothing else)
REPORT_FILES = ("*.md", "*.csv", "*.png")


_positive_int = int_at_least(1)


#: the one-line help of the sub-command (``nmsim --help``)
HELP = "validation studies (oracle, published figures, SANA-FE)"

def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help=HELP,
                              description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="directory for report.md, CSV tables and plots")
    p.add_argument("--quick", action="store_true", help="fewer oracle cases, no large SANA-FE network (CI)")
    p.add_argument("--oracle-cases", type=_positive_int, default=None,
                   help="random engine/oracle cases (default 500, quick 40)")
    p.add_argument("--sanafe", nargs="+", metavar="YAML", help="import SANA-FE ARCH.yaml [SNN.yaml] instead")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="timesteps for --sanafe (default: the longest input spike list; required without inputs)")
    p.add_argument("--timing", choices=("nmsim", "sanafe-simple"), default=None,
                   help="--sanafe step times: nmsim's engine (default) or SANA-FE's simple model on nmsim's counts")
    p.set_defaults(func=func)


def _import(args) -> int:
    from nmsim.commands.chips import format_chip
    from nmsim.validate import sanafe_compare
    from nmsim.validate.sanafe_import import import_arch, import_snn

    files = args.sanafe
    if len(files) > 2:
        raise NmsimError("--sanafe takes ARCH.yaml and optionally SNN.yaml")
    for f in files:
        if Path(f).is_dir():
            raise NmsimError(f"--sanafe {f}: is a directory; give the YAML files (ARCH.yaml [SNN.yaml])")
    if len(files) == 1:
        if args.timing is not None or args.steps is not None:
            print("nmsim: error: --steps and --timing need an SNN file: --sanafe ARCH.yaml SNN.yaml", file=sys.stderr)
            return 2
        print(format_chip(import_arch(files[0])))
        return 0
    snet = import_snn(files[1], files[0])
    if args.steps is None and not snet.has_inputs:
        print(f"nmsim: error: {files[1]} has no input neurons, so there is no input length to run: give --steps N",
              file=sys.stderr)
        return 2
    n_steps = args.steps if args.steps is not None else max(snet.n_input_steps, 1)
    timing = args.timing or "nmsim"
    print(format_chip(snet.chip))
    print(snet.network)
    for n in snet.notes.lines:
        print(f"note: {n}")
    if not sanafe_compare.sanafe_available():
        print(sanafe_compare.SKIP_MESSAGE)
        return 0
    print(f"steps: {n_steps}" + (" (default: the longest input spike list)" if args.steps is None else ""))
    c = sanafe_compare.compare(Path(files[1]).stem, "", Path(files[0]), Path(files[1]), n_steps, timing=timing,
                               snet=snet)
    t_label = ("simulated time (ns)" if timing == "nmsim" else "time, simple (ns)")
    for what, a, b in (("neurons fired", c.nm.fired.sum(), c.sf.fired.sum()),
                       ("packets", c.nm.packets.sum(), c.sf.packets.sum()), ("hops", c.nm.hops.sum(), c.sf.hops.sum()),
                       ("synaptic events", c.nm.synaptic_events, c.sf.synaptic_events),
                       ("energy (nJ)", f"{c.nm.energy['total'] * 1e9:.6g}", f"{c.sf.energy['total'] * 1e9:.6g}"),
                       (t_label, f"{c.nm.step_time.sum() * 1e9:.6g}", f"{c.sf.step_time.sum() * 1e9:.6g}")):
        print(f"{what:<22} nmsim {a!s:>14}   SANA-FE {b!s:>14}")
    print(f"timing: nmsim side {'nmsim engine' if timing == 'nmsim' else 'SANA-FE simple model on nmsim counts'}, "
          f"SANA-FE side {sanafe_compare.SANAFE_TIMING[timing]}; time diff {c.time_rel * 100:+.3f}%")
    soma = max(abs(c.energy_rel(k)) for k in ("soma", "total"))
    print(f"spike trains {'identical' if c.spikes_identical else 'DIFFER'}; neuron updates "
          f"{'identical' if c.updates_identical else 'DIFFER'}; energy diff {c.energy_rel() * 100:+.3f}% "
          f"(largest soma/total relative difference {soma:.3g})")
    return 0 if c.ok else 1


def func(args: argparse.Namespace) -> int:
    if args.sanafe:
        return _import(args)
    if args.out is None:
        raise NmsimError("validate needs --out DIR (or --sanafe ARCH [SNN])")
    from nmsim.output_files import check_out_dir, output_set

    check_out_dir(args.out, "--out", own=REPORT_FILES)
    from nmsim.validate.report import run_validation

    with output_set(args.out) as tmp:  # the report, its tables and plots are replaced as one set
        summary = run_validation(tmp, quick=args.quick, oracle_cases=args.oracle_cases,
                                 log=lambda m: print(m, file=sys.stderr), shown_out=args.out)
    o, m = summary["oracle"], summary["microbench"]
    sf = summary["sanafe"]
    lv = summary.get("lava", {"skipped": "skipped"})
    print(f"oracle: {o['identical']}/{o['cases']} identical; micro-benchmarks: {m['agree']}/{m['rows']} agree; "
          f"SANA-FE: {sf.get('skipped') or str(sf['ok']) + '/' + str(sf['networks']) + ' networks agree'}; "
          f"Lava: {lv.get('skipped') or str(lv['identical']) + '/' + str(lv['networks']) + ' networks spike-identical'}")
    print(f"report: {args.out / 'report.md'}")
    ok = o["identical"] == o["cases"] and m["agree"] == m["rows"] and ("skipped" in sf or sf["ok"] == sf["networks"]) \
        and ("skipped" in lv or lv["identical"] == lv["networks"])
    return 0 if ok else 1
