"""EGRU / LSTM / GRU word-level language models (PyTorch).

The EGRU cell follows ``/work/shared/reference/egru-lm.md`` section 1 (EvNN
v0.2.0 conventions): packed gate order [update, reset, candidate], two bias
vectors, reset applied after the recurrent product, graded output
``y = o * c~``, reset by subtracting the threshold, Heaviside with H(0)=0,
per-unit thresholds clamped to [0, 1], surrogate gradient
``gamma * max(0, 1 - eps*|c~ - theta|)``.

State handling (deliberate deviation from EvNN, documented in
``workloads/README.md``): both ``c`` and ``y`` are carried across BPTT
windows, in training and in evaluation, so that evaluation is one
continuous token stream -- exactly what the integer golden reference replays.

Tensors are time-major: ``(T, B, F)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

KINDS = ("egru", "lstm", "gru")


@dataclass
class ModelConfig:
    kind: str = "egru"
    vocab_size: int = 10000
    emb: int = 200
    hidden: tuple = (256, 256, 200)
    dropout_emb: float = 0.2      # locked dropout on the embedding output
    dropout_words: float = 0.0    # embedding-row (word) dropout
    dropout_layers: float = 0.2   # locked dropout between recurrent layers
    dropout_out: float = 0.3      # locked dropout on the last layer's output
    thr_init_mean: float = 0.3    # EGRU: Beta(a, 3) with mean m, a = 3m/(1-m)
    pseudo_gamma: float = 3.6     # surrogate height  (reference LM: 3.6)
    pseudo_eps: float = 3.6       # surrogate width factor (reference LM: 3.6)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        d["hidden"] = tuple(d["hidden"])
        return cls(**d)


PRESETS = {
    "tiny": dict(emb=16, hidden=(24, 24, 16), thr_init_mean=0.05, dropout_emb=0.0,
                 dropout_layers=0.0, dropout_out=0.0),
    "small": dict(emb=200, hidden=(256, 256, 200)),
    "paper": dict(emb=750, hidden=(1350, 1350, 750), dropout_emb=0.6, dropout_words=0.1,
                  dropout_layers=0.25, dropout_out=0.5, thr_init_mean=0.01),
}


def preset_config(preset: str, kind: str = "egru", vocab_size: int = 10000, **over) -> ModelConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r} (known: {', '.join(KINDS)})")
    d = dict(PRESETS[preset])
    d.update(over)
    return ModelConfig(kind=kind, vocab_size=vocab_size, **d)


class SpikeFn(torch.autograd.Function):
    """Heaviside H(v) (H(0)=0) with the EvNN surrogate gradient."""

    @staticmethod
    def forward(ctx, v, gamma: float, eps: float):
        ctx.save_for_backward(v)
        ctx.gamma, ctx.eps = gamma, eps
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        sg = ctx.gamma * torch.clamp(1.0 - ctx.eps * v.abs(), min=0.0)
        return grad * sg, None, None


def _xavier_blocks(w: torch.Tensor, n_blocks: int, gen: torch.Generator) -> None:
    rows = w.shape[0] // n_blocks
    with torch.no_grad():
        for k in range(n_blocks):
            blk = w[k * rows:(k + 1) * rows]
            std = math.sqrt(2.0 / (blk.shape[0] + blk.shape[1]))
            blk.copy_(torch.randn(blk.shape, generator=gen) * std)


class RecurrentLayer(nn.Module):
    """One EGRU, GRU or LSTM layer with weights ``W`` (G*H x n_in), ``R`` (G*H x H).

    Gate order in the packed matrices:
      egru / gru: [update, reset, candidate]
      lstm      : [input, forget, cell(g), output]
    """

    def __init__(self, kind: str, n_in: int, n_h: int, cfg: ModelConfig, gen: torch.Generator):
        super().__init__()
        self.kind, self.n_in, self.n_h = kind, n_in, n_h
        self.gates = 4 if kind == "lstm" else 3
        self.W = nn.Parameter(torch.empty(self.gates * n_h, n_in))
        self.R = nn.Parameter(torch.empty(self.gates * n_h, n_h))
        self.bW = nn.Parameter(torch.zeros(self.gates * n_h))
        self.bR = nn.Parameter(torch.zeros(self.gates * n_h))
        _xavier_blocks(self.W, self.gates, gen)
        _xavier_blocks(self.R, self.gates, gen)
        if kind == "lstm":
            with torch.no_grad():  # forget-gate bias 1 (common practice)
                self.bW[n_h:2 * n_h] = 1.0
        if kind == "egru":
            m = cfg.thr_init_mean
            a = 3.0 * m / (1.0 - m)
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
            thr = np.random.default_rng(seed).beta(a, 3.0, n_h)
            self.thr = nn.Parameter(torch.tensor(thr, dtype=torch.float32))
        self.gamma, self.eps = cfg.pseudo_gamma, cfg.pseudo_eps

    def init_state(self, batch: int):
        z = self.W.new_zeros(batch, self.n_h)
        return (z, z.clone())  # (c, y) for egru/gru(c==y) ; (c, h) for lstm

    def forward(self, x: torch.Tensor, state):
        """x: (T, B, n_in) -> (outputs (T, B, H), new state)."""
        T = x.shape[0]
        H = self.n_h
        A = F.linear(x, self.W, self.bW)  # all time steps in one matmul
        c, y = state
        outs = []
        if self.kind == "lstm":
            for t in range(T):
                g_all = A[t] + F.linear(y, self.R, self.bR)
                i, f, g, o = g_all.split(H, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                y = torch.sigmoid(o) * torch.tanh(c)
                outs.append(y)
            return torch.stack(outs), (c, y)
        thr = self.thr.clamp(0.0, 1.0) if self.kind == "egru" else None
        for t in range(T):
            q = F.linear(y, self.R, self.bR)
            au, ar, ag = A[t].split(H, 1)
            qu, qr, qg = q.split(H, 1)
            u = torch.sigmoid(au + qu)
            r = torch.sigmoid(ar + qr)
            g = torch.tanh(ag + r * qg)
            ct = u * c + (1.0 - u) * g
            if self.kind == "egru":
                o = SpikeFn.apply(ct - thr, self.gamma, self.eps)
                y = o * ct
                c = ct - o * thr
            else:  # gru: every unit "fires" with its value
                y = ct
                c = ct
            outs.append(y)
        return torch.stack(outs), (c, y)


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout with one mask per sequence, shared over time. x: (T, B, F)."""
    if not training or p <= 0:
        return x
    mask = x.new_empty(1, x.shape[1], x.shape[2]).bernoulli_(1 - p) / (1 - p)
    return x * mask


class LanguageModel(nn.Module):
    def __init__(self, cfg: ModelConfig, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        gen = torch.Generator().manual_seed(seed)
        if cfg.hidden[-1] != cfg.emb:
            raise ValueError("last hidden size must equal the embedding size (tied decoder)")
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.emb)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.rand(cfg.vocab_size, cfg.emb, generator=gen) * 0.2 - 0.1)
        sizes = [cfg.emb] + list(cfg.hidden)
        self.layers = nn.ModuleList(
            RecurrentLayer(cfg.kind, sizes[i], sizes[i + 1], cfg, gen) for i in range(len(cfg.hidden))
        )
        self.dec_bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def init_state(self, batch: int):
        return [layer.init_state(batch) for layer in self.layers]

    def forward(self, tokens: torch.Tensor, state, return_outputs: bool = False):
        """tokens: (T, B) int64 -> logits (T, B, V), new state[, per-layer outputs]."""
        cfg = self.cfg
        w = self.embedding.weight
        if self.training and cfg.dropout_words > 0:
            keep = w.new_empty(w.shape[0], 1).bernoulli_(1 - cfg.dropout_words) / (1 - cfg.dropout_words)
            w = w * keep
        x = F.embedding(tokens, w)
        x = locked_dropout(x, cfg.dropout_emb, self.training)
        new_state, outs = [], []
        for i, layer in enumerate(self.layers):
            x, st = layer(x, state[i])
            new_state.append(st)
            outs.append(x)
            p = cfg.dropout_out if i == len(self.layers) - 1 else cfg.dropout_layers
            x = locked_dropout(x, p, self.training)
        logits = F.linear(x, self.embedding.weight, self.dec_bias)
        if return_outputs:
            return logits, new_state, outs
        return logits, new_state


def detach_state(state):
    return [tuple(s.detach() for s in st) for st in state]


def prunable_matrices(model: LanguageModel, include_embedding: bool = False) -> dict:
    """Name -> parameter of every matrix subject to pruning (W and R of each layer)."""
    out = {}
    for i, layer in enumerate(model.layers):
        out[f"layers.{i}.W"] = layer.W
        out[f"layers.{i}.R"] = layer.R
    if include_embedding:
        out["embedding"] = model.embedding.weight
    return out
