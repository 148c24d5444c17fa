"""Expected activity of a language model's units, measured on calibration tokens (``docs/mapping.md``).

The ``balanced`` placement needs each neuron's expected events per step.  They are measured
by running the golden reference (:class:`nmsim.replay.golden_fast.FastGolden`) over the first
``n`` tokens of a split that is *not* the one replayed: ``valid`` (or ``train`` when the replay
itself runs on ``valid``), so no replayed token informs the mapping.  In the pipelined schedule
every stage handles one token per step, so events per token = events per step.

- ``emb`` unit ``k``: the share of calibration tokens whose embedding row has ``E[tok, k] != 0``;
- EGRU unit: the share of tokens on which it fires (non-zero payload);
- LSTM / GRU units and the readout: 1.0 (the dense baselines send every step).
"""

from __future__ import annotations

import numpy as np

from nmsim.map.cost import Workload, workload
from nmsim.map.connectivity import connectivity


def calibration_split(replay_split: str) -> str:
    """The split that calibrates a replay of ``replay_split``: ``valid``, or ``train`` for ``valid``."""
    return "train" if replay_split == "valid" else "valid"


def unit_rates(golden, lm, tokens: np.ndarray) -> dict:
    """``{population: float64[n]}`` events per step of every unit over ``tokens``."""
    from nmsim.replay.golden_fast import FastGolden

    tokens = np.asarray(tokens, np.int64)
    fg = FastGolden(golden)
    state = fg.init_state()
    fires = [np.zeros(n, np.int64) for n in lm.hidden]
    for tok in tokens:
        ys, state, _ = fg.step(int(tok), state)
        for i, y in enumerate(ys):
            fires[i] += np.asarray(y) != 0
    T = max(len(tokens), 1)
    rates = {lm.emb: np.count_nonzero(golden.emb[tokens], axis=0) / T}
    for i, pop in enumerate(lm.layer_pops):
        rates[pop] = fires[i] / T if lm.kind == "egru" else np.ones(lm.hidden[i])
    if lm.readout:
        rates[lm.readout] = np.ones(lm.vocab_size)
    return rates


def calibrate(golden, lm, dataset: str, replay_split: str, n_tokens: int) -> tuple[Workload, np.ndarray]:
    """The :class:`Workload` of ``lm`` measured on the first ``n_tokens`` of the calibration split,
    and those token ids."""
    from nmsim.replay.inputs import load_tokens

    split = calibration_split(replay_split)
    ids, ds = load_tokens(golden.mf, dataset, split, n_tokens)
    rates = unit_rates(golden, lm, ids)
    src = {"kind": "calibration", "dataset": ds, "split": split, "start": 0, "count": int(len(ids)),
           "reference": "golden (nmsim.replay.golden_fast)",
           "mean_rate": {p: round(float(np.mean(r)), 6) for p, r in rates.items()}}
    return workload(lm.net, connectivity(lm.net), rates, src), ids
