"""Is ``balanced`` as fast as the best placement found by brute force?  (``validation/mapping.md``)

For every shipped PTB model, chip preset and decoder placement (host / chip) where the model fits,
replays the first ``--tokens`` PTB *test* tokens (pipelined) under:

- ``balanced`` (the default; calibrated on PTB *valid* tokens, never the replayed ones),
- ``snake``, ``partition``,
- ``snake`` with each core cap in {16, 32, 64, 128, 256, 512} neurons per core
  (``map.max_neurons_per_core=CAP``: the same placement as ``--set chip.core.max_neurons=CAP``,
  without changing the chip; caps at or above the chip's own ``max_neurons`` equal plain ``snake``
  and are not repeated),

and writes every point, the best baseline (least latency per token), ``balanced``'s latency and
energy relative to it, and whether every placement gave the same ``logits_sha256``.

Points are cached in ``runs/mapping-table/points.jsonl`` (resumable: a rerun replays only the
missing points).  ``--budget-s`` stops starting new configurations after that many seconds;
the table then lists what ran and names what did not.

    nice python validation/mapping_table.py [--tokens 100] [--budget-s 3000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nmsim.paths import project_root

MODELS = ["ptb-egru-small-s0", "ptb-egru-small-s50", "ptb-egru-small-s80", "ptb-egru-small-s90",
          "ptb-egru-small-s95", "ptb-lstm-small-s0", "ptb-lstm-small-s80"]
CHIPS = ["loihi", "spinnaker2", "truenorth"]
DECODERS = ["host", "chip"]
CAPS = [16, 32, 64, 128, 256, 512]
#: Every point is timed self-timed (``--set chip.timestep.mode=barrier``): under a fixed tick (SpiNNaker 2 and
#: TrueNorth presets) every placement whose steps fit in the tick ties at the tick, which hides the mapping.
OVERRIDES = {"timestep.mode": "barrier"}
#: Configurations not run, with the reason (shown in the table).
NOT_RUN = {("truenorth", "chip"): "4,096 cores and 10,000 readout units per point: beyond this table's time budget"}
NOTE = ("Every point is timed with the self-timed barrier (`--set chip.timestep.mode=barrier`), also on the "
        "tick-based presets (SpiNNaker 2, TrueNorth): under a fixed tick every placement whose steps fit in "
        "the tick ties at the tick, so the tick would hide the mapping; `shortest_period_ns` of a run is the "
        "same figure. Energies use each preset's power states (`docs/power-and-time.md`). On TrueNorth the "
        "step is set by the 64 x 64 mesh's barrier and every placement lies within about 1% of the others: "
        "`balanced` takes measured latencies within 1% as a tie, which it breaks by energy. Under the barrier "
        "`balanced`'s objective is `latency` on every chip (`map.objective = auto`), within its default energy budget "
        "(`map.energy_budget = 0.10`: the fastest candidate with at most +10% energy over the most frugal one that "
        "is no slower than the best conventional placement; `nmsim/map/choose.py`); in their own fixed-tick mode "
        "the tick-based presets use the `energy` objective instead (`docs/mapping.md`), which this table does not "
        "show.")
STORE = project_root() / "runs" / "mapping-table" / "points-barrier.jsonl"
OUT = project_root() / "validation" / "mapping.md"


def placements(chip) -> list[tuple[str, str, dict]]:
    """``(label, strategy, map settings)`` of every point of one configuration."""
    out = [("balanced", "balanced", {}), ("snake", "snake", {}), ("partition", "partition", {})]
    out += [(f"snake cap {c}", "snake", {"max_neurons_per_core": c}) for c in CAPS if c < chip.core.max_neurons]
    return out


def run_point(golden, chip, decoder: str, strategy: str, settings: dict, tokens) -> dict:
    from nmsim.errors import MappingError
    from nmsim.replay import ReplayConfig, build_replay, replay

    t0 = time.perf_counter()
    try:
        m = build_replay(golden, chip, strategy, decoder, 0, settings, "ptb", "test")
    except MappingError as exc:
        return {"fits": False, "error": str(exc).split(" [model")[0]}
    t_map = time.perf_counter() - t0
    s = replay(ReplayConfig(chip=chip.name, decoder=decoder), mapped=m, tokens=tokens).summary
    return {"fits": True, "latency_us": s["latency_ns"]["mean"] / 1e3,
            "energy_nj": s["energy_nj_per_token"]["total"], "cores": s["cores_used"],
            "logits_sha256": s["logits_sha256"], "bit_exact": s["bit_exact"],
            "map_s": round(t_map, 2), "wall_s": round(time.perf_counter() - t0, 2),
            "chosen": (m.placement.search or {}).get("chosen")}


def load_store() -> dict:
    done = {}
    if STORE.exists():
        for line in STORE.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[r["key"]] = r
    return done


def main(argv=None) -> int:
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.paths import models_dir
    from nmsim.replay import load_replay_chip, load_tokens

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=100)
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--chips", nargs="*", default=CHIPS)
    ap.add_argument("--decoders", nargs="*", default=DECODERS)
    ap.add_argument("--budget-s", type=float, default=float("inf"), help="start no configuration after this")
    ap.add_argument("--table-only", action="store_true", help="write the table from the stored points")
    a = ap.parse_args(argv)
    done = load_store()
    STORE.parent.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    configs = [(d, c, m) for d in a.decoders for c in a.chips for m in a.models]  # host decoder first: fastest
    skipped = []
    for dec, chip_name, model in configs:
        if (chip_name, dec) in NOT_RUN:
            continue
        chip = load_replay_chip(chip_name, OVERRIDES)
        pls = placements(chip)
        keys = [f"{model}|{chip_name}|{dec}|{a.tokens}|{label}" for label, _, _ in pls]
        if all(k in done for k in keys) or a.table_only:
            continue
        if time.perf_counter() - t_start > a.budget_s:
            skipped.append((model, chip_name, dec))
            continue
        g = GoldenModel(load_model(models_dir() / f"{model}.nmm"))
        tokens, _ = load_tokens(g.mf, "ptb", "test", a.tokens)
        for key, (label, strategy, settings) in zip(keys, pls):
            if key in done:
                continue
            r = {"key": key, "model": model, "chip": chip_name, "decoder": dec, "tokens": a.tokens,
                 "placement": label, **run_point(g, chip, dec, strategy, settings, tokens)}
            done[key] = r
            with STORE.open("a") as fh:
                fh.write(json.dumps(r, sort_keys=True) + "\n")
            print(f"{model} {chip_name} decoder={dec} {label}: "
                  + (f"{r['latency_us']:.2f} us, {r['energy_nj']:.0f} nJ, {r['cores']} cores, wall {r['wall_s']} s"
                     if r["fits"] else "does not fit"), flush=True)
    OUT.write_text(table(done, a, configs), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


def table(done: dict, a, configs) -> str:
    lines = ["# Mapping: `balanced` against brute force", "",
             "Generated by `python validation/mapping_table.py "
             f"--tokens {a.tokens}` (do not edit). Each point replays the first {a.tokens} PTB *test* tokens "
             "(pipelined, bit-exact against the golden reference); `balanced` is calibrated on the first 200 "
             "PTB *valid* tokens (activity) and compares its best predicted candidates by replaying 24 of those "
             "calibration tokens. Baselines: `snake`, `partition` and `snake` with a core cap of 16..512 neurons "
             "(`--set map.max_neurons_per_core=CAP`, equivalent to `--set chip.core.max_neurons=CAP`; caps at "
             "or above the chip's own limit equal `snake`). *best* = the baseline with the least latency per "
             "token. The claim: `balanced` is no slower than *best* and its energy is within 10% of *best*'s.",
             "", NOTE, "",
             "## Summary", "",
             "| model | chip | decoder | balanced µs/token | best baseline | best µs/token | latency ratio | "
             "energy ratio | no slower | energy ≤ +10% | same logits |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    detail = ["", "## Every point", "",
              "| model | chip | decoder | placement | cores | µs/token | nJ/token | map s | logits_sha256 |",
              "|---|---|---|---|---|---|---|---|---|"]
    missing, n_ok, n_cfg, n_e = [], 0, 0, 0
    for dec, chip_name, model in configs:
        rows = [r for r in done.values() if r["model"] == model and r["chip"] == chip_name
                and r["decoder"] == dec and r["tokens"] == a.tokens]
        if not rows:
            if (chip_name, dec) not in NOT_RUN:
                missing.append(f"{model} on {chip_name}, decoder on {dec}")
            continue
        for r in rows:
            if r["fits"]:
                detail.append(f"| {model} | {chip_name} | {dec} | {r['placement']} | {r['cores']} | "
                              f"{r['latency_us']:.2f} | {r['energy_nj']:.0f} | {r['map_s']} | "
                              f"`{r['logits_sha256'][:12]}` |")
            else:
                detail.append(f"| {model} | {chip_name} | {dec} | {r['placement']} | — | does not fit | | | |")
        bal = next((r for r in rows if r["placement"] == "balanced"), None)
        base = [r for r in rows if r["placement"] != "balanced" and r["fits"]]
        if bal is None or not bal["fits"] or not base:
            if bal is not None and not bal["fits"]:
                lines.append(f"| {model} | {chip_name} | {dec} | does not fit | | | | | | | |")
            continue
        best = min(base, key=lambda r: (r["latency_us"], r["energy_nj"]))
        lr = bal["latency_us"] / best["latency_us"]
        er = bal["energy_nj"] / best["energy_nj"]
        same = len({r["logits_sha256"] for r in rows if r["fits"]}) == 1
        n_cfg += 1
        n_ok += lr <= 1.0
        n_e += er <= 1.10
        lines.append(f"| {model} | {chip_name} | {dec} | {bal['latency_us']:.2f} | {best['placement']} | "
                     f"{best['latency_us']:.2f} | {lr:.3f} | {er:.3f} | {'yes' if lr <= 1.0 else '**no**'} | "
                     f"{'yes' if er <= 1.10 else '**no**'} | {'yes' if same else '**no**'} |")
    head = [f"", f"**{n_ok} of {n_cfg}** configurations: `balanced` no slower than the best baseline; "
                 f"**{n_e} of {n_cfg}**: energy within 10% of it."]
    lines[lines.index("## Summary") + 1:lines.index("## Summary") + 1] = head + [""]
    for (chip_name, dec), why in NOT_RUN.items():
        lines += ["", f"Not run: {chip_name} with the decoder on the {dec} ({why})."]
    if missing:
        lines += ["", "Not run (time budget of this regeneration): " + "; ".join(missing) + "."]
    return "\n".join(lines + detail) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
