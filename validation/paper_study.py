"""The paper study as a sweep: does weight sparsity compose with activity sparsity on a chip?

Runs ``examples/sweeps/paper.toml`` (resumable store in ``runs/paper-study``),
exports ``validation/paper-study/results.csv``, writes the generic sweep report
(Pareto fronts, sensitivity) into ``validation/paper-study/`` and the study
table ``validation/paper-study/README.md``: for every chip and decoder
placement, each model's measured synaptic operations, energy and latency per
token relative to the dense LSTM baseline, next to the predicted factor
(activity x weight density) computed from the model files and the measured
per-layer activity.

    python validation/paper_study.py [--workers N] [--config validation/paper_study.toml] [--out DIR]

Also runs the one-at-a-time sensitivity and Monte Carlo sweeps that
``validation/paper_study_uq.py`` generates from the chips' ``range`` entries (settings:
``validation/paper_study.toml``), each in its own resumable store under ``runs/``; every table
is computed from the exported CSVs, so re-exporting reproduces them byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
SPEC = ROOT / "examples" / "sweeps" / "paper.toml"
STORE = ROOT / "runs" / "paper-study"
OUT = ROOT / "validation" / "paper-study"


def model_facts(name: str) -> dict:
    """Widths, gates and W/R weight density of a shipped model (from its file, not from the run)."""
    from nmsim.lm.modelfile import load_model
    from nmsim.paths import models_dir

    mf = load_model(models_dir() / f"{name}.nmm")
    a = mf.arch
    sizes = [a["emb"]] + list(a["hidden"])
    G = 4 if a["kind"] == "lstm" else 3
    dens = {}
    for i in range(len(a["hidden"])):
        for m in ("W", "R"):
            dens[(i, m)] = 1.0 - float(mf.sparsity[f"layers.{i}.{m}"])
    return {"kind": a["kind"], "sizes": sizes, "G": G, "dens": dens, "V": a["vocab_size"], "E": a["emb"]}


def predicted_stack_fraction(f: dict, act: list[float]) -> float:
    """Expected stack ops / dense stack ops: sum_l G n_l (d_W a_{l-1} n_{l-1} + d_R a_l n_l), a_0 = 1."""
    s, G = f["sizes"], f["G"]
    a = [1.0] + list(act)
    num = sum(G * s[l + 1] * (f["dens"][(l, "W")] * a[l] * s[l] + f["dens"][(l, "R")] * a[l + 1] * s[l + 1])
              for l in range(len(s) - 1))
    den = sum(G * s[l + 1] * (s[l] + s[l + 1]) for l in range(len(s) - 1))
    return num / den


def baseline_of(model: str) -> str:
    """The dense LSTM of a model's size: ``ptb-egru-medium-s90`` -> ``ptb-lstm-medium-s0``."""
    parts = model.split("-")
    if len(parts) >= 4 and parts[-1].startswith("s"):
        return "-".join([parts[0], "lstm"] + parts[2:-1] + ["s0"])
    return model


def _composes(ratio: float, ops: float) -> str:
    """How a ratio carries the operations ratio: within 2x of it is multiplicative."""
    if ratio <= 2 * ops:
        return "multiplicative"
    return "partial" if ratio < 1 else "none"


def reading(rows: list[dict], facts: dict, fl: list[dict], egru: str = "ptb-egru-small-s90",
            base: str = "ptb-lstm-small-s0", more_pairs: tuple = ()) -> list[str]:
    """The study's conclusion, every number taken from a table of this report: the per-chip tables
    (ratios per variant) and the floors table."""
    import paper_study_uq as uq

    out = [f"Ratios are {egru} / {base} on the same chip, variant and decoder (the per-chip tables above); a "
           "ratio within 2x of the operations ratio counts as *multiplicative*, one below 1 but further off as "
           "*partial*, one at or above 1 as *none*.", ""]
    f = lambda r, k: float(r[k])  # noqa: E731

    def trio(chip, dec, pred, egru=egru, base=base):
        sel = {r["model"]: r for r in rows if r["chip"] == chip and r["decoder"] == dec and pred(dict(uq._varied(r)))}
        b, e = sel.get(base), sel.get(egru)
        if not (b and e):
            return None
        return tuple(f(e, k) / f(b, k) for k in ("synaptic_ops_per_token", "energy_per_token_nj", "latency_per_token_us"))

    pairs = [(egru, base)] + [tuple(p) for p in more_pairs]
    out.append("**In short** (decoder on the host, so the chip runs the recurrent stack alone; each model on its "
               "own balanced placement, unused cores gated, the chip's own timestep; against the old default "
               "of memory-packed placement with every core on and a barrier):")
    for (eg, bs), chip in [(pr, c) for pr in pairs for c in sorted({r["chip"] for r in rows})]:
        now = trio(chip, "host", lambda d: d.get("placement", "balanced") == "balanced"
                   and d.get("chip.power.unused_cores") == "gated" and "chip.timestep.mode" not in d, eg, bs)
        old = trio(chip, "host", lambda d: d.get("placement") == "snake", eg, bs)
        if now is None:
            continue
        ops, en, lat = now
        line = (f"- {eg} / {bs} on {chip} ({own_mode(chip)} timestep): operations {ops:.3f}, energy {en:.3f} "
                f"({_composes(en, ops)}), latency {lat:.3f} ({_composes(lat, ops)})")
        if old is not None:
            line += f"; the old default gave energy {old[1]:.3f} and latency {old[2]:.3f}"
        out.append(line + ".")
    out += ["", "Every variant:"]
    for chip in sorted({r["chip"] for r in rows}):
        for dec in ("host", "chip"):
            parts, kinds = [], set()
            chip_vars = {uq._varied(r) for r in rows if r["chip"] == chip}
            for var in sorted(chip_vars):
                if redundant(chip, var, chip_vars):
                    continue
                sel = {r["model"]: r for r in rows if r["chip"] == chip and r["decoder"] == dec and uq._varied(r) == var}
                b, e = sel.get(base), sel.get(egru)
                if not (b and e):
                    continue
                ops = f(e, "synaptic_ops_per_token") / f(b, "synaptic_ops_per_token")
                en = f(e, "energy_per_token_nj") / f(b, "energy_per_token_nj")
                lat = f(e, "latency_per_token_us") / f(b, "latency_per_token_us")
                ke, kl = _composes(en, ops), _composes(lat, ops)
                kinds.add((ke, kl))
                parts.append(f"{variant_label(var).lstrip(', ').lstrip('— ')}: ops {ops:.3f}, energy {en:.3f} ({ke}), "
                             f"latency {lat:.3f} ({kl})")
            if parts:
                out.append(f"- **{chip}, decoder on the {dec}**: " + "; ".join(parts) + ".")
    out += ["", "Floors (the floors table; EGRU 90% and dense LSTM, balanced, unused cores gated):"]
    for x in fl:
        if x["model"] != egru:
            continue
        ro = (f"; the readout on the chip adds {x['readout_nj']:,.0f} nJ and {x['readout_us']:.1f} µs per token"
              if x["readout_nj"] is not None else "")
        out.append(f"- {x['chip']} ({x['mode']} timestep), decoder on the {x['decoder']}: static power is "
                   f"{100 * x['static']:.1f}% and the barrier {100 * x['barrier']:.1f}% of {x['energy_nj']:,.0f} nJ "
                   f"per token; the step floor is {x['floor_us']:.1f} µs of {x['latency_us']:.1f} µs per token "
                   f"({100 * x['floor_share']:.0f}%){ro}; the dense embedding input causes "
                   f"{100 * x['dense_input']:.1f}% of the stack's operations.")
    di = {(x["chip"], x["decoder"], x["model"]): x for x in fl if x["mode"] == "barrier"}
    pair = next(((di[k], di[(k[0], k[1], base)]) for k in sorted(di) if k[2] == egru and (k[0], k[1], base) in di
                 and k[1] == "host"), None)
    if pair:
        e, b = pair
        out += ["", f"On a self-timed chip the step floor is small ({100 * e['floor_share']:.0f}% of the EGRU's latency "
                f"on {e['chip']}, decoder on the host); the latency ratio stays above the operations ratio because a "
                f"step lasts as long as its busiest core's work (each run's `cores.csv` names the critical core), not "
                f"the total work shared over the cores, and because the dense embedding input, which sparsity does "
                f"not thin, causes {100 * e['dense_input']:.1f}% of the EGRU's stack operations against "
                f"{100 * b['dense_input']:.1f}% of the LSTM's."]
    ticked = sorted({(x["chip"], x["decoder"]) for x in fl if x["mode"] == "fixed" and x["floor_share"] >= 0.99})
    if ticked:
        out += ["", "Where a chip's own timestep is a fixed tick, the tick sets the latency of every model (floor "
                "share of at least 99% in the floors table: " + ", ".join(f"{c} with the decoder on the {d}"
                                                                         for c, d in ticked)
                + "), so sparsity cannot lower it there; the barrier variant shows what the work alone would allow."]
    out += ["", "The SpiNNaker 2 preset's per-action energies are an upper bound derived from chip power, so read "
            "its energy ratios for their shape, not their absolute values (`chips/spinnaker2.toml`)."]
    return out


def own_mode(chip: str) -> str:
    """The chip preset's own timestep mode (replay profile)."""
    from nmsim.describe.chip import load_chip_variant

    return load_chip_variant(chip, replay_profile=True, overrides={}).timestep.mode


def redundant(chip: str, var: tuple, variants) -> bool:
    """A variant that sets the chip's own timestep mode repeats the variant without it (when that one is in
    ``variants``): shown once."""
    d = dict(var)
    return (d.get("chip.timestep.mode") == own_mode(chip)
            and tuple(x for x in var if x[0] != "chip.timestep.mode") in set(variants))


def step_floor_ns(chip: str, var: tuple) -> tuple[str, float]:
    """``(timestep mode, ns)``: the shortest a step can be whatever the work -- the tick period in
    ``fixed`` mode, the barrier's cycles in ``barrier`` mode -- from the chip description with the
    variant's ``chip.*`` values (replay profile, as the sweep points load it)."""
    from nmsim.describe.chip import load_chip_variant

    ov = {k[len("chip."):]: _cell(v) for k, v in var if k.startswith("chip.")}
    c = load_chip_variant(chip, replay_profile=True, overrides=ov)
    if c.timestep.mode == "fixed":
        return "fixed", float(c.timestep.period_ns)
    return "barrier", c.barrier_cycles * 1e9 / c.clock.frequency_hz


def _cell(v: str):
    """A CSV cell back to the number it was (the exported chip.* columns are text)."""
    for t in (int, float):
        try:
            return t(v)
        except ValueError:
            pass
    return v


def dense_input_share(f: dict, act: list[float]) -> float:
    """Share of the recurrent stack's operations per token that the dense embedding input to layer 1
    causes (every embedding value is sent every token, α_0 = 1): G·n_1·d_W1·n_0 over the stack's expected
    operations (the numerator of :func:`predicted_stack_fraction`)."""
    s, G = f["sizes"], f["G"]
    a = [1.0] + list(act)
    stack = sum(G * s[l + 1] * (f["dens"][(l, "W")] * a[l] * s[l] + f["dens"][(l, "R")] * a[l + 1] * s[l + 1])
                for l in range(len(s) - 1))
    return G * s[1] * f["dens"][(0, "W")] * s[0] / stack


def floors(rows: list[dict], facts: dict, models: tuple[str, ...]) -> list[dict]:
    """Per chip, balanced variant with unused cores gated, decoder and model: what sparsity cannot lower.
    ``static``/``barrier``: shares of the energy per token; ``readout_nj``: energy per token of the decoder
    on the chip (this row minus the same point with the decoder on the host); ``floor_us``: the steps a
    token takes times the step floor (:func:`step_floor_ns`) and ``floor_share`` its part of the latency;
    ``dense_input``: :func:`dense_input_share`."""
    import paper_study_uq as uq

    out = []
    by = {(r["chip"], uq._varied(r), r["decoder"], r["model"]): r for r in rows}
    for (chip, var, dec, model), r in sorted(by.items()):
        d = dict(var)
        if (model not in models or d.get("placement", "balanced") != "balanced"
                or d.get("chip.power.unused_cores") != "gated"
                or redundant(chip, var, {v for c, v, _, _ in by if c == chip})):
            continue
        f = facts[model]
        n_layers = len(f["sizes"]) - 1
        act = [float(r[f"activity_L{i + 1}"]) for i in range(n_layers)] if f["kind"] == "egru" else [1.0] * n_layers
        mode, step_ns = step_floor_ns(chip, var)
        depth = n_layers + (2 if dec == "chip" else 1)
        en, lat = float(r["energy_per_token_nj"]), float(r["latency_per_token_us"])
        host = by.get((chip, var, "host", model))
        out.append({"chip": chip, "mode": mode, "decoder": dec, "model": model, "energy_nj": en, "latency_us": lat,
                    "static": float(r["energy_static_nj"]) / en, "barrier": float(r["energy_barrier_nj"]) / en,
                    "readout_nj": en - float(host["energy_per_token_nj"]) if dec == "chip" and host else None,
                    "readout_us": lat - float(host["latency_per_token_us"]) if dec == "chip" and host else None,
                    "floor_us": depth * step_ns / 1e3, "floor_share": depth * step_ns / 1e3 / lat,
                    "dense_input": dense_input_share(f, act)})
    return out


def floor_lines(fl: list[dict]) -> list[str]:
    lines = ["## Floors: what sparsity does not lower", "",
             "Balanced placement, unused cores gated. *static %*, *barrier %*: shares of the energy per token; "
             "*readout*: this row minus the same point with the decoder on the host; *step floor*: the steps a "
             "token takes (layers + 1, + 1 more with the decoder on the chip) times the shortest step the chip "
             "allows (the tick period in `fixed` mode, the barrier's cycles in `barrier` mode); *dense input %*: "
             "the share of the recurrent stack's operations that the dense embedding input to layer 1 causes "
             "(G·n₁·d·n₀ over the stack's expected operations, measured activities).", "",
             "| chip | timestep | decoder | model | energy nJ/token | static % | barrier % | readout nJ/token | "
             "readout µs/token | latency µs/token | step floor µs/token | floor % of latency | dense input % |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    opt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
    for x in fl:
        lines.append(f"| {x['chip']} | {x['mode']} | {x['decoder']} | {x['model']} | {x['energy_nj']:,.0f} | "
                     f"{100 * x['static']:.1f} | {100 * x['barrier']:.1f} | {opt(x['readout_nj'], ',.0f')} | "
                     f"{opt(x['readout_us'], '.1f')} | {x['latency_us']:.1f} | {x['floor_us']:.1f} | "
                     f"{100 * x['floor_share']:.0f} | {100 * x['dense_input']:.1f} |")
    return lines + [""]


def variant_label(var: tuple) -> str:
    d = dict(var)
    if d.get("placement") == "snake":
        return " — old default: memory-packed placement, all cores on" + (
            ", barrier" if d.get("chip.timestep.mode") == "barrier" else "")
    parts = [f"{k[len('chip.'):]} = {v}" for k, v in var if k.startswith("chip.")]
    return (", " + ", ".join(parts)) if parts else ", chip's own power and timestep settings"


def uq_sections(out: Path, cfg: dict, rows: list[dict], facts: dict) -> list[str]:
    """Sensitivity, Monte Carlo, α·d side by side and the agreement checks (from the CSVs)."""
    import paper_study_uq as uq

    egru, base = cfg["egru"], cfg["baseline"]
    lines: list[str] = []
    srows = uq.read_rows(out / "sensitivity.csv") if (out / "sensitivity.csv").exists() else []
    mrows = uq.read_rows(out / "montecarlo.csv") if (out / "montecarlo.csv").exists() else []
    tor = uq.tornado(srows, egru, base)
    uq.tornado_png(tor, out / "tornado.png")
    lines += [f"## Sensitivity: {egru} / {base}, one value at a time ({cfg['tokens']} tokens, decoder on the "
              f"{cfg['decoder']})", "",
              "Each ranged chip value (`range` in `chips/*.toml`) at its low and high end, plus snake placement and "
              "the other power option. Figure: `tornado.png` (red: the value can flip the verdict, i.e. move a "
              "ratio across 1).", "",
              "| chip | parameter | values | energy ratio (base → ends) | latency ratio (base → ends) | flips |",
              "|---|---|---|---|---|---|"]
    flips = []
    for chip, ents in tor.items():
        for e in ents:
            lines.append(f"| {chip} | {e['param']} | {' / '.join(str(v) for v in e['values'])} | "
                         f"{e['base_energy']:.3f} → {' / '.join(f'{x:.3f}' for x in e['energy'])} | "
                         f"{e['base_latency']:.3f} → {' / '.join(f'{x:.3f}' for x in e['latency'])} | "
                         f"{'yes' if e['flips'] else 'no'} |")
            if e["flips"]:
                flips.append(f"{chip}: {e['param']}")
    lines += ["", "Parameters that can flip the verdict: " + (", ".join(flips) if flips else "none") + ".", ""]
    mc = uq.mc_summary(mrows, list(cfg["mc_models"]), base)
    uq.mc_png(mc, out / "montecarlo.png")
    lines += [f"## Monte Carlo: every ranged value drawn at once ({cfg['mc_samples']} samples per chip, seed "
              f"{cfg['mc_seed']})", "",
              "Figure: `montecarlo.png` (median and 90% interval of each ratio, log scale).", "",
              "| chip | model | n | ops ratio median [5%, 95%] | energy ratio median [5%, 95%] | "
              "latency ratio median [5%, 95%] |", "|---|---|---:|---|---|---|"]
    fmt = lambda q: f"{q[1]:.3f} [{q[0]:.3f}, {q[2]:.3f}]"  # noqa: E731
    for m in mc:
        lines.append(f"| {m['chip']} | {m['model']} | {m['n']} | {fmt(m['ops'])} | {fmt(m['energy'])} | "
                     f"{fmt(m['latency'])} |")
    lines += ["", f"## α·d against the measured {egru} / {base} ratios (Monte Carlo median and 90% interval)", "",
              "| chip | α·d | ops ratio | energy ratio | latency ratio |", "|---|---:|---|---|---|"]
    for m in mc:
        if m["model"] != egru:
            continue
        r = next((r for r in mrows if r["chip"] == m["chip"] and r["model"] == egru), None)
        f = facts.get(egru) or model_facts(egru)
        n = len(f["sizes"]) - 1
        act = [float(r[f"activity_L{i + 1}"]) for i in range(n)] if r else [math.nan] * n
        w = f["sizes"][1:]
        ad = sum(a * x for a, x in zip(act, w)) / sum(w) * sum(f["dens"].values()) / len(f["dens"])
        lines.append(f"| {m['chip']} | {ad:.3f} | {fmt(m['ops'])} | {fmt(m['energy'])} | {fmt(m['latency'])} |")
    lines += ["", "## Agreement checks", "",
              "| check | points | result |", "|---|---:|---|"]
    allrows = rows + srows + mrows
    nbx = sum(1 for r in allrows if r.get("bit_exact") == "1")
    lines.append(f"| bit-exact against the golden model | {len(allrows)} | {nbx} of {len(allrows)} |")
    for m in sorted({r["model"] for r in allrows}):
        hs = {r["logits_sha256"] for r in allrows if r["model"] == m and r["tokens"] == rows[0]["tokens"]}
        hs_all = {(r["tokens"], r["logits_sha256"]) for r in allrows if r["model"] == m}
        ntok = len({t for t, _ in hs_all})
        lines.append(f"| logits hash of {m} agrees across chips and variants | "
                     f"{sum(1 for r in allrows if r['model'] == m)} | "
                     f"{'yes' if len(hs_all) == ntok else 'NO'} ({len(hs_all)} distinct hash(es) over {ntok} token count(s)) |")
    lines.append("")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--config", default=str(ROOT / "validation" / "paper_study.toml"))
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--store", default=str(STORE), help="store folder; the UQ sweeps use <store>-sensitivity, -mc")
    ap.add_argument("--scheduler", default=None, help="Dask scheduler address (default: local workers)")
    args = ap.parse_args(argv)
    import tomllib

    from nmsim.sweep import export_csv, load_spec, run_sweep, write_report
    from nmsim.sweep.spec import parse_spec_text

    cfg = tomllib.loads(Path(args.config).read_text())
    out, store = Path(args.out), Path(args.store)
    out.mkdir(parents=True, exist_ok=True)
    main_spec = Path(cfg["main_spec"])
    if main_spec.is_absolute():
        spec = load_spec(main_spec)
    else:  # recorded as given (relative to the project), so reports do not name this checkout
        spec = parse_spec_text((ROOT / main_spec).read_text(encoding="utf-8"), source=str(main_spec))
    run_sweep(spec, store, workers=args.workers, scheduler=args.scheduler, progress=True)
    export_csv(store, out / "results.csv")
    write_report(store, out)  # the generic sweep report: report.md, Pareto fronts, sensitivity
    import paper_study_uq as uq

    for name, text in (("sensitivity", uq.sensitivity_spec(cfg)), ("montecarlo", uq.mc_spec(cfg))):
        (out / f"{name}.toml").write_text(text)
        st = store.parent / f"{store.name}-{name}"
        run_sweep(parse_spec_text(text, source=name), st, workers=args.workers, scheduler=args.scheduler,
                  progress=True)
        export_csv(st, out / f"{name}.csv")
    write_tables(out, cfg, store)
    print(f"wrote {out / 'README.md'}")
    return 0


def write_tables(out: Path, cfg: dict, store: Path | None = None) -> None:
    """README.md and tornado.png from the exported CSVs in ``out`` (nothing else is read,
    except the failure list of the main store when given)."""
    import paper_study_uq as uq

    rows = list(csv.DictReader(open(out / "results.csv")))
    STORE_ = store
    facts = {r["model"]: model_facts(r["model"]) for r in rows}
    lines = [
        "# Paper study: activity sparsity x weight sparsity on Loihi, Loihi 2, SpiNNaker 2 and TrueNorth",
        "",
        "Generated by `python validation/paper_study.py` from the sweep `examples/sweeps/paper.toml` "
        f"({len(rows)} points, {rows[0]['tokens'] if rows else '?'} PTB test tokens each, pipelined). "
        "Sweep report with Pareto fronts and sensitivity: `report.md` beside this file; raw rows: `results.csv`.",
        "",
        "*d* = W/R weight density (model file); *α* = measured mean activity of the recurrent layers on the chip "
        "(width-weighted; the dense LSTM sends every unit every step, α = 1); *predicted* = expected recurrent-stack "
        "operations as a fraction of the dense stack, Σ_l G·n_l·(d_W·α_{l-1}·n_{l-1} + d_R·α_l·n_l) / Σ_l G·n_l·(n_{l-1}+n_l) "
        "(α_0 = 1: the embedding row is dense). Ratios are against the dense LSTM of the same size (`ptb-lstm-small-s0`, "
        "`ptb-lstm-medium-s0`) on the same chip "
        "and decoder placement. With the decoder on the host, the chip runs the recurrent stack alone. Every model is "
        "on its own `balanced` placement (objective `latency` within a +10 % energy budget under a barrier, "
        "`energy` under a fixed tick: `docs/mapping.md`; the sensitivity part shows the budget switched off) "
        "except in the old-default rows; a variant that sets the chip's own timestep mode is "
        "the same as the one without it and is shown once.",
        "",
        "The packing of the on-chip decoder's logits into packets to the host (`noc.readout_values_per_packet`, one "
        "logit per packet in every preset) is varied in `readout-packing.md` beside this file "
        "(`python validation/paper_readout.py`).",
        "",
    ]
    for chip in sorted({r["chip"] for r in rows}):
        import paper_study_uq as uq

        chip_vars = {uq._varied(r) for r in rows if r["chip"] == chip}
        variants = sorted(v for v in chip_vars if not redundant(chip, v, chip_vars))
        for dec, var in [(d, v) for d in ("host", "chip") for v in variants]:
            sel = [r for r in rows if r["chip"] == chip and r["decoder"] == dec and uq._varied(r) == var]
            if not sel:
                continue
            by_model = {r["model"]: r for r in sel}
            label = variant_label(var)
            lines += [f"## {chip}, decoder on the {dec}{label}", "",
                      "| model | d | α | α·d | predicted stack ops | syn. ops/token | ops ratio | energy nJ/token | energy ratio "
                      "| latency µs/token | latency ratio | static % | perplexity | bit-exact |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
            for r in sorted(sel, key=lambda r: r["model"]):
                f = facts[r["model"]]
                n_layers = len(f["sizes"]) - 1
                act = [float(r[f"activity_L{i + 1}"]) for i in range(n_layers)]
                if f["kind"] != "egru":
                    act = [1.0] * n_layers
                w = f["sizes"][1:]
                alpha = sum(a * n for a, n in zip(act, w)) / sum(w)
                d = sum(f["dens"].values()) / len(f["dens"])
                pred = predicted_stack_fraction(f, act)
                ops, en, lat = (float(r["synaptic_ops_per_token"]), float(r["energy_per_token_nj"]),
                                float(r["latency_per_token_us"]))
                base = by_model.get(baseline_of(r["model"]))
                ratio = (lambda v, k: f"{v / float(base[k]):.3f}") if base else (lambda v, k: "–")  # no baseline
                lines.append(
                    f"| {r['model']} | {d:.3f} | {alpha:.3f} | {alpha * d:.3f} | {pred:.3f} | {ops:,.0f} | "
                    f"{ratio(ops, 'synaptic_ops_per_token')} | {en:,.0f} | {ratio(en, 'energy_per_token_nj')} | "
                    f"{lat:.1f} | {ratio(lat, 'latency_per_token_us')} | {100 * float(r['static_energy_fraction']):.0f} | "
                    f"{float(r['perplexity']):.2f} | "
                    f"{'yes' if r['bit_exact'] == '1' else 'NO'} |")
            lines.append("")
    import json
    import sqlite3

    failed = []
    if STORE_ is not None and (STORE_ / "results.sqlite").exists():
        con = sqlite3.connect(STORE_ / "results.sqlite")
        failed = sorted(((json.loads(c)["params"], e) for c, e in con.execute("SELECT config, error FROM failures")),
                        key=lambda pe: json.dumps(pe[0], sort_keys=True))
        con.close()
    if failed:
        lines += ["## Points that did not fit", ""]
        lines += [f"- {p['model']} on {p['chip']}, decoder on the {p['decoder']}: {e}" for p, e in failed]
        lines.append("")
    lines += uq_sections(out, cfg, rows, facts)
    fl = floors(rows, facts, (cfg["egru"], cfg["baseline"]) + tuple(m for p in cfg.get("more_pairs", ()) for m in p))
    lines += floor_lines(fl)
    lines += ["## Reading", ""] + reading(rows, facts, fl, cfg["egru"], cfg["baseline"], cfg.get("more_pairs", ()))
    lines += ["", "## Model sizes", "",
              "The paper-size EGRU (embedding 750, layers 1350/1350/750; `shared/reference/egru-lm.md`) needs an "
              "accelerator to train, and none was lent to the sessions that built this study, so it is missing. "
              "In its place is a medium pair trained on CPU (`workloads/reproduce.sh`): `ptb-egru-medium-s90` and "
              "`ptb-lstm-medium-s0`, embedding 400, layers 512/512/400, 400 batches of 64 x 35 tokens each (about a "
              "third of an epoch, one CPU thread, about 25 minutes), the EGRU pruned to 90% during training, so "
              "their perplexities are far from converged. The medium LSTM does not fit SpiNNaker 2's synapse memory, "
              "nor Loihi or Loihi 2 with the decoder on the chip, and the medium EGRU does not fit SpiNNaker 2 with "
              "the decoder on the chip (the failures list), so the medium pair is compared on Loihi and Loihi 2 with "
              "the decoder on the host. The other "
              "models are `small` (embedding 200, layers 256/256/200)."]
    (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
