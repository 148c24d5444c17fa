"""Small synthetic language models for the replay tests (torch-free, deterministic)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from nmsim.lm.golden import GoldenModel
from nmsim.lm.modelfile import dumps, loads
from nmsim.replay.synth import synthetic_model


@lru_cache(maxsize=8)
def tiny_golden(kind: str = "egru", seed: int = 1, V: int = 20, hidden: tuple = (8, 8, 8), sparsity: float = 0.5):
    h, a = synthetic_model(kind=kind, vocab=V, emb=hidden[-1], hidden=hidden, seed=seed, sparsity=sparsity)
    return GoldenModel(loads(dumps(h, a), f"<synthetic {kind} {seed}>"))


def ptb_model_file(path: Path, kind: str = "egru", seed: int = 3) -> Path:
    """A synthetic model over the PTB vocabulary (10,000 words, hidden 8) saved at ``path``."""
    from nmsim.lm.data import load_corpus
    from nmsim.lm.modelfile import save_model

    if not path.exists():
        h, a = synthetic_model(kind=kind, vocab=load_corpus("ptb").vocab.itos, emb=8, hidden=(8, 8, 8), seed=seed,
                               sparsity=0.5, name=f"synthetic-ptb-{kind}")
        save_model(path, h, a)
    return path


def tokens(n: int, V: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, V, n)
