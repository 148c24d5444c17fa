"""What a replay is given: its configuration, the model file, the tokens and the chip (``docs/replay.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nmsim.describe.chip import ChipSpec, load_chip_variant
from nmsim.errors import DatasetError
from nmsim.paths import project_root as repo_root

#: The model ``nmsim run`` replays by default (one constant; relative to the repository root).
DEFAULT_MODEL = "workloads/models/ptb-egru-small-s90.nmm"
DEFAULT_CHIP = "loihi"
DEFAULT_DATASET = "ptb"
DEFAULT_SPLIT = "test"
DEFAULT_TOKENS = 1000
#: Steps recorded in the Perfetto trace with ``trace=True`` (the first ones of the run).
DEFAULT_TRACE_STEPS = 6


@dataclass
class ReplayConfig:
    """Everything that defines a replay (all of it ends up in ``run.json``)."""

    model: str = DEFAULT_MODEL
    chip: str = DEFAULT_CHIP
    dataset: str = DEFAULT_DATASET
    split: str = DEFAULT_SPLIT
    tokens: int | str = DEFAULT_TOKENS   #: a positive count, or "all"
    placement: str = "balanced"   #: a strategy (nmsim.replay.mapped.PLACEMENTS) or a placement file
    mode: str = "pipelined"
    decoder: str = "chip"
    seed: int = 0
    chip_overrides: dict = field(default_factory=dict)  #: {"timing.hop_east_west_cycles": 41, ...}
    map_settings: dict = field(default_factory=dict)    #: {"L1.max_neurons_per_core": 32, ...} (map.* keys)
    trace: bool = False
    trace_steps: int = DEFAULT_TRACE_STEPS


def resolve_model_path(model: str | Path) -> Path:
    """A path as given, else relative to the repository root, else ``workloads/models/<name>.nmm``."""
    p = Path(model)
    if p.exists():
        return p
    for cand in (repo_root() / p, repo_root() / "workloads" / "models" / f"{p.name}",
                 repo_root() / "workloads" / "models" / f"{p.name}.nmm"):
        if cand.exists():
            return cand
    return p


def load_tokens(mf, dataset: str, split: str, tokens: int | str) -> tuple[np.ndarray, str]:
    """Token ids of the model's vocabulary for the first ``tokens`` words of ``dataset``/``split``."""
    from nmsim.lm.data import canonical_name, load_corpus

    ds = canonical_name(dataset)
    corpus = load_corpus(ds)
    ids = corpus.split(split)
    n_avail = len(ids)
    n = parse_tokens(tokens, n_avail, f"{ds}/{split}")
    ids = ids[:n]
    if corpus.vocab.itos != list(mf.vocab):
        stoi = {w: i for i, w in enumerate(mf.vocab)}
        words = corpus.vocab.decode(ids)
        out = np.empty(n, np.int64)
        for t, w in enumerate(words):
            if w not in stoi:
                raise DatasetError(f"{ds}/{split} token {t} ({w!r}) is not in the vocabulary of model "
                                   f"{mf.header.get('name', mf.path)!r}")
            out[t] = stoi[w]
        ids = out
    return np.asarray(ids, np.int64), ds


def parse_tokens(tokens: int | str, n_avail: int, what: str = "the split") -> int:
    """``tokens`` (a positive integer, its decimal text, or ``"all"``) -> a count ``<= n_avail``."""
    if isinstance(tokens, str):
        s = tokens.strip().lower()
        if s == "all":
            return n_avail
        try:
            tokens = int(s)
        except ValueError:
            raise DatasetError(f"--tokens {tokens!r}: expected a positive integer or 'all'") from None
    if isinstance(tokens, bool) or not isinstance(tokens, (int, np.integer)):
        raise DatasetError(f"tokens {tokens!r}: expected a positive integer or 'all'")
    if tokens < 1:
        raise DatasetError(f"tokens {tokens}: must be at least 1")
    if tokens > n_avail:
        raise DatasetError(f"tokens {tokens}: {what} has only {n_avail} tokens (use 'all')")
    return int(tokens)


def load_replay_chip(chip: str | Path, overrides: dict | None = None) -> ChipSpec:
    """The chip with its ``[replay]`` profile (graded payloads, accumulators) and ``overrides`` applied."""
    return load_chip_variant(chip, replay_profile=True, overrides=overrides)
