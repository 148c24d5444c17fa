"""Training and fine-tuning (with gradual pruning) of the language models.

Recipe (a scaled-down version of the EvNN LM recipe, see workloads/README.md):
AdamW, cosine learning-rate decay to zero over the run, lr scaled by
seq_len / bptt for variable-length BPTT windows, global gradient-norm clip,
locked dropouts, state (c and y) carried across windows.  Deterministic for a
given seed and thread count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nmsim.lm.data import batchify, bptt_windows, canonical_name, load_corpus
from workloads.model import LanguageModel, ModelConfig, detach_state, preset_config
from workloads.prune import GradualPruner

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


@dataclass
class TrainConfig:
    dataset: str = "ptb"
    kind: str = "egru"
    preset: str = "small"
    epochs: int = 10
    batch_size: int = 64
    bptt: int = 35
    lr: float = 3e-3
    lr_final: float = 0.0
    weight_decay: float = 0.01
    betas: tuple = (0.9, 0.999)
    clip: float = 0.5
    seed: int = 1234
    learn_thresholds: bool = False
    eval_batch_size: int = 10
    train_tokens: int = 0          # >0: use only the first N training tokens (tests)
    valid_tokens: int = 0          # >0: validate on the first N tokens only
    max_batches: int = 0           # >0: stop each epoch after N batches (tests)
    init: str = ""                 # checkpoint to start from (fine-tuning)
    prune_target: float = 0.0
    prune_start_frac: float = 0.0  # fraction of total steps where pruning starts
    prune_end_frac: float = 0.6    # ... and reaches its target
    prune_freq: int = 25
    prune_embedding: bool = False
    unigram_bias: bool = False     # init decoder bias to log unigram frequencies
    stop_after: int = 0            # >0: stop after this many epochs (schedule still spans `epochs`)
    model_overrides: dict = field(default_factory=dict)

    def to_dict(self):
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d


def evaluate(model: LanguageModel, data: np.ndarray, batch_size: int = 10, bptt: int = 70,
             max_tokens: int = 0) -> dict:
    """Loss / perplexity / per-layer activity of ``data`` (continuous state)."""
    model.eval()
    if max_tokens:
        data = data[:max_tokens]
    src = torch.from_numpy(batchify(data, batch_size))
    state = model.init_state(batch_size)
    tot_loss, n_tok = 0.0, 0
    n_layers = len(model.layers)
    act_nz = [0] * n_layers
    act_n = [0] * n_layers
    with torch.no_grad():
        for start, L in bptt_windows(src.shape[0], bptt, None):
            inp = src[start:start + L]
            tgt = src[start + 1:start + 1 + L]
            logits, state, outs = model(inp, state, return_outputs=True)
            tot_loss += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                        reduction="sum").item()
            n_tok += tgt.numel()
            for i, o in enumerate(outs):
                act_nz[i] += int((o != 0).sum())
                act_n[i] += o.numel()
    loss = tot_loss / max(n_tok, 1)
    return {"loss": loss, "ppl": math.exp(loss), "tokens": n_tok,
            "activity": [a / max(n, 1) for a, n in zip(act_nz, act_n)],
            "mean_activity": sum(act_nz) / max(sum(act_n), 1)}


def provenance_of(ck: dict | None) -> dict | None:
    """Training provenance of a checkpoint (synthesized if the run was stopped early)."""
    if not ck:
        return None
    if ck.get("provenance"):
        return ck["provenance"]
    hist = ck.get("history") or []
    return {"init": ck.get("init"), "train": ck.get("train_config"),
            "epochs_run": len(hist), "best_epoch": ck.get("epoch")}


def _log(msg: str, logf=None):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if logf:
        logf.write(line + "\n")
        logf.flush()


def train(tc: TrainConfig, out: Path | None = None, log_path: Path | None = None,
          verbose: bool = True) -> dict:
    """Train (or fine-tune/prune) a model; returns the best checkpoint dict."""
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    corpus = load_corpus(tc.dataset)
    V = len(corpus.vocab)
    init_ck = None
    if tc.init:
        init_ck = torch.load(tc.init, map_location="cpu", weights_only=False)
        cfg = ModelConfig.from_dict(init_ck["model_config"])
    else:
        cfg = preset_config(tc.preset, tc.kind, V, **tc.model_overrides)
    model = LanguageModel(cfg, seed=tc.seed)
    if init_ck:
        model.load_state_dict(init_ck["state_dict"])
    elif tc.unigram_bias:
        counts = np.bincount(corpus.train, minlength=V).astype(np.float64) + 1.0
        with torch.no_grad():
            model.dec_bias.copy_(torch.from_numpy(np.log(counts / counts.sum())).float())
    train_data = corpus.train[:tc.train_tokens] if tc.train_tokens else corpus.train
    src = torch.from_numpy(batchify(train_data, tc.batch_size))
    # estimate number of optimizer steps (mean window ~ bptt)
    steps_per_epoch = max(1, (src.shape[0] - 1) // tc.bptt)
    if tc.max_batches:
        steps_per_epoch = min(steps_per_epoch, tc.max_batches)
    total_steps = steps_per_epoch * tc.epochs

    thr_params = [p for n, p in model.named_parameters() if n.endswith(".thr")]
    other = [p for n, p in model.named_parameters() if not n.endswith(".thr")]
    groups = [{"params": other, "weight_decay": tc.weight_decay}]
    if thr_params:
        groups.append({"params": thr_params, "weight_decay": 0.0,
                       "lr_scale": 1.0 if tc.learn_thresholds else 0.0})
    opt = torch.optim.AdamW(groups, lr=tc.lr, betas=tuple(tc.betas), weight_decay=tc.weight_decay)
    if not tc.learn_thresholds:
        for p in thr_params:
            p.requires_grad_(False)

    pruner = None
    masks0 = init_ck.get("masks") if init_ck else None
    if tc.prune_target > 0 or masks0:
        pruner = GradualPruner(model, tc.prune_target, int(tc.prune_start_frac * total_steps),
                               int((tc.prune_end_frac - tc.prune_start_frac) * total_steps),
                               freq=tc.prune_freq, include_embedding=tc.prune_embedding,
                               masks=masks0)
        pruner.apply()

    logf = open(log_path, "a") if log_path else None
    say = (lambda m: _log(m, logf)) if verbose else (lambda m: None)
    say(f"config {json.dumps(tc.to_dict())}")
    say(f"model {json.dumps(cfg.to_dict())} params={sum(p.numel() for p in model.parameters())}")
    best = None
    history = []
    step = 0
    t_start = time.time()
    for epoch in range(1, tc.epochs + 1):
        if tc.stop_after and epoch > tc.stop_after:
            say(f"stopping after epoch {tc.stop_after} (--stop-after)")
            break
        model.train()
        state = model.init_state(tc.batch_size)
        t0 = time.time()
        tot, ntok, nb = 0.0, 0, 0
        for start, L in bptt_windows(src.shape[0], tc.bptt, rng):
            if tc.max_batches and nb >= tc.max_batches:
                break
            frac = min(step / max(total_steps, 1), 1.0)
            lr = tc.lr_final + 0.5 * (tc.lr - tc.lr_final) * (1 + math.cos(math.pi * frac))
            for g in opt.param_groups:
                g["lr"] = lr * L / tc.bptt * g.get("lr_scale", 1.0)
            inp = src[start:start + L]
            tgt = src[start + 1:start + 1 + L]
            state = detach_state(state)
            logits, state = model(inp, state)
            loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
            opt.step()
            if pruner:
                pruner.update(step)
                pruner.apply()
            step += 1
            nb += 1
            tot += loss.item() * tgt.numel()
            ntok += tgt.numel()
            if verbose and nb % 100 == 0:
                say(f"epoch {epoch} batch {nb} loss {tot / ntok:.3f} ppl {math.exp(tot / ntok):.1f} "
                    f"lr {lr:.2e} {(time.time() - t0) / nb:.3f}s/batch"
                    + (f" sparsity {pruner.current:.3f}" if pruner else ""))
        ev = evaluate(model, corpus.valid, tc.eval_batch_size, 70, tc.valid_tokens)
        rec = {"epoch": epoch, "train_loss": tot / max(ntok, 1), "valid_ppl": ev["ppl"],
               "valid_activity": ev["activity"], "epoch_s": time.time() - t0,
               "sparsity": pruner.current if pruner else 0.0}
        history.append(rec)
        say(f"epoch {epoch} done train_ppl {math.exp(rec['train_loss']):.1f} valid_ppl {ev['ppl']:.2f} "
            f"activity {[round(a, 3) for a in ev['activity']]} {rec['epoch_s']:.0f}s"
            + (f" sparsity {pruner.current:.3f}" if pruner else ""))
        at_target = (pruner is None) or pruner.current >= tc.prune_target - 1e-9
        if at_target and (best is None or ev["ppl"] < best["valid_ppl"]):
            best = {
                "model_config": cfg.to_dict(),
                "train_config": tc.to_dict(),
                "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "masks": {k: m.clone() for k, m in pruner.masks.items()} if pruner else None,
                "epoch": epoch, "valid_ppl": ev["ppl"], "history": None,
                "init": provenance_of(init_ck),
            }
            if out:
                best["history"] = history
                torch.save(best, out)
                say(f"saved {out} (epoch {epoch}, valid ppl {ev['ppl']:.2f})")
    if best is None:  # pruning never reached target (tiny runs): keep the last state
        best = {"model_config": cfg.to_dict(), "train_config": tc.to_dict(),
                "state_dict": model.state_dict(),
                "masks": pruner.masks if pruner else None, "epoch": tc.epochs,
                "valid_ppl": history[-1]["valid_ppl"] if history else float("nan")}
    best["history"] = history
    best["provenance"] = {"init": provenance_of(init_ck),
                          "train": tc.to_dict(),
                          "epochs_run": min(tc.epochs, tc.stop_after or tc.epochs),
                          "best_epoch": best["epoch"], "train_s": round(time.time() - t_start)}
    if out:
        torch.save(best, out)
    if logf:
        logf.close()
    return best


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = p or argparse.ArgumentParser(description="train / fine-tune-prune an LM")
    d = TrainConfig()
    p.add_argument("--dataset", default=d.dataset)
    p.add_argument("--kind", default=d.kind, choices=["egru", "lstm", "gru"])
    p.add_argument("--preset", default=d.preset, choices=["tiny", "small", "paper"])
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--bptt", type=int, default=d.bptt)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--clip", type=float, default=d.clip)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--learn-thresholds", action="store_true")
    p.add_argument("--train-tokens", type=int, default=0)
    p.add_argument("--valid-tokens", type=int, default=0)
    p.add_argument("--max-batches", type=int, default=0)
    p.add_argument("--init", default="", help="checkpoint to fine-tune")
    p.add_argument("--prune-target", type=float, default=0.0)
    p.add_argument("--prune-start-frac", type=float, default=d.prune_start_frac)
    p.add_argument("--prune-end-frac", type=float, default=d.prune_end_frac)
    p.add_argument("--prune-freq", type=int, default=d.prune_freq)
    p.add_argument("--prune-embedding", action="store_true")
    p.add_argument("--stop-after", type=int, default=0,
                   help="stop after N epochs; the lr schedule still spans --epochs")
    p.add_argument("--unigram-bias", action="store_true",
                   help="initialise the decoder bias to log unigram frequencies")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model-config field, e.g. --set thr_init_mean=0.2")
    p.add_argument("--out", required=False, help="checkpoint path (.pt)")
    p.add_argument("--log", default="")
    return p


def config_from_args(a) -> TrainConfig:
    over = {}
    for kv in a.set:
        k, v = kv.split("=", 1)
        over[k] = json.loads(v)
    return TrainConfig(dataset=canonical_name(a.dataset), kind=a.kind, preset=a.preset,
                       epochs=a.epochs, batch_size=a.batch_size, bptt=a.bptt, lr=a.lr,
                       weight_decay=a.weight_decay, clip=a.clip, seed=a.seed,
                       learn_thresholds=a.learn_thresholds, train_tokens=a.train_tokens,
                       valid_tokens=a.valid_tokens, max_batches=a.max_batches, init=a.init,
                       prune_target=a.prune_target, prune_start_frac=a.prune_start_frac,
                       prune_end_frac=a.prune_end_frac, prune_freq=a.prune_freq,
                       prune_embedding=a.prune_embedding, unigram_bias=a.unigram_bias,
                       stop_after=a.stop_after,
                       model_overrides=over)


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    torch.set_num_threads(a.threads)
    tc = config_from_args(a)
    out = Path(a.out) if a.out else None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
    train(tc, out, Path(a.log) if a.log else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
