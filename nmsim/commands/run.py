"""``nmsim run``: replay a language model token by token on a simulated chip (``docs/replay.md``)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from nmsim.commands._args import int_at_least, positive_float, usable_cores
from nmsim.errors import NmsimError


#: the one-line help of the sub-command (``nmsim --help``)
HELP = "replay a language model token by token on a simulated chip (bit-exact, with cost)"

def _override(text: str) -> tuple[str, object]:
    """``chip.T.K=V`` -> ``("T.K", V)`` (a chip value); ``map.K=V`` -> ``("map.K", V)`` (a mapper setting)."""
    key, sep, val = text.partition("=")
    if not sep or not key.startswith(("chip.", "map.")):
        raise argparse.ArgumentTypeError(f"{text!r}: expected chip.<table>.<key>=<number> or map.<key>=<value>")
    if key.startswith("map."):
        try:
            return key, int(val)
        except ValueError:
            return key, val
    try:
        v: object = int(val)
    except ValueError:
        try:
            v = float(val)
        except ValueError:
            v = val
    return key[len("chip."):], v


def chip_overrides(overrides) -> dict:
    """The ``chip.*`` part of ``--set`` (keys without ``chip.``)."""
    return {k: v for k, v in overrides if not k.startswith("map.")}


def map_settings(overrides) -> dict:
    """The ``map.*`` part of ``--set`` (keys without ``map.``), checked by the mapper's parser."""
    from nmsim.map.options import map_options

    out = {k[len("map."):]: v for k, v in overrides if k.startswith("map.")}
    map_options(out)  # bad keys or values fail here, before any slow work
    return out


def _placement(text: str) -> str:
    from nmsim.map.placement_file import is_placement_file
    from nmsim.replay import PLACEMENTS

    if text in PLACEMENTS or is_placement_file(text):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: expected one of {', '.join(PLACEMENTS)} or a placement file "
                                     f"(.toml / .json)")


#: seconds ``--scheduler`` waits for the Dask scheduler (as ``nmsim sweep``)
DEFAULT_CONNECT_TIMEOUT = 5.0


def register(subparsers) -> None:
    from nmsim.replay import (DEFAULT_CHIP, DEFAULT_DATASET, DEFAULT_MODEL, DEFAULT_SPLIT, DEFAULT_TOKENS,
                                   DEFAULT_TRACE_STEPS, PLACEMENTS)
    from nmsim.replay.mapped import DEFAULT_PLACEMENT
    from nmsim.replay.network import DECODERS
    from nmsim.replay.schedule import MODES

    p = subparsers.add_parser(
        "run", help=HELP,
        description="Replay an exported language model token by token on a simulated chip, check every "
                    "token's outputs bit-exactly against the golden integer reference, and report latency, "
                    "NoC traffic and energy per token.")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model file (.nmm) (default: {DEFAULT_MODEL})")
    p.add_argument("--chip", default=DEFAULT_CHIP, help=f"chip preset name or TOML path (default: {DEFAULT_CHIP})")
    p.add_argument("--system", default=None, metavar="FILE_OR_PRESET",
                   help="run on a board of chips (systems/*.toml or a path; docs/systems.md) instead of --chip; "
                        "--set chip.* values apply to the board's chip")
    p.add_argument("--dataset", default=DEFAULT_DATASET, help="ptb | wikitext-2 (default: ptb)")
    p.add_argument("--split", default=DEFAULT_SPLIT, help="train | valid | test (default: test)")
    p.add_argument("--tokens", default=str(DEFAULT_TOKENS), help=f"N | all (default: {DEFAULT_TOKENS})")
    p.add_argument("--placement", default=DEFAULT_PLACEMENT, type=_placement, metavar="STRATEGY|FILE",
                   help=f"placement strategy ({', '.join(PLACEMENTS)}) or a placement file (.toml/.json) "
                        f"(default: {DEFAULT_PLACEMENT}; docs/mapping.md)")
    p.add_argument("--mode", default="pipelined", choices=MODES, help="timestep schedule (default: pipelined)")
    p.add_argument("--decoder", default="chip", choices=DECODERS,
                   help="tied decoder on the chip (readout units) or on the host (default: chip)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="placement seed (partition), >= 0")
    p.add_argument("--set", dest="overrides", action="append", type=_override, default=[], metavar="chip.T.K=V",
                   help="override a chip value, e.g. --set chip.timing.hop_east_west_cycles=41, or set a mapper "
                        "limit, e.g. --set map.L1.max_neurons_per_core=32 or --set map.L1.cores=0-15 (repeatable)")
    p.add_argument("--out", default=None, help="output directory (default: runs/<model>-<chip>)")
    p.add_argument("--trace", action="store_true", help="write trace.json (Perfetto) for the first steps")
    p.add_argument("--trace-steps", type=int, default=DEFAULT_TRACE_STEPS, help="steps traced with --trace")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int_at_least(1), default=None, metavar="N",
                       help="the functional pass in token order, then the timing pass on N local processes "
                            "(same outputs at any N; default: all usable cores)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run the timing pass on an existing Dask cluster, e.g. tcp://HOST:8786 "
                            "(needs nmsim[dask]; same outputs)")
    p.add_argument("--connect-timeout", type=positive_float, default=DEFAULT_CONNECT_TIMEOUT, metavar="S",
                   help=f"seconds to wait for the Dask scheduler (default {DEFAULT_CONNECT_TIMEOUT:g})")
    p.add_argument("--keep-record", action="store_true",
                   help="keep the compressed functional record of the two passes as record.npz in --out "
                        "(default: removed when the run ends)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures and report.md")
    p.set_defaults(func=run)


def run(args) -> int:
    from nmsim.replay import ReplayConfig, load_replay_chip
    from nmsim.replay.outputs import check_out

    if args.trace_steps < 1:
        raise NmsimError(f"--trace-steps {args.trace_steps}: must be at least 1")
    if args.trace:  # a traced run is the one-pass engine: nothing to parallelize, no record
        given = [o for o, v in (("--workers", args.workers), ("--scheduler", args.scheduler),
                                ("--keep-record", args.keep_record or None)) if v is not None]
        if given:
            raise NmsimError(f"{', '.join(given)}: not with --trace (a traced run uses the one-pass engine)")
    cfg = ReplayConfig(model=str(args.model), chip=str(args.chip), dataset=args.dataset, split=args.split,
                       tokens=args.tokens, placement=args.placement, mode=args.mode, decoder=args.decoder,
                       seed=args.seed, chip_overrides=chip_overrides(args.overrides),
                       map_settings=map_settings(args.overrides), trace=args.trace, trace_steps=args.trace_steps)
    # everything that can fail on input is checked before the (slow) mapping
    if args.out:
        check_out(args.out)
    system = None
    if args.system:
        from nmsim.describe.system import board_chip, chip_ref, load_system

        system = load_system(args.system)
        system = system.for_chip(load_replay_chip(chip_ref(system), cfg.chip_overrides))
        chip = board_chip(system)
    else:
        chip = load_replay_chip(cfg.chip, cfg.chip_overrides)  # engine limits: before anything slow
    workers, dask = timing_executor(args)  # a scheduler that cannot be reached: before anything slow
    try:
        return _replay(args, cfg, chip, system, workers, dask)
    finally:
        if dask is not None:
            dask.close()


def timing_executor(args):
    """``(workers, executor)`` for the timing pass: local processes (``--workers``, default all usable cores;
    executor ``None``) or the connected Dask executor of ``nmsim sweep`` (``--scheduler``; workers ``None``)."""
    if getattr(args, "scheduler", None):
        from nmsim.sweep.executors import DaskExecutor

        ex = DaskExecutor(args.scheduler, timeout=args.connect_timeout)
        try:
            ex.start("replay")  # connect (fail fast, one line) and warm the workers' kernels
        except BaseException:
            ex.close()
            raise
        return None, ex
    return (args.workers if args.workers is not None else usable_cores()), None


def _replay(args, cfg, chip, system, workers, dask) -> int:
    from nmsim.replay import build_replay, load_tokens, replay, resolve_model_path
    from nmsim.replay.outputs import RECORD_FILE, check_out, run_info, strict_summary, write_outputs
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model

    mf = load_model(resolve_model_path(cfg.model))
    tokens, _ = load_tokens(mf, cfg.dataset, cfg.split, cfg.tokens)
    name = mf.header.get("name") or Path(cfg.model).stem
    out = Path(args.out) if args.out else Path("runs") / f"{name}-{chip.name}"
    check_out(out)
    golden = GoldenModel(mf)
    t_map = time.perf_counter()
    mapped = build_replay(golden, chip, cfg.placement, cfg.decoder, cfg.seed, cfg.map_settings, cfg.dataset,
                          cfg.split)
    mapping = (time.perf_counter() - t_map, mapped.placement_cache)
    if system is not None:
        from nmsim.describe.system import attach

        attach(mapped.model, system)

    bar = None if args.no_progress else ProgressBar(f"{name} on {chip.name}", two_passes=not cfg.trace)
    progress = bar.update if bar is not None else None

    # the record is written next to --out (same file system: kept, it is renamed into the output set);
    # a hidden name, as the output set's temporary directory, and removed on every way out
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_records(out)
    record_path = record_tmp_path(out, os.getpid())
    try:
        try:
            res = replay(cfg, progress=progress, mapped=mapped, tokens=tokens, workers=workers,
                         scheduler=dask.client if dask is not None else None, record_path=record_path,
                         keep_record=args.keep_record)
        finally:
            if bar is not None:
                bar.close()
        info = run_info(cfg, mapped, command_line(args))
        if system is not None:
            info["system"] = system.to_dict()  # the board: every value with its source (docs/systems.md)
        kept = args.keep_record and res.functional_record is not None
        if res.functional_record is not None:  # sizes only: the same at any worker count
            info["functional_record"] = {**res.functional_record, "kept": kept}
        written = write_outputs(out, res, info, figures=not args.no_figures,
                                moved={RECORD_FILE: record_path} if kept else None)
    finally:
        record_path.unlink(missing_ok=True)
    print(format_summary(strict_summary(res.summary), out, written, res.functional_record, mapping))
    return 0 if res.summary["bit_exact"] else 1


def record_tmp_path(out: Path, pid: int) -> Path:
    """Where the run of process ``pid`` writes its functional record: next to ``out``, hidden."""
    return out.parent / f".{out.name}.record-{pid}.npz.tmp"


def remove_stale_records(out: Path) -> list[Path]:
    """Remove the records that killed runs into ``out`` left (their process is gone); returns them."""
    import re

    gone = []
    for p in out.parent.glob(f".{out.name}.record-*.npz.tmp"):
        m = re.fullmatch(re.escape(f".{out.name}.record-") + r"(\d+)\.npz\.tmp", p.name)
        if m is None or _alive(int(m.group(1))):
            continue
        p.unlink(missing_ok=True)
        gone.append(p)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class ProgressBar:
    """One tqdm bar (on stderr) over the whole replay, in steps: two passes count the functional pass's
    steps plus the steps timed beside them (``total`` = 2 x steps), so the ETA covers both; the postfix names the
    pass (``timing pass`` once past half)."""

    def __init__(self, desc: str, two_passes: bool, file=None):
        from tqdm import tqdm

        self.two_passes = two_passes
        self.bar = tqdm(total=None, unit="step", file=file or sys.stderr, desc=desc, dynamic_ncols=True,
                        mininterval=0.5)
        self._phase = None

    def update(self, done: int, total: int) -> None:
        """``replay``'s ``progress(done, total)``."""
        if self.bar.total != total:
            self.bar.total = total
        phase = ("timing pass" if done > total // 2 else "functional pass") if self.two_passes else None
        if phase != self._phase:
            self._phase = phase
            if phase:
                self.bar.set_postfix_str(phase, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def command_line(args) -> list[str]:
    """The resolved command line (every option spelled out; deterministic, unlike ``sys.argv``)."""
    where = ["--system", str(args.system)] if getattr(args, "system", None) else ["--chip", str(args.chip)]
    cmd = ["nmsim", "run", "--model", str(args.model), *where, "--dataset", args.dataset,
           "--split", args.split, "--tokens", str(args.tokens), "--placement", args.placement, "--mode", args.mode,
           "--decoder", args.decoder, "--seed", str(args.seed)]
    for k, v in args.overrides:
        cmd += ["--set", k + f"={v}" if k.startswith("map.") else f"chip.{k}={v}"]
    if args.out:
        cmd += ["--out", str(args.out)]
    if args.trace:
        cmd += ["--trace", "--trace-steps", str(args.trace_steps)]
    if getattr(args, "keep_record", False):
        cmd += ["--keep-record"]
    if getattr(args, "no_figures", False):
        cmd += ["--no-figures"]
    return cmd


def _num(v, fmt: str = ".3f") -> str:
    return "n/a" if v is None else format(v, fmt)


def _cache_note(status: str | None) -> str:
    """What the placement cache did (``Mapped.placement_cache``), for the summary's mapping line."""
    from nmsim.replay.placement_cache import cache_root

    if status == "hit":
        return f"; the placement from the cache in {cache_root()}"
    if status == "stored":
        return f"; placement cached in {cache_root()}"
    if status == "unwritable":
        return f"; the placement cache folder {cache_root()} could not be written"
    return "; placement cache off" if status == "off" else ""


def format_summary(s: dict, out, written=(), record: dict | None = None, mapping: tuple | None = None) -> str:
    """The run's summary as text; ``written``: the names of the files written; ``record``: the functional
    record's sizes (two passes); ``mapping``: ``(wall s, Mapped.placement_cache)`` of placing and compiling."""
    e = s["energy_nj_per_token"]
    t = s["traffic"]
    lines = [
        f"{s['model']} on {s['chip']} ({s['mode']}, {s['placement']} placement, decoder on {s['decoder']}): "
        f"{s['tokens']} tokens, {s['cores_used']} cores",
        f"  bit_exact       {str(s['bit_exact']).lower()}"
        + ("" if s["bit_exact"] else f"  (first mismatch: token {s['first_mismatch']['token']}, "
                                     f"{s['first_mismatch']['layer']}; {s['mismatched_tokens']} tokens differ)"),
        f"  perplexity      {_num(s['perplexity'])} ({s['predictions']} predictions; golden reference "
        f"{_num(s['golden_perplexity'])})",
        f"  logits_sha256   {s['logits_sha256']}",
        f"  latency         mean {s['latency_ns']['mean'] / 1e3:.3f} us, p50 {s['latency_ns']['p50'] / 1e3:.3f} us, "
        f"p99 {s['latency_ns']['p99'] / 1e3:.3f} us per token",
        f"  throughput      {_num(s['throughput_tokens_per_s'], '.1f')} tokens/s (simulated)",
        f"  energy/token    {e['total']:.1f} nJ (synapse {e['synapse']:.1f}, neuron {e['neuron']:.1f}, "
        f"noc {e['noc']:.1f}, io {e['io']:.1f}, barrier {e['barrier']:.1f}, static {e['static']:.1f}"
        + (f", wake {e['wake']:.1f})" if e.get("wake") else ")"),
        *_power_time_lines(s),
        f"  traffic         {t['packets']} packets, {t['flits']} flits, {t['hops']} hops, "
        f"max link utilization {t['max_link_utilization']:.3f}"
        + (f"; {t['values_per_host_packet']} values per packet to the host"
           if t.get("values_per_host_packet", 1) != 1 else ""),
        *([f"  system          {b['name']}: {b['chips']} chips; off-chip {b['off_chip_packet_hops']} packet hops, "
           f"{b['off_chip_flits']} flits, {b['off_chip_energy_nj']:.1f} nJ ({b['off_chip_energy_share'] * 100:.2f}% "
           f"of energy); zero-load latency share {b['zero_load_latency_share'] * 100:.1f}%"]
          if (b := s.get("system")) else []),
        f"  synaptic ops    {s['synaptic_ops_per_token']:.1f} per token; activity "
        + ", ".join(f"{k} {v:.3f}" for k, v in s["activity"].items()),
        *([f"  critical core   {cc['core']} ({cc['populations']}) ended {cc['share'] * 100:.1f}% of the steps "
           f"(cores.csv)"] if (cc := s.get("critical_core")) else []),
        f"  wall            {s['sim_wall_s']:.2f} s ({_num(s['synaptic_events_per_s'], '.3g')} synaptic events/s)",
        *([f"  mapping         {mapping[0]:.2f} s (placing and compiling" + _cache_note(mapping[1]) + ")"]
          if mapping else []),
        *([f"  record          {record['bytes']} bytes compressed for {record['steps']} steps (functional record; "
           + (f"kept: {out}/record.npz)" if "record.npz" in written else "removed)")] if record else []),
        f"  outputs         {out}/summary.json, tokens.csv, steps.csv, cores.csv, links.csv, run.json"
        + (", trace.json" if "trace.json" in written else "")
        + (", record.npz" if "record.npz" in written else "")
        + (", report.md, figures (*.png)" if "report.md" in written else ""),
    ]
    return "\n".join(lines)


def _power_time_lines(s: dict) -> list[str]:
    """The static-power and timestep lines (``docs/power-and-time.md``)."""
    st, ts, pw = s.get("static_nj_per_token"), s.get("timestep"), s.get("power")
    if not (st and ts and pw):
        return []
    op = f", operating point {pw['operating_point']}" if pw.get("operating_point") else ""
    mode = (f"fixed tick {ts['period_ns'] / 1e3:g} us ({ts['overrun_policy']}): {ts['overrun_steps']} overrun steps, "
            f"worst {ts['worst_overrun_ns'] / 1e3:g} us" if ts["mode"] == "fixed" else "barrier (self-timed)")
    return [
        f"  static/token    active {st['static_active']:.1f}, idle {st['static_idle']:.1f}, gated "
        f"{st['static_gated']:.1f}, chip {st['static_chip']:.1f} nJ ({pw['cores_in_use']} cores in use, "
        f"{pw['cores_unused']} unused {'gated' if pw['unused_cores'] == 'gated' else 'on'}{op})",
        f"  timestep        {mode}; shortest period that would have held {ts['shortest_period_ns'] / 1e3:g} us",
    ]
