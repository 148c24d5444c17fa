"""The synaptic accumulation kernels (eight entries a round) against ``np.add.at`` / a dense product.

``accumulate_src`` (the chip's functional pass) and ``_csr_accumulate`` (the golden model's fast step) read
eight synapses a round; these cases cover run lengths around multiples of eight, repeated slots inside one
run (the read-add-writes must stay in order to sum exactly), negative weights and payloads, and every slot
and weight type the engine narrows to."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.replay.golden_fast import _csr_accumulate
from nmsim.sim.functional import accumulate_src


def _runs(rng, n_src, n_slots, slot_t, w_t, max_len=40):
    lens = rng.integers(0, max_len, n_src)
    lens[:17] = np.arange(17)  # 0..16: every remainder of a round of eight, twice
    ptr = np.zeros(n_src + 1, np.int64)
    ptr[1:] = np.cumsum(lens)
    slot = rng.integers(0, n_slots, int(ptr[-1])).astype(slot_t)
    lo, hi = np.iinfo(w_t).min, np.iinfo(w_t).max
    w = rng.integers(lo, hi, int(ptr[-1]), endpoint=True).astype(w_t)
    return ptr, slot, w


@pytest.mark.parametrize("slot_t", [np.uint16, np.int32, np.int64])
@pytest.mark.parametrize("w_t", [np.int8, np.int16, np.int32])
def test_accumulate_src_matches_add_at(slot_t, w_t):
    rng = np.random.default_rng(7)
    n_src, n_slots = 300, 97  # few slots: many repeats inside one run
    ptr, slot, w = _runs(rng, n_src, n_slots, slot_t, w_t)
    payload = rng.integers(-(2**20), 2**20, n_src).astype(np.int64)
    fired = np.sort(rng.choice(n_src, 200, replace=False)).astype(np.int64)
    fired[:17] = np.arange(17)  # the hand-made lengths 0..16 fire
    fired = np.unique(fired)
    n_fired = len(fired) - 3  # the last three listed are past n_fired: they must not count
    acc = rng.integers(-1000, 1000, n_slots).astype(np.int64)
    want = acc.copy()
    for g in fired[:n_fired]:
        np.add.at(want, slot[ptr[g]:ptr[g + 1]].astype(np.int64), w[ptr[g]:ptr[g + 1]].astype(np.int64) * payload[g])
    accumulate_src(acc, fired, n_fired, payload, ptr, slot, w)
    assert np.array_equal(acc, want)


@pytest.mark.parametrize("idx_t", [np.uint16, np.int32])
def test_csr_accumulate_matches_dense_product(idx_t):
    rng = np.random.default_rng(3)
    n_src, n_out = 120, 53
    ptr, idx, data = _runs(rng, n_src, n_out, idx_t, np.int8)
    dense = np.zeros((n_out, n_src), np.int64)
    for j in range(n_src):
        np.add.at(dense[:, j], idx[ptr[j]:ptr[j + 1]].astype(np.int64), data[ptr[j]:ptr[j + 1]].astype(np.int64))
    x = rng.integers(-300, 300, n_src).astype(np.int64)
    x[rng.random(n_src) < 0.4] = 0  # inactive sources are skipped
    out = np.zeros(n_out, np.int64)
    _csr_accumulate(out, ptr, idx, data, x)
    assert np.array_equal(out, dense @ x)
