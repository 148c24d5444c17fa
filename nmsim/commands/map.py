"""``nmsim map``: place a language model on a chip and print the per-core table and the predicted
critical path, without replaying it (``docs/mapping.md``)."""

from __future__ import annotations

import json

import numpy as np

#: the one-line help of the sub-command (``nmsim --help``)
HELP = "place a model on a chip: per-core table and predicted critical path (no replay)"


def register(subparsers) -> None:
    from nmsim.commands.run import _override, _placement
    from nmsim.replay import DEFAULT_CHIP, DEFAULT_DATASET, DEFAULT_SPLIT, PLACEMENTS
    from nmsim.replay.mapped import DEFAULT_PLACEMENT
    from nmsim.replay.network import DECODERS

    p = subparsers.add_parser(
        "map", help=HELP,
        description="Place a language model on a chip as `nmsim run` would and print, per used core, what it "
                    "holds and its predicted work per step, and the step's predicted critical path.")
    p.add_argument("model", help="model file (.nmm) or name under workloads/models/")
    p.add_argument("--chip", default=DEFAULT_CHIP, help=f"chip preset name or TOML path (default: {DEFAULT_CHIP})")
    p.add_argument("--placement", default=DEFAULT_PLACEMENT, type=_placement, metavar="STRATEGY|FILE",
                   help=f"{', '.join(PLACEMENTS)} or a placement file (default: {DEFAULT_PLACEMENT})")
    p.add_argument("--decoder", default="chip", choices=DECODERS, help="decoder on the chip or the host (default: chip)")
    p.add_argument("--dataset", default=DEFAULT_DATASET, help="dataset of the calibration tokens (default: ptb)")
    p.add_argument("--split", default=DEFAULT_SPLIT,
                   help="the split a replay would run on; calibration uses another (default: test)")
    p.add_argument("--seed", type=int, default=0, help="placement seed (partition)")
    p.add_argument("--set", dest="overrides", action="append", type=_override, default=[], metavar="K=V",
                   help="chip.T.K=V (chip value) or map.K=V (mapper limit), as for `nmsim run` (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(func=run)


def core_rows(chip, lm, pl, pred) -> list[dict]:
    """One dict per used core: position, populations, counts and predicted cycles per step."""
    rows = []
    used = np.flatnonzero(pl.neurons)
    for c in used:
        pops = {name: int((arr == c).sum()) for name, arr in pl.core_of.items()}
        rows.append({"core": int(c), "x": int(pl.core_xy[c, 0]), "y": int(pl.core_xy[c, 1]),
                     "populations": {k: v for k, v in pops.items() if v},
                     "neurons": int(pl.neurons[c]), "synapses": int(pl.synapses[c]), "rows": int(pl.rows[c]),
                     "bytes": int(pl.bytes[c]), "neuron_cycles": round(float(pred.neuron[c]), 1),
                     "synapse_cycles": round(float(pred.synapse[c]), 1), "send_cycles": round(float(pred.send[c]), 1),
                     "critical_cycles": round(float(pred.critical[c]), 1)})
    return rows


def run(args) -> int:
    from nmsim.commands.run import chip_overrides, map_settings
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.map.connectivity import connectivity
    from nmsim.map.cost import predict
    from nmsim.replay import load_replay_chip, resolve_model_path
    from nmsim.replay.mapped import place_lm
    from nmsim.replay.network import build_lm_network

    settings = map_settings(args.overrides)
    mf = load_model(resolve_model_path(args.model))
    chip = load_replay_chip(args.chip, chip_overrides(args.overrides))
    golden = GoldenModel(mf)
    lm = build_lm_network(golden, decoder=args.decoder)
    pl, calibration, wl = place_lm(golden, lm, chip, args.placement, args.seed, settings, args.dataset, args.split,
                                   need_workload=True)
    conn = connectivity(lm.net)
    core_of = np.concatenate([pl.core_of[p] for p in lm.net.populations]).astype(np.int64)
    pred = predict(chip, conn, wl, core_of)
    depth = lm.n_layers + (2 if lm.readout else 1)
    ns = 1e9 / chip.clock.frequency_hz
    crit = "host" if pred.critical_core == chip.n_cores else f"core {pred.critical_core}"
    out = {"model": mf.header.get("name"), "chip": chip.name, "placement": pl.strategy, "decoder": lm.decoder,
           "map_settings": settings, "cores_used": int((pl.neurons > 0).sum()), "n_cores": chip.n_cores,
           "predicted": {"step_cycles": round(pred.step_cycles, 1), "step_ns": round(pred.step_cycles * ns, 3),
                         "latency_ns_per_token": round(pred.step_cycles * ns * depth, 3),
                         "steps_per_token": depth, "critical": crit,
                         "host_send_cycles": round(pred.host_send, 1), "host_in_cycles": round(pred.host_in, 1),
                         "energy_pj_per_step": round(pred.energy_pj, 1)},
           "activity": wl.source, "search": pl.search, "cores": core_rows(chip, lm, pl, pred)}
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
        return 0
    print(format_table(out))
    return 0


def format_table(out: dict) -> str:
    lines = [f"{out['model']} on {out['chip']} ({out['placement']} placement, decoder on {out['decoder']}): "
             f"{out['cores_used']} of {out['n_cores']} cores",
             f"{'core':>5} {'(x,y)':>7} {'neurons':>7} {'synapses':>9} {'bytes':>7} {'neuron':>9} {'synapse':>9} "
             f"{'send':>8} {'critical':>9}  populations",
             f"{'':>5} {'':>7} {'':>7} {'':>9} {'':>7} {'cycles/step (predicted)':>37}"]
    for r in out["cores"]:
        pops = ",".join(f"{k}:{v}" for k, v in r["populations"].items())
        lines.append(f"{r['core']:>5} {'(%d,%d)' % (r['x'], r['y']):>7} {r['neurons']:>7} {r['synapses']:>9} "
                     f"{r['bytes']:>7} {r['neuron_cycles']:>9.0f} {r['synapse_cycles']:>9.0f} {r['send_cycles']:>8.0f} "
                     f"{r['critical_cycles']:>9.0f}  {pops}")
    p = out["predicted"]
    a = out["activity"]
    lines.append(f"predicted critical path: {p['step_cycles']:.0f} cycles per step ({p['step_ns'] / 1e3:.3f} us; "
                 f"{p['critical']}), {p['latency_ns_per_token'] / 1e3:.3f} us per token ({p['steps_per_token']} steps); "
                 f"host sends {p['host_send_cycles']:.0f} cycles")
    lines.append(f"activity from {a.get('count')} {a.get('dataset')}/{a.get('split')} tokens "
                 f"(from {a.get('start')}), golden reference")
    if out["search"]:
        s = out["search"]
        budget = s.get("energy_budget")
        rule = s.get("objective", "") + (f", energy budget +{100 * budget:g} %" if budget is not None else "")
        lines.append(f"balanced: chose '{s['chosen']}' of {s['candidates']} candidates"
                     + (f" ({len(s['calibration_replay'])} replayed on calibration tokens)"
                        if s.get("calibration_replay") else "") + (f"; objective {rule}" if rule else ""))
    return "\n".join(lines)
