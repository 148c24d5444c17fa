"""The replay's golden stepper equals GoldenModel.step / run (exact integers)."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.replay import decode_batch
from nmsim.replay.golden_fast import FastGolden
from replay_helpers import tiny_golden, tokens


@pytest.mark.parametrize("kind", ["egru", "gru", "lstm"])
def test_fast_golden_equals_golden(kind):
    g = tiny_golden(kind, seed=5, V=30, hidden=(12, 9, 10), sparsity=0.3)
    fg = FastGolden(g)
    toks = tokens(60, V=30, seed=2)
    s1, s2 = g.init_state(), fg.init_state()
    Y = []
    for t in toks:
        y1, s1, o1 = g.step(int(t), s1, exact_int=True)
        y2, s2, o2 = fg.step(int(t), s2)
        assert all(np.array_equal(a, b) for a, b in zip(y1, y2)) and o1 == o2
        Y.append(y2[-1])
    run = g.run(toks, return_logits=True, exact_int=True)
    assert np.array_equal(decode_batch(g, np.array(Y)), run["logits"])
