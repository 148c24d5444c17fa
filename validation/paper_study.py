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


def reading(rows: list[dict], facts: dict) -> list[str]:
    """The study's conclusion, with its numbers taken from the rows (decoder on the host: the stack alone)."""
    out = []
    import paper_study_uq as uq

    for chip, var in sorted({(r["chip"], uq._varied(r)) for r in rows}):
        sel = {r["model"]: r for r in rows if r["chip"] == chip and r["decoder"] == "host" and uq._varied(r) == var}
        b, e = sel.get("ptb-lstm-small-s0"), sel.get("ptb-egru-small-s90")
        if not (b and e):
            continue
        f = lambda r, k: float(r[k])  # noqa: E731
        ops = f(e, "synaptic_ops_per_token") / f(b, "synaptic_ops_per_token")
        en = f(e, "energy_per_token_nj") / f(b, "energy_per_token_nj")
        lat = f(e, "latency_per_token_us") / f(b, "latency_per_token_us")
        st = f(e, "static_energy_fraction")
        verdict = ("composes multiplicatively in operations only" if en > 2 * ops and lat > 2 * ops
                   else "carries most of the operation saving into energy" if en <= 2 * ops else "mixed")
        out.append(
            f"- **{chip}**{variant_label(var)} (decoder on the host, table above): EGRU 90% / LSTM ratios are "
            f"{ops:.3f} in operations, {en:.3f} in energy and {lat:.3f} in latency; static power is "
            f"{100 * st:.0f}% of the EGRU's energy. Verdict: sparsity {verdict} (rule: energy or latency ratio "
            f"within 2x of the operations ratio counts as multiplicative).")
    out += ["",
            "Mechanisms (prose carried from the first study, not regenerated; the per-chip lines above are the "
            "generated verdicts, and the floor is the *static %* column plus the sensitivity rows for the "
            "barrier, placement and power): activity and weight sparsity compose multiplicatively in operation counts (the *ops ratio* follows "
            "*α·d* and the *predicted* column), and the synapse energy follows them exactly, since it is counts x a "
            "per-operation cost. They do **not** compose multiplicatively in total energy or latency on either "
            "chip. Each timestep still pays static power on every core for its whole duration, its length is set by "
            "the busiest core rather than by the total work (the cores that hold layer 1 also take the dense "
            "embedding input every token), it updates every neuron and pays the barrier, and with the decoder on the chip it reads "
            "out 10,000 logits per token. Those costs set a floor that sparsity does not lower. Pruning also "
            "raises the EGRU's activity (the thresholds are learned), which takes back part of the gain. With the "
            "decoder on the chip, the dense tied decoder (10,000 x E synapses driven by the last layer's events) "
            "dominates the operations of every model. The SpiNNaker 2 preset's per-action energies are an upper "
            "bound derived from chip power, so read its energy column for its shape, not its absolute values "
            "(`chips/spinnaker2.toml`)."]
    return out


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
    lines += [f"## Monte Carlo: every ranged value drawn at once ({cfg['mc_samples']} samples per chip, seed "
              f"{cfg['mc_seed']})", "",
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
    spec = load_spec(ROOT / cfg["main_spec"])
    run_sweep(spec, store, workers=args.workers, scheduler=args.scheduler, progress=True)
    export_csv(store, out / "results.csv")
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
        "# Paper study: activity sparsity x weight sparsity on Loihi and SpiNNaker 2",
        "",
        "Generated by `python validation/paper_study.py` from the sweep `examples/sweeps/paper.toml` "
        f"({len(rows)} points, {rows[0]['tokens'] if rows else '?'} PTB test tokens each, pipelined). "
        "Sweep report with Pareto fronts and sensitivity: `report.md` beside this file; raw rows: `results.csv`.",
        "",
        "*d* = W/R weight density (model file); *α* = measured mean activity of the recurrent layers on the chip "
        "(width-weighted; the dense LSTM sends every unit every step, α = 1); *predicted* = expected recurrent-stack "
        "operations as a fraction of the dense stack, Σ_l G·n_l·(d_W·α_{l-1}·n_{l-1} + d_R·α_l·n_l) / Σ_l G·n_l·(n_{l-1}+n_l) "
        "(α_0 = 1: the embedding row is dense). Ratios are against the dense LSTM (`ptb-lstm-small-s0`) on the same chip "
        "and decoder placement. With the decoder on the host, the chip runs the recurrent stack alone.",
        "",
    ]
    for chip in sorted({r["chip"] for r in rows}):
        import paper_study_uq as uq

        variants = sorted({uq._varied(r) for r in rows if r["chip"] == chip})
        for dec, var in [(d, v) for d in ("host", "chip") for v in variants]:
            sel = [r for r in rows if r["chip"] == chip and r["decoder"] == dec and uq._varied(r) == var]
            if not sel:
                continue
            base = next((r for r in sel if r["model"] == "ptb-lstm-small-s0"), None)
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
                rb = (lambda k: float(base[k])) if base else (lambda k: float("nan"))
                lines.append(
                    f"| {r['model']} | {d:.3f} | {alpha:.3f} | {alpha * d:.3f} | {pred:.3f} | {ops:,.0f} | "
                    f"{ops / rb('synaptic_ops_per_token'):.3f} | {en:,.0f} | {en / rb('energy_per_token_nj'):.3f} | "
                    f"{lat:.1f} | {lat / rb('latency_per_token_us'):.3f} | {100 * float(r['static_energy_fraction']):.0f} | "
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
    lines += ["## Reading", ""] + reading(rows, facts)
    (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
