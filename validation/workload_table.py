"""Generate validation/workload.md: one row per shipped language model.

For every model file in ``workloads/models`` the golden integer reference is
run over the test split (from zero state, continuous stream) and the table
reports: float test perplexity (recorded at export, batch-1 continuous
stream), integer (golden) test perplexity and its relative difference,
per-layer activity, synaptic operations per token (real masks and events),
the dense count and the reduction, the "ideal" reduction
1 / (activity x weight density), and the golden-vs-float argmax agreement.
Per-model JSON (the output of ``nmsim lm eval --json``) goes to
``validation/lm-eval/<model>.json``.

Usage::

    python validation/workload_table.py [--jobs 2] [--tokens N] [MODEL ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nmsim.lm.modelfile import load_model  # noqa: E402
from nmsim.paths import models_dir  # noqa: E402

ORDER = ["ptb-egru-small-s0", "ptb-egru-small-s50", "ptb-egru-small-s80", "ptb-egru-small-s90", "ptb-egru-small-s95", "ptb-egru-small-s80-emb",
         "ptb-lstm-small-s0",
         "ptb-lstm-small-s80", "wt2-egru-small-s80", "ptb-egru-tiny"]


def run_eval(path: Path, tokens: int | None) -> dict:
    rel = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    cmd = [sys.executable, "-m", "nmsim", "lm", "eval", str(rel), "--json"]
    if tokens:
        cmd += ["--tokens", str(tokens)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out)


def weight_density(mf) -> float:
    """Nonzero fraction of all recurrent-stack weights (W and R of every layer)."""
    nnz = tot = 0
    sizes = [mf.arch["emb"]] + list(mf.arch["hidden"])
    G = mf.arch["gates"]
    for i in range(len(mf.arch["hidden"])):
        for m, n_src in (("W", sizes[i]), ("R", sizes[i + 1])):
            nnz += len(mf.arrays[f"l{i}.{m}.data"])
            tot += G * sizes[i + 1] * n_src
    return nnz / tot


def expected_stack_ops(mf, activity) -> float:
    """Reference section 6: sum_l G n_l (d_W alpha_{l-1} n_{l-1} + d_R alpha_l n_l).

    alpha_0 (layer-1 input) = nonzero fraction of the integer embedding (1 for a dense one).
    """
    sizes = [mf.arch["emb"]] + list(mf.arch["hidden"])
    G = mf.arch["gates"]
    alphas = [1.0 - mf.sparsity.get("embedding", 0.0)] + list(activity)
    tot = 0.0
    for i in range(len(sizes) - 1):
        dW = len(mf.arrays[f"l{i}.W.data"]) / (G * sizes[i + 1] * sizes[i])
        dR = len(mf.arrays[f"l{i}.R.data"]) / (G * sizes[i + 1] * sizes[i + 1])
        tot += G * sizes[i + 1] * (dW * alphas[i] * sizes[i] + dR * alphas[i + 1] * sizes[i + 1])
    return tot


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=0, help="limit test tokens (default: all)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse validation/lm-eval/<model>.json when model sha256 and tokens match")
    ap.add_argument("--wt2-tokens", type=int, default=0, help="limit WikiText-2 test tokens")
    a = ap.parse_args(argv)
    paths = [Path(m) for m in a.models] or sorted(
        models_dir().glob("*.nmm"), key=lambda p: ORDER.index(p.stem) if p.stem in ORDER else 99)
    outdir = ROOT / "validation" / "lm-eval"
    outdir.mkdir(parents=True, exist_ok=True)

    def job(p):
        mf = load_model(p)
        n = a.tokens or None
        if mf.provenance.get("dataset") == "wikitext-2" and a.wt2_tokens:
            n = a.wt2_tokens
        ftoks = mf.provenance["float_metrics"]["test_tokens"]
        if n is None and ftoks:
            n = ftoks          # same token set as the recorded float perplexity
        cache = outdir / f"{p.stem}.json"
        if a.reuse and cache.is_file():
            r = json.loads(cache.read_text())
            if r.get("sha256") == mf.sha256 and r.get("tokens") == n:
                return p, mf, r
        r = run_eval(p, n)
        (outdir / f"{p.stem}.json").write_text(json.dumps(r, indent=1, sort_keys=True) + "\n")
        return p, mf, r

    with ThreadPoolExecutor(a.jobs) as ex:
        results = list(ex.map(job, paths))

    rows = []
    for p, mf, r in results:
        fm = mf.provenance["float_metrics"]
        fp, ip = r["float_perplexity"], r["int_perplexity"]
        d = weight_density(mf)
        widths = mf.arch["hidden"]
        alpha = sum(x * w for x, w in zip(r["activity"], widths)) / sum(widths)
        ideal = 1.0 / (alpha * d)
        same_tokens = fm["test_tokens"] == r["tokens"]
        rows.append({
            "model": p.stem, "kind": mf.arch["kind"], "dataset": mf.provenance["dataset"],
            "sparsity": mf.provenance["sparsity_target"], "density": d,
            "tokens": r["tokens"], "same_tokens": same_tokens,
            "float_ppl": fp, "int_ppl": ip, "rel": (ip - fp) / fp,
            "activity": r["activity"], "alpha": alpha,
            "ops": r["synaptic_ops_per_token"], "dense": r["dense_ops_per_token"],
            "reduction": r["reduction"], "ideal": ideal,
            "agree": r.get("argmax_agreement"), "agree_n": r.get("argmax_agreement_tokens"),
            "stack_ops": sum(r["synaptic_ops_per_layer"]),
            "stack_dense": sum(r["dense_ops_per_layer"]),
            "stack_expected": expected_stack_ops(mf, r["activity"]),
            "dec_ops": r["decoder_ops_per_token"],
            "bytes": p.stat().st_size,
            "emb_sparsity": mf.sparsity.get("embedding", 0.0), "valid_ppl": fm["valid_perplexity"],
            "float_activity": fm["activity"],
        })

    L = []
    L.append("# Language-model workload: shipped models\n")
    L.append("Generated by `python validation/workload_table.py` from the model files in "
             "`workloads/models/` (do not edit by hand). Integer figures are recomputed by the "
             "NumPy golden reference (`nmsim lm eval`); float figures were measured at export "
             "on the same test tokens (batch 1, one continuous stream from zero state, c and y "
             "carried across windows). Per-model JSON: `validation/lm-eval/`.\n")
    L.append("| model | weight sparsity | float test ppl | int (golden) test ppl | int vs float | "
             "activity per layer | synaptic ops / token | dense ops / token | reduction | "
             "1/(α·d) | argmax agreement |")
    L.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for x in rows:
        act = " / ".join(f"{v:.3f}" for v in x["activity"])
        mark = "" if x["same_tokens"] else " †"
        L.append(f"| {x['model']} | {x['sparsity']:.0%} | {x['float_ppl']:.2f}{mark} | {x['int_ppl']:.2f} | "
                 f"{x['rel']:+.2%}{mark} | {act} | {x['ops']:,.0f} | {x['dense']:,} | "
                 f"{x['reduction']:.2f}x | {x['ideal']:.2f}x | "
                 + (f"{x['agree']:.2%} ({x['agree_n']})" if x["agree"] is not None else "n/a") + " |")
    L.append("")
    L.append("Columns: *weight sparsity* is the pruning target of the W and R matrices (the "
             "tied embedding/decoder is dense except in `-emb` models, where it is pruned to the "
             "same target); *activity* is the fraction of (unit, token) "
             "pairs with a non-zero integer output (an event); *synaptic ops* count one per "
             "non-zero weight reached by an event (layer-1 input = the token's embedding row, "
             "plus the tied decoder driven by the last layer's events); *dense ops* = "
             "G·n_l·(n_{l-1}+n_l) per layer + V·E for the decoder; *reduction* = dense / "
             "synaptic; *1/(α·d)* uses the unit-weighted mean activity α and the W/R weight "
             "density d (it ignores the dense layer-1 input and the dense decoder, which "
             "dilute the measured reduction); *argmax agreement* compares the golden "
             "reference's most likely next token with the float model's on the first test "
             "tokens. † marks rows where the integer model was evaluated on fewer tokens "
             "than the recorded float figure (not comparable).\n")
    L.append("Recurrent stack only (W and R of all layers, decoder excluded): measured synaptic "
             "ops vs the reference's expectation Σ_l G·n_l·(d_W·α_{l-1}·n_{l-1} + d_R·α_l·n_l) "
             "with α_0 = nonzero fraction of the integer embedding (layer-1 input is the token's embedding row; ≈1 unless the embedding is pruned), and the reduction "
             "against the dense stack count.\n")
    L.append("| model | stack ops / token | expected | dense stack ops | stack reduction | 1/(α·d) | decoder ops / token (dense V·E) |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for x in rows:
        L.append(f"| {x['model']} | {x['stack_ops']:,.0f} | {x['stack_expected']:,.0f} | "
                 f"{x['stack_dense']:,} | {x['stack_dense'] / x['stack_ops']:.2f}x | {x['ideal']:.2f}x | "
                 f"{x['dec_ops']:,.0f} ({x['dense'] - x['stack_dense']:,}) |")
    L.append("")
    L.append("| model | tokens evaluated | float valid ppl | float activity (export) | W/R density | embedding sparsity | file size |")
    L.append("|---|---:|---:|---|---:|---:|---:|")
    for x in rows:
        fa = " / ".join(f"{v:.3f}" for v in x["float_activity"])
        L.append(f"| {x['model']} | {x['tokens']:,} | {x['valid_ppl']:.2f} | {fa} | "
                 f"{x['density']:.3f} | {x['emb_sparsity']:.1%} | {x['bytes'] / 1e6:.2f} MB |")
    L.append("")
    checks = []
    for x in rows:
        if x["model"].endswith("tiny"):
            continue
        ok = abs(x["rel"]) <= 0.02
        checks.append(f"- {x['model']}: integer perplexity within 2% of float: "
                      f"{'yes' if ok else 'NO'} ({x['rel']:+.2%}).")
    byname = {x["model"]: x for x in rows}
    if "ptb-egru-small-s0" in byname:
        fp = byname["ptb-egru-small-s0"]["float_ppl"]
        checks.append(f"- Dense small EGRU PTB test perplexity: {fp:.2f} "
                      f"({'meets' if fp <= 150 else 'does NOT meet'} the <= 150 target).")
    for s in ("s80",):
        e, l_ = byname.get(f"ptb-egru-small-{s}"), byname.get(f"ptb-lstm-small-{s}")
        if e and l_:
            checks.append(f"- At {s[1:]}% weight sparsity the EGRU's reduction is "
                          f"{e['reduction']:.2f}x vs the LSTM's {l_['reduction']:.2f}x "
                          f"({e['reduction'] / l_['reduction']:.2f} times larger); recurrent "
                          f"stack only: {e['stack_dense'] / e['stack_ops']:.2f}x vs "
                          f"{l_['stack_dense'] / l_['stack_ops']:.2f}x.")
    L.append("## Checks\n")
    L.extend(checks)
    L.append("")
    (ROOT / "validation" / "workload.md").write_text("\n".join(L))
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
