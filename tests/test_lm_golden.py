"""Golden integer reference: hand-computed cell step, accumulation layout,
fixed-point helpers, and the shipped models' recorded logits."""

import hashlib

import numpy as np
import pytest

from nmsim.lm import intformat as I
from nmsim.lm.golden import (CellParams, GoldenModel, IntLayer, egru_cell_int, gru_cell_int,
                             layer_accumulate, lstm_cell_int)
from nmsim.lm.modelfile import load_model
from nmsim.paths import models_dir

SHIPPED = sorted(models_dir().glob("*.nmm"))
TINY = models_dir() / "ptb-egru-tiny.nmm"


def _params(kind="egru", H=2, fc=14):
    G = 4 if kind == "lstm" else 3
    return CellParams(
        kind=kind, bias=np.zeros((4, H), np.int64),
        mult=np.full((G, H), 16384, np.int64), shift=np.full((G, H), 14, np.int64),  # x1.0
        theta=np.full(H, 4915, np.int64) if kind == "egru" else None,              # 0.3 in Q.14
        lut_sigmoid=I.make_sigmoid_lut(), lut_tanh=I.make_tanh_lut(),
        fc=fc, fy=7, fp=12, sigmoid_frac=8, tanh_frac=9, payload_bits=8, state_bits=16)


def test_rounding_and_saturation_rules():
    x = np.array([5, 6, 7, -5, -6, -7, 8, -8])
    # (x + 2) >> 2: round half up (ties towards +inf), arithmetic shift
    assert I.rshift_round(x, 2).tolist() == [1, 2, 2, -1, -1, -2, 2, -2]
    assert I.rshift_round(x, 0).tolist() == x.tolist()
    assert I.saturate([200, -200, 5], 8).tolist() == [127, -128, 5]
    assert I.quantize_symmetric([1.0, -1.0, 0.26], 1 / 127, 8).tolist() == [127, -127, 33]


def test_luts():
    s, t = I.make_sigmoid_lut(), I.make_tanh_lut()
    assert len(s) == len(t) == 4096
    assert s[2048] == 16384 and t[2048] == 0                     # sigmoid(0), tanh(0)
    assert s[2048 + 256] == 23955                               # round(32768 * sigmoid(1))
    # edges: sigmoid(-8) = 11/32768, sigmoid(8 - 1/256) -> 32757, tanh(-4) -> -32746
    assert (s[0], s[-1], t[0], t[-1]) == (11, 32757, -32746, 32746)
    assert np.all(np.diff(s) >= 0) and np.all(np.diff(t) >= 0)
    # index rule: clip(rshift_round(x, 12 - 8) + 2048, 0, 4095)
    assert I.lut_index(np.array([0, 4096, 7, 8, -10**9, 10**9]), 8).tolist() == [
        2048, 2304, 2048, 2049, 0, 4095]


def test_choose_multiplier():
    mult, shift = I.choose_multiplier(np.array([1.0 / 4096, 3e-6, 0.25]), 12)
    assert mult.tolist()[0] == 16384 and shift.tolist()[0] == 14   # 1 LSB -> 1 LSB
    assert np.all((mult >= 2**14) & (mult < 2**15))
    real = mult / 2.0 ** shift
    assert np.allclose(real, np.array([1.0 / 4096, 3e-6, 0.25]) * 4096, rtol=1e-4)


def test_two_unit_egru_step_matches_hand_computation():
    """Hand derivation (requantization is x1 here: mult 16384, shift 14):

    unit 0: acc = [0, 4096, 2048, 2048], c_prev = 8192 (0.5 in Q.14)
      u = sig[(0+8)>>4 + 2048] = sig[2048] = 16384
      r = sig[(4096+8)>>4 + 2048] = sig[2304] = round(32768 sigmoid(1)) = 23955
      r*q_g: (23955*2048 + 16384) >> 15 = 1497 ;  g_pre = 2048 + 1497 = 3545
      g = tanh[(3545+4)>>3 + 2048] = tanh[2491] = round(32768 tanh(443/512)) = 22903
      g_c = (22903 + 1) >> 1 = 11452
      c~ = (16384*8192 + (32768-16384)*11452 + 16384) >> 15 = 9822 > theta 4915 -> event
      y = clip((9822 + 64) >> 7, 1, 127) = 77 ; c = 9822 - 4915 = 4907
    unit 1: acc = [16384, 0, 0, 0], c_prev = 1000
      u = sig[3072] = round(32768 sigmoid(4)) = 32179 ; r = 16384 ; g = tanh[2048] = 0
      c~ = (32179*1000 + 589*0 + 16384) >> 15 = 982 <= 4915 -> no event
      y = 0 ; c = 982
    """
    p = _params()
    acc = np.array([[0, 16384], [4096, 0], [2048, 0], [2048, 0]], np.int64)
    y, c = egru_cell_int(acc, np.array([8192, 1000], np.int64), p)
    assert y.tolist() == [77, 0]
    assert c.tolist() == [4907, 982]
    # strict compare: c~ == theta is no event (H(0) = 0)
    p.theta = np.array([9822, 0], np.int64)
    y, c = egru_cell_int(acc, np.array([8192, 1000], np.int64), p)
    assert y.tolist() == [0, 8] and c.tolist() == [9822, 982]  # theta 0: reset subtracts 0
    # payload saturates at 2**(P-1) - 1 and is at least 1 for an event
    p.theta = np.array([0, 0], np.int64)
    p.payload_bits, p.fy = 4, 3
    y, _ = egru_cell_int(acc, np.array([8192, 1000], np.int64), p)
    assert y.tolist() == [(9822 + 1024) >> 11, 1]   # 5 and max(1, (982+1024)>>11 = 0)


def test_gru_and_lstm_cells_hand_values():
    acc = np.array([[0, 16384], [4096, 0], [2048, 0], [2048, 0]], np.int64)
    y, c = gru_cell_int(acc, np.array([8192, 1000], np.int64), _params("gru"))
    assert c.tolist() == [9822, 982] and y.tolist() == [77, 8]     # (982+64)>>7 = 8
    # LSTM, Q.12 state: i = sig(0) = 16384, f = sig(1) = 23955, g = tanh(0.5), o = sig(4)
    acc = np.array([[0], [4096], [2048], [16384]], np.int64)
    y, c = lstm_cell_int(acc, np.array([4096], np.int64), _params("lstm", H=1, fc=12))
    g = I.make_tanh_lut()[2048 + 256]                            # tanh(0.5)
    assert g == 15143                                            # round(32768 tanh(0.5))
    c_exp = (23955 * 4096 + 16384 * ((g + 4) >> 3) + 16384) >> 15
    assert c.tolist() == [c_exp]
    th = I.make_tanh_lut()[((c_exp + 4) >> 3) + 2048]
    h = (32179 * th + 16384) >> 15
    assert y.tolist() == [(h + 128) >> 8]


def _hand_layer(kind="egru"):
    # source-major CSR; packed target row = gate * H + unit (H = 2)
    WT = np.array([[1, 0, 2, 0, 3, 0], [0, -1, 0, 0, 0, 5]])
    RT = np.array([[0, 0, 0, 0, 4, 0], [1, 1, 1, 1, 1, 1]])

    def csr(M):
        ip = np.concatenate([[0], np.cumsum((M != 0).sum(1))]).astype(np.int32)
        ix = np.concatenate([np.flatnonzero(r) for r in M]).astype(np.uint16)
        dd = np.concatenate([r[r != 0] for r in M]).astype(np.int8)
        return ip, ix, dd

    wi, wx, wd = csr(WT)
    ri, rx, rd = csr(RT)
    return IntLayer(kind=kind, n_in=2, n_h=2, gates=3, W_indptr=wi, W_indices=wx, W_data=wd,
                    R_indptr=ri, R_indices=rx, R_data=rd, cell=_params(kind))


def test_accumulator_layout_and_fanout():
    L = _hand_layer()
    x = np.array([2, 0], np.int64)         # only input 0 has an event (payload 2)
    y = np.array([0, 3], np.int64)         # only unit 1 fired last step (payload 3)
    for exact in (True, False):
        acc = layer_accumulate(L, x, y, exact_int=exact)
        assert acc.tolist() == [[5, 3], [7, 3], [6, 0], [3, 3]]
    ip, unit, accix, w = L.fanout("W")
    s0 = slice(ip[0], ip[1])
    assert unit[s0].tolist() == [0, 0, 0] and accix[s0].tolist() == [0, 1, 2]
    assert w[s0].tolist() == [1, 2, 3]
    s1 = slice(ip[1], ip[2])
    assert list(zip(unit[s1], accix[s1], w[s1])) == [(1, 0, -1), (1, 2, 5)]
    ip, unit, accix, w = L.fanout("R")
    assert list(zip(unit[ip[0]:ip[1]], accix[ip[0]:ip[1]], w[ip[0]:ip[1]])) == [(0, 3, 4)]
    assert L.W_colnnz.tolist() == [3, 2] and L.R_colnnz.tolist() == [1, 6]


@pytest.mark.skipif(not SHIPPED, reason="no shipped models")
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_model_reproduces_recorded_logits(path):
    mf = load_model(path)
    g = GoldenModel(mf)
    toks = mf.arrays["ref.tokens"]
    r = g.run(toks, return_logits=True)
    n = mf.header["reference"]["logits_tokens"]
    assert np.array_equal(r["logits"][:n], mf.arrays["ref.logits"])
    digest = hashlib.sha256(np.ascontiguousarray(r["logits"].astype("<i4")).tobytes()).hexdigest()
    assert digest == mf.header["reference"]["logits_sha256"]


@pytest.mark.skipif(not TINY.is_file(), reason="shipped tiny model missing")
def test_tiny_exact_int_path_equals_fast_path_and_float_argmax():
    mf = load_model(TINY)
    g = GoldenModel(mf)
    assert g.fast_ok
    toks = mf.arrays["ref.tokens"][:40]
    a = g.run(toks, exact_int=True)
    b = g.run(toks, exact_int=False)
    assert np.array_equal(a["logits"], b["logits"])
    assert a["activity"] == b["activity"] and a["ops_per_layer"] == b["ops_per_layer"]
    # argmax agreement with the float model (recorded at export) on the first test tokens
    from nmsim.lm.data import load_corpus

    fa = mf.arrays["ref.float_argmax"][:500]
    r = g.run(load_corpus("ptb").test[:500], return_logits=False)
    agree = float(np.mean(r["argmax"] == fa))
    assert agree >= 0.9, agree
    assert abs(agree - mf.header["reference"]["argmax_agreement"]) < 0.1
