"""``nmsim nir import`` and ``nmsim run-snn``: NIR graphs in (``docs/nir.md``).

    nmsim nir import GRAPH.nir --out NET.npz (--chip CHIP | --weight-bits B) [--dt S] [--scale-mode layer|graph]
        map the graph's LIF / IF / CubaLIF nodes and Affine / Linear / Conv2d / Flatten edges onto nmsim's
        integer neuron models; write the network and NET.quant.json (scale factors); print the scale table
    nmsim run-snn GRAPH.nir --chip CHIP --input SPIKES.npz [--steps N] [--out DIR]
        import, place, compile and simulate; write DIR/spikes.npz, DIR/counts.json, DIR/quant.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nmsim.commands._args import int_at_least
from nmsim.errors import NmsimError


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return v


def _quant_args(p) -> None:
    from nmsim.nir.quantize import RESET_MODES, SCALE_MODES

    p.add_argument("--dt", type=_positive_float, default=None,
                   help="timestep in seconds the graph's time constants refer to (needed when a tau is finite; "
                        "snnTorch exports with 1e-4)")
    p.add_argument("--scale-mode", choices=SCALE_MODES, default="layer",
                   help="one power-of-two scale per population (layer, default) or one for the graph")
    p.add_argument("--reset", choices=RESET_MODES, default="zero",
                   help="reset of LIF/IF: zero (NIR's v <- v_reset, default) or subtract threshold")


#: The commands this module registers, with their help lines (see ``nmsim.cli.command_helps``).
COMMANDS = {"nir": "NIR graphs: import into an nmsim network",
            "run-snn": "run a NIR graph on a chip (spikes and counts)"}


def register(subparsers) -> None:
    p = subparsers.add_parser("nir", help=COMMANDS["nir"],
                              description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="nir_command", metavar="ACTION")
    q = sub.add_parser("import", help="map a NIR graph onto nmsim's integer neuron models")
    q.add_argument("graph", type=Path, help="NIR graph file (.nir, HDF5)")
    q.add_argument("--out", type=Path, required=True, help="network file to write (.npz)")
    q.add_argument("--chip", default=None, help="chip whose weight width bounds the weights")
    q.add_argument("--weight-bits", type=int_at_least(2), default=None, help="signed weight width (instead of --chip)")
    _quant_args(q)
    q.set_defaults(func=nir_import)
    p.set_defaults(func=_no_action)

    r = subparsers.add_parser("run-snn", help=COMMANDS["run-snn"],
                              description="Import a NIR graph, map it onto CHIP and simulate it; see docs/nir.md.")
    r.add_argument("graph", type=Path, help="NIR graph file (.nir)")
    r.add_argument("--chip", required=True, help="chip preset name or TOML path")
    r.add_argument("--input", type=Path, required=True,
                   help="spikes.npz: one int array [T, n] (or [T, *shape]) of 0/1 per NIR Input node, keyed by its name")
    r.add_argument("--steps", type=int_at_least(1), default=None, help="input steps to run (default: all of T)")
    r.add_argument("--out", type=Path, default=None, help="output directory (default: runs/<graph>-<chip>)")
    r.add_argument("--placement", choices=("snake", "partition"), default="snake", help="placement (default: snake)")
    r.add_argument("--no-stagger", action="store_true",
                   help="update every population from step 0 (default: a population at depth k, k synaptic hops "
                        "from the inputs, starts at step k, so spikes align with frameworks without delays)")
    _quant_args(r)
    r.set_defaults(func=run_snn)


def _no_action(args) -> int:
    raise NmsimError("nir: give an action: import (see nmsim nir --help)")


def _import(args, weight_bits: int):
    from nmsim.nir.quantize import import_nir

    return import_nir(args.graph, weight_bits, dt=args.dt, scale_mode=args.scale_mode, reset=args.reset)


def _weight_bits(chip) -> int:
    from nmsim.describe.chip import load_chip

    return int(load_chip(chip).core.weight_bits)


def nir_import(args) -> int:
    from nmsim.replay.outputs import write_atomic

    if (args.chip is None) == (args.weight_bits is None):
        raise NmsimError("nir import: give exactly one of --chip CHIP or --weight-bits B")
    wb = args.weight_bits if args.weight_bits is not None else _weight_bits(args.chip)
    net, rep = _import(args, wb)
    out = args.out if args.out.suffix == ".npz" else args.out.with_suffix(args.out.suffix + ".npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    net.save(out)
    write_atomic(out.with_suffix(".quant.json"), json.dumps(rep.to_dict(), indent=2, allow_nan=False) + "\n")
    print(net)
    print(rep.table())
    print(f"wrote {out} and {out.with_suffix('.quant.json')}")
    return 0


def depths(net) -> dict[str, int]:
    """Synaptic hops from the nearest input population (breadth first); unreachable populations get 0."""
    d = {n: 0 for n, p in net.populations.items() if p.is_host}
    frontier = list(d)
    while frontier:
        nxt = []
        for q in net.projections:
            if q.src in frontier and q.dst not in d:
                d[q.dst] = d[q.src] + 1
                nxt.append(q.dst)
        frontier = nxt
    return {n: d.get(n, 0) for n in net.populations}


def load_inputs(path: Path, net, steps: int | None) -> tuple[dict, int]:
    """``{input population: int64[T, n]}`` from ``path`` (see ``run-snn --input``)."""
    names = [n for n, p in net.populations.items() if p.is_host]
    if not names:
        raise NmsimError(f"network {net.name!r} has no NIR Input node to feed from {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise NmsimError(f"{path}: file not found") from None
    except Exception as exc:
        raise NmsimError(f"{path}: not a readable .npz file ({type(exc).__name__})") from None
    if len(names) == 1 and len(data) == 1 and names[0] not in data:
        data = {names[0]: next(iter(data.values()))}
    out, T = {}, None
    for n in names:
        if n not in data:
            raise NmsimError(f"{path}: no array for input node {n!r}; arrays: {', '.join(sorted(data)) or '(none)'}")
        a = np.asarray(data[n])
        if a.ndim < 2 or int(np.prod(a.shape[1:])) != net.populations[n].n:
            raise NmsimError(f"{path}: input {n!r} shape {a.shape}; want (T, {net.populations[n].n}) or (T, *shape)")
        a = a.reshape(a.shape[0], -1)
        if not np.isin(a, (0, 1)).all():
            raise NmsimError(f"{path}: input {n!r} must hold spikes (0 or 1)")
        T = a.shape[0] if T is None else min(T, a.shape[0])
        out[n] = a.astype(np.int64)
    if steps is not None and steps > T:
        raise NmsimError(f"--steps {steps}: the input holds only {T} steps")
    T = T if steps is None else steps
    return {n: a[:T] for n, a in out.items()}, T


def simulate_snn(net, chip, inputs: dict, steps: int, stagger: bool = True, placement: str = "snake"):
    """Simulate ``net`` on ``chip``: returns ``(aligned spikes {pop: uint8[steps, n]}, raw SimResult, model,
    depth)``.  With ``stagger``, a population at depth ``k`` is enabled from step ``k`` and its spikes are
    read ``k`` steps later, and ``steps + max depth`` steps are simulated."""
    from nmsim.compile.build import gather, neuron_index
    from nmsim.pipeline import build
    from nmsim.sim.engine import simulate

    model = build(chip, net, placement)
    dep = depths(net) if stagger else {n: 0 for n in net.populations}
    total = steps + max(dep.values(), default=0)
    host = {n: np.vstack([a, np.zeros((total - steps, a.shape[1]), np.int64)]) for n, a in inputs.items()}
    enable = None
    if stagger:
        enable = np.ones((total, model.n_neurons), np.uint8)
        for n, k in dep.items():
            enable[:k, neuron_index(model, n)] = 0
    res = simulate(model, total, inputs=host, record=("fired",), enable=enable)
    spikes = {n: gather(model, res.fired, n)[dep[n]:dep[n] + steps] for n, p in net.populations.items()
              if not p.is_host}
    return spikes, res, model, dep


def run_snn(args) -> int:
    import io

    from nmsim.describe.actions import ACTIONS
    from nmsim.describe.chip import load_chip
    from nmsim.replay.outputs import write_atomic

    chip = load_chip(args.chip)
    net, rep = _import(args, int(chip.core.weight_bits))
    inputs, steps = load_inputs(args.input, net, args.steps)
    spikes, res, model, dep = simulate_snn(net, chip, inputs, steps, not args.no_stagger, args.placement)
    out = args.out or Path("runs") / f"{args.graph.stem}-{chip.name}"
    counts = {
        "graph": str(args.graph), "chip": chip.name, "steps": steps, "simulated_steps": int(res.step_cycles.size),
        "stagger": not args.no_stagger, "depth": dep, "placement": args.placement,
        "spike_counts": {n: int(s.sum()) for n, s in spikes.items()},
        "spikes_per_step": {n: s.sum(axis=1).astype(int).tolist() for n, s in spikes.items()},
        "cycles_total": int(res.step_cycles.sum()),
        "actions_total": {a: int(v) for a, v in zip(ACTIONS, res.counters.sum(axis=(0, 1)).tolist())},
        "quantization_exact": rep.exact,
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, **spikes)
    write_atomic(out / "quant.json", json.dumps(rep.to_dict(), indent=2, allow_nan=False) + "\n")
    write_atomic(out / "spikes.npz", buf.getvalue())
    write_atomic(out / "counts.json", json.dumps(counts, indent=2, allow_nan=False) + "\n")
    print(rep.table())
    print(f"{chip.name}: {steps} steps, spikes " + ", ".join(f"{n} {c}" for n, c in counts["spike_counts"].items())
          + f"; {counts['cycles_total']} cycles")
    print(f"wrote {out}/spikes.npz, counts.json, quant.json")
    return 0
