"""The Numba recurrent-cell kernels are integer-identical to the golden NumPy cells."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.compile.compiled import MODEL_EGRU, MODEL_GRU, MODEL_LSTM, MODEL_READOUT
from nmsim.describe.neuron_models import N_PARAM_COLUMNS, cell_params_from_columns
from nmsim.lm.golden import CELL_FUNCS
from nmsim.lm.intformat import make_sigmoid_lut, make_tanh_lut
from nmsim.sim import functional as fn

MODEL_ID = {"egru": MODEL_EGRU, "gru": MODEL_GRU, "lstm": MODEL_LSTM}


def _case(rng, kind: str, n: int):
    fc, fy, fp = int(rng.integers(8, 16)), int(rng.integers(3, 8)), int(rng.integers(9, 15))
    pb, sb = int(rng.integers(4, 9)), int(rng.integers(10, 17))
    sf, tf = int(rng.integers(6, 10)), int(rng.integers(7, 11))
    param = np.zeros((n, N_PARAM_COLUMNS), np.int64)
    param[:, 0:4] = rng.integers(-3000, 3000, (n, 4))
    mult = rng.integers(1 << 14, 1 << 15, (n, 4))
    shift = rng.integers(0, 30, (n, 4))
    if kind != "lstm":  # accumulators 2 and 3 share the candidate row's constants
        mult[:, 3], shift[:, 3] = mult[:, 2], shift[:, 2]
    param[:, 4:8], param[:, 8:12] = mult, shift
    param[:, 12] = rng.integers(0, 1 << fc, n)
    param[:, 13:20] = [fc, fy, fp, sf, tf, pb, sb]
    param[:, 20:22] = [0, 1]
    lut = np.stack([make_sigmoid_lut(4096, sf), make_tanh_lut(4096, tf)])
    big = np.int64(1) << 40
    acc = np.concatenate([rng.integers(-5000, 5000, (n // 2, 4)),
                          rng.integers(-big, big, (n - n // 2, 4))]).astype(np.int64)
    acc[:4] = [[big, -big, big, -big], [-big, big, -big, big], [0, 0, 0, 0], [1, -1, 1, -1]]
    lim = 1 << (sb - 1)
    c0 = rng.integers(-lim, lim, n).astype(np.int64)
    c0[:2] = [lim - 1, -lim]
    return param, lut, acc, c0


@pytest.mark.parametrize("kind", ["egru", "gru", "lstm"])
@pytest.mark.parametrize("seed", range(6))
def test_cell_kernel_equals_golden(kind, seed):
    rng = np.random.default_rng(seed)
    n = 400
    param, lut, acc, c0 = _case(rng, kind, n)
    cp = cell_params_from_columns(kind, param, [lut[0], lut[1]])
    y_g, c_g = CELL_FUNCS[kind](acc.T.copy(), c0.copy(), cp)
    state = np.zeros((n, 4), np.int64)
    state[:, 0] = c0
    fired, payload, active = np.zeros(n, np.uint8), np.zeros(n, np.int64), np.zeros(n, np.uint8)
    acc_in, acc_out = acc.copy(), np.zeros_like(acc)
    fn.step_neurons(fired, payload, active, state, acc_in, acc_out, param, np.full(n, MODEL_ID[kind], np.int8),
                    lut, np.array([4096, 4096], np.int64), np.zeros(0, np.int64), n, np.ones(n, np.uint8), np.zeros(n, np.uint8),
                    np.zeros(n, np.uint8))
    assert np.array_equal(payload, y_g)
    assert np.array_equal(state[:, 0], c_g)
    # EGRU: an event iff the payload is non-zero; the dense baselines send every step
    assert np.array_equal(fired.astype(bool), (y_g != 0) if kind == "egru" else np.ones(n, bool))
    assert active.all() and not acc_in.any() and not acc_out.any()
    if kind == "egru":
        assert (y_g >= 0).all() and (y_g != 0).any() and (y_g == 0).any()


def test_disabled_units_keep_state_and_carry_input():
    rng = np.random.default_rng(0)
    n = 50
    param, lut, acc, c0 = _case(rng, "egru", n)
    state = np.zeros((n, 4), np.int64)
    state[:, 0] = c0
    enable = (np.arange(n) % 2).astype(np.uint8)
    acc_in, acc_out = acc.copy(), np.full_like(acc, 7)
    fired, payload, active = np.zeros(n, np.uint8), np.zeros(n, np.int64), np.zeros(n, np.uint8)
    fn.step_neurons(fired, payload, active, state, acc_in, acc_out, param, np.full(n, MODEL_EGRU, np.int8),
                    lut, np.array([4096, 4096], np.int64), np.zeros(0, np.int64), n, enable, np.zeros(n, np.uint8),
                    np.zeros(n, np.uint8))
    off = enable == 0
    assert (state[off, 0] == c0[off]).all() and not fired[off].any() and not active[off].any()
    assert (acc_out[off] == acc[off] + 7).all() and (acc_out[~off] == 7).all() and not acc_in.any()


def test_readout_saturates_and_always_emits():
    n = 4
    param = np.zeros((n, N_PARAM_COLUMNS), np.int64)
    param[:, 0] = [5, -5, 0, 0]
    acc = np.array([[2**40], [-(2**40)], [0], [-3]], np.int64)
    fired, payload, active = np.zeros(n, np.uint8), np.zeros(n, np.int64), np.zeros(n, np.uint8)
    fn.step_neurons(fired, payload, active, np.zeros((n, 4), np.int64), acc, np.zeros_like(acc), param,
                    np.full(n, MODEL_READOUT, np.int8), np.zeros((1, 1), np.int64), np.ones(1, np.int64),
                    np.zeros(0, np.int64), n, np.ones(n, np.uint8), np.zeros(n, np.uint8),
                    np.zeros(n, np.uint8))
    assert payload.tolist() == [2**31 - 1, -(2**31), 0, -3] and fired.all()
