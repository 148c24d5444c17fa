"""Export a trained checkpoint to the self-describing integer model file (.nmm).

Records in the file: architecture, vocabulary, number formats and scales,
sparsity per matrix, training provenance, the float model's metrics
(valid/test perplexity, activity, synaptic ops -- measured at export), the
integer logits of the first test tokens (for the export -> load -> golden
test) and the float model's argmax on the first test tokens (for the
argmax-agreement check).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nmsim.lm.data import bptt_windows, load_corpus
from nmsim.lm.golden import GoldenModel
from nmsim.lm.metrics import dense_ops_per_token
from nmsim.lm.modelfile import FORMAT_VERSION, dumps, loads, save_model
from workloads.model import LanguageModel, ModelConfig
from workloads.quantize import make_formats, params_from_model, quantize
from workloads.train import evaluate, provenance_of

REF_LOGIT_TOKENS = 8      # full int32 logits stored for this many test tokens
REF_DIGEST_TOKENS = 64    # sha256 of the logits of this many test tokens
AGREE_TOKENS = 2000       # float argmax stored for this many test tokens


def load_checkpoint(path) -> tuple[LanguageModel, dict]:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = ModelConfig.from_dict(ck["model_config"])
    model = LanguageModel(cfg)
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


@torch.no_grad()
def evaluate_stream(model: LanguageModel, tokens: np.ndarray, bptt: int = 70,
                    argmax_n: int = 0) -> dict:
    """Batch-1 continuous evaluation (what the golden reference replays).

    Returns perplexity, per-layer activity, synaptic ops per token counted
    from the float model's nonzero weights and events, and the argmax of
    the first ``argmax_n`` positions.
    """
    model.eval()
    src = torch.from_numpy(np.asarray(tokens, np.int64)).view(-1, 1)
    state = model.init_state(1)
    nL = len(model.layers)
    wnnz = [(L.W != 0).sum(0).double() for L in model.layers]   # per source column
    rnnz = [(L.R != 0).sum(0).double() for L in model.layers]
    enz = (model.embedding.weight != 0)
    dec_nnz = enz.sum(0).double()
    act = np.zeros(nL)
    ops = np.zeros(nL)
    dec_ops = 0.0
    nll, n = 0.0, 0
    am = []
    prev_y = [torch.zeros(L.n_h, dtype=torch.float64) for L in model.layers]
    for start, L_ in bptt_windows(src.shape[0] + 1, bptt, None):
        inp = src[start:start + L_]
        if len(inp) == 0:
            break
        tgt = src[start + 1:start + 1 + L_]
        logits, state, outs = model(inp, state, return_outputs=True)
        m = len(tgt)
        if m:
            nll += F.cross_entropy(logits[:m].reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                   reduction="sum").item()
            n += m
        if len(am) * 1 < argmax_n:
            am.extend(logits[:, 0].argmax(-1).tolist())
        x_nz = (F.embedding(inp, model.embedding.weight)[:, 0] != 0).double()
        for i, o in enumerate(outs):
            o = o[:, 0]
            nz = (o != 0).double()
            act[i] += nz.sum().item()
            yprev = torch.cat([prev_y[i].view(1, -1), nz[:-1]], 0)
            ops[i] += (x_nz @ wnnz[i]).sum().item() + (yprev @ rnnz[i]).sum().item()
            prev_y[i] = nz[-1]
            x_nz = nz
        dec_ops += (x_nz @ dec_nnz).sum().item()
    N = len(tokens)
    widths = [L.n_h for L in model.layers]
    return {"ppl": math.exp(nll / max(n, 1)), "predictions": n, "tokens": N,
            "activity": (act / N / np.array(widths)).tolist(),
            "mean_activity": float(act.sum() / N / sum(widths)),
            "synaptic_ops_per_token": float((ops.sum() + dec_ops) / N),
            "synaptic_ops_per_layer": (ops / N).tolist(),
            "decoder_ops_per_token": dec_ops / N,
            "argmax": np.asarray(am[:argmax_n], np.int64)}


def export(checkpoint, out, weight_bits: int = 8, payload_bits: int = 8, state_bits: int = 16,
           test_tokens: int = 0, name: str = "", verbose: bool = True) -> dict:
    model, ck = load_checkpoint(checkpoint)
    cfg: ModelConfig = model.cfg
    tc = ck["train_config"]
    corpus = load_corpus(tc["dataset"])
    test = corpus.test[:test_tokens] if test_tokens else corpus.test
    say = print if verbose else (lambda *a, **k: None)
    say(f"[export] float evaluation of {checkpoint} ...", flush=True)
    valid = evaluate(model, corpus.valid, 10, 70, max_tokens=test_tokens)
    fl = evaluate_stream(model, test, 70, AGREE_TOKENS)
    say(f"[export] float valid ppl {valid['ppl']:.2f}  test ppl {fl['ppl']:.2f}  "
        f"activity {[round(a, 4) for a in fl['activity']]}", flush=True)

    formats = make_formats(cfg.kind, weight_bits, payload_bits, state_bits)
    arrays, info = quantize(params_from_model(model), cfg.kind, formats)
    formats["logit_scale"] = info["logit_scale"]
    formats["emb_scale"] = info["scales"]["emb"]
    arch = {"kind": cfg.kind, "vocab_size": cfg.vocab_size, "emb": cfg.emb,
            "hidden": list(cfg.hidden), "gates": 4 if cfg.kind == "lstm" else 3, "n_acc": 4,
            "tied_decoder": True}
    prov_chain = []
    p = provenance_of(ck)
    while p:
        prov_chain.append({k: v for k, v in p.items() if k != "init"})
        p = p.get("init")
    sparsity_target = tc.get("prune_target", 0.0)
    for q in prov_chain:
        sparsity_target = max(sparsity_target, q["train"].get("prune_target", 0.0))
    header = {
        "format": "nmsim-lm",
        "format_version": FORMAT_VERSION,
        "name": name or Path(out).stem,
        "arch": arch,
        "vocab": corpus.vocab.itos,
        "formats": formats,
        "scales": info["scales"],
        "sparsity": info["sparsity"],
        "provenance": {
            "dataset": tc["dataset"],
            "preset": tc["preset"],
            "kind": cfg.kind,
            "seed": tc["seed"],
            "model_config": cfg.to_dict(),
            "sparsity_target": sparsity_target,
            "prune_embedding": bool(tc.get("prune_embedding", False)),
            "stages": prov_chain[::-1],   # dense training first, then fine-tunes
            "best_epoch": ck.get("epoch"),
            "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()
                         if k != "epoch_s"} for h in (ck.get("history") or [])],
            "float_metrics": {
                "recorded_at": "export",
                "valid_perplexity": round(valid["ppl"], 4),
                "valid_eval": "batch 10, 70-token windows, state carried"
                              + (f", first {test_tokens} tokens" if test_tokens else ""),
                "test_perplexity": round(fl["ppl"], 4),
                "test_eval": "batch 1, continuous stream from zero state",
                "test_tokens": fl["tokens"],
                "activity": [round(a, 6) for a in fl["activity"]],
                "mean_activity": round(fl["mean_activity"], 6),
                "synaptic_ops_per_token": round(fl["synaptic_ops_per_token"], 2),
                "synaptic_ops_per_layer": [round(x, 2) for x in fl["synaptic_ops_per_layer"]],
                "decoder_ops_per_token": round(fl["decoder_ops_per_token"], 2),
                "dense_ops_per_token": dense_ops_per_token(arch),
            },
        },
    }
    # golden run on the first test tokens through an in-memory round trip
    tmp = loads(dumps(header, arrays), "<export>")
    g = GoldenModel(tmp)
    n_ref = max(REF_DIGEST_TOKENS, len(fl["argmax"]))
    ref_tokens = corpus.test[:n_ref]
    r = g.run(ref_tokens, return_logits=True)
    lg = r["logits"]
    agree = float(np.mean(r["argmax"][:len(fl["argmax"])] == fl["argmax"]))
    arrays["ref.tokens"] = corpus.test[:REF_DIGEST_TOKENS].astype(np.int32)
    arrays["ref.logits"] = lg[:REF_LOGIT_TOKENS].astype(np.int32)
    arrays["ref.float_argmax"] = fl["argmax"].astype(np.int32)
    header["reference"] = {
        "tokens": "first test tokens (ref.tokens), golden run from zero state",
        "logits_tokens": REF_LOGIT_TOKENS,
        "digest_tokens": REF_DIGEST_TOKENS,
        "logits_sha256": hashlib.sha256(
            np.ascontiguousarray(lg[:REF_DIGEST_TOKENS].astype("<i4")).tobytes()).hexdigest(),
        "float_argmax_tokens": len(fl["argmax"]),
        "argmax_agreement": round(agree, 6),
    }
    sha = save_model(out, header, arrays)
    size = Path(out).stat().st_size
    say(f"[export] wrote {out} ({size / 1e6:.2f} MB, sha256 {sha[:16]}...), "
        f"argmax agreement on {len(fl['argmax'])} test tokens: {agree:.4f}", flush=True)
    return {"path": str(out), "bytes": size, "sha256": sha, "float": fl, "valid": valid,
            "argmax_agreement": agree}


def build_parser(p=None):
    p = p or argparse.ArgumentParser(description="export a checkpoint to an .nmm model file")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--weight-bits", type=int, default=8)
    p.add_argument("--payload-bits", type=int, default=8)
    p.add_argument("--state-bits", type=int, default=16)
    p.add_argument("--test-tokens", type=int, default=0, help="limit float test evaluation")
    p.add_argument("--threads", type=int, default=1)
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    torch.set_num_threads(a.threads)
    export(a.checkpoint, a.out, a.weight_bits, a.payload_bits, a.state_bits, a.test_tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
