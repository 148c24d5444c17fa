"""The bit-exactness checker (nmsim.replay.check) on a hand-made 3-word, 2-unit decoder.

Logits = saturate_32(Y @ E^T + b) with E = [[1, 0], [0, 1], [1, 1]] and b = [0, 1, -1], worked out by hand for
every payload used below; the NLL is ``log(sum(exp(scale * z))) - scale * z[target]``.
"""

from __future__ import annotations

import hashlib
import math
from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.replay.check import Mismatch, TokenChecker, _layer_rank, decode_batch

E = np.array([[1, 0], [0, 1], [1, 1]], np.int64)
B = np.array([0, 1, -1], np.int64)


def _golden(fast_ok=True, scale=0.5):
    return SimpleNamespace(fast_ok=fast_ok, emb=E, dec_bias=B, embf=E.astype(np.float64),
                           dec_biasf=B.astype(np.float64), logit_scale=scale)


def _logits(y):
    y0, y1 = y
    return [y0, y1 + 1, y0 + y1 - 1]


@pytest.mark.parametrize("fast_ok", [True, False])
def test_decode_batch_by_hand_and_saturated(fast_ok):
    Y = np.array([[2, 3], [0, 0], [-4, 1]], np.int64)
    got = decode_batch(_golden(fast_ok), Y)
    assert got.dtype == np.int32
    assert got.tolist() == [[2, 4, 4], [0, 1, -1], [-4, 2, -4]]
    # words 2**31 and -2**31 - 4 saturate to the int32 range; word 2 = 2**31 - 2**31 - 5 - 1
    big = np.array([[2**31, -2**31 - 5]], np.int64)
    assert decode_batch(_golden(fast_ok), big).tolist() == [[2**31 - 1, -2**31, -6]]


def _nll(z, t, scale):
    z = [scale * v for v in z]
    return math.log(sum(math.exp(v) for v in z)) - z[t]


def _run(ys_gold, ys_chip, logits_chip=None, tokens=(0, 1, 2), on_chip=True, layers=None, fast_ok=True):
    """Feed a checker: layer-1 payloads ``ys`` per token (the model's only layer = its last layer)."""
    g = _golden(fast_ok)
    ck = TokenChecker(g, np.array(tokens), n_layers=1, emb_dim=2, vocab_size=3, on_chip_decoder=on_chip)
    for t in range(len(tokens)):
        ck.expect(t, [np.array(ys_gold[t])])
    for t in range(len(tokens)):
        ck.layer(t, 0, np.array((layers or ys_chip)[t]))
    for t in range(len(tokens)):
        row = logits_chip[t] if on_chip else ys_chip[t]
        ck.finish(t, np.array(row))
    ck.close()
    return ck


YS = [[1, 2], [0, 3], [2, 0]]


@pytest.mark.parametrize("on_chip", [True, False])
def test_matching_run_scores_and_hashes_the_logits(on_chip):
    ck = _run(YS, YS, [_logits(y) for y in YS], on_chip=on_chip)
    assert ck.first is None and ck.bad_tokens == set() and ck.done == 3 and not ck.pending
    lg = np.array([_logits(y) for y in YS], "<i4")       # [[1, 3, 2], [0, 4, 2], [2, 1, 1]]
    assert ck.logits_sha256 == hashlib.sha256(lg.tobytes()).hexdigest()
    # targets: token 0 predicts token id 1 from logits [1, 3, 2], token 1 predicts id 2 from [0, 4, 2]
    want = _nll([1, 3, 2], 1, 0.5) + _nll([0, 4, 2], 2, 0.5)
    assert ck.n_pred == 2
    assert ck.nll == pytest.approx(want, rel=1e-6) and ck.nll_golden == pytest.approx(want, rel=1e-6)


def test_first_mismatch_is_the_earliest_token_then_the_lowest_layer():
    layers = [YS[0], YS[1], [2, 7]]                   # token 2's layer-1 unit 1 is wrong (noted first)
    chip_logits = [_logits(YS[0]), [0, 4, 9], _logits(YS[2])]   # token 1's logits word 2 is wrong (noted later)
    ck = _run(YS, YS, chip_logits, layers=layers)
    assert ck.bad_tokens == {1, 2}
    assert ck.first == Mismatch(token=1, layer="logits", index=2, chip=9, golden=2)
    assert ck.first.text() == "token 1, logits[2]: chip 9 != golden 2"
    # the chip's wrong logits change its perplexity, not the golden one
    assert ck.nll == pytest.approx(_nll([1, 3, 2], 1, 0.5) + _nll([0, 4, 9], 2, 0.5), rel=1e-6)
    assert ck.nll_golden == pytest.approx(_nll([1, 3, 2], 1, 0.5) + _nll([0, 4, 2], 2, 0.5), rel=1e-6)


def test_a_layer_mismatch_outranks_a_logits_mismatch_of_the_same_token():
    layers = [YS[0], [5, 3], YS[2]]                   # token 1, layer 1, unit 0: chip 5, golden 0
    chip_logits = [_logits(YS[0]), [0, 4, 3], _logits(YS[2])]
    ck = _run(YS, YS, chip_logits, layers=layers)
    assert ck.first == Mismatch(1, "L1", 0, 5, 0) and ck.bad_tokens == {1}
    assert ck.first.to_dict() == {"token": 1, "layer": "L1", "index": 0, "chip": 5, "golden": 0}


def test_every_mismatched_token_is_counted_and_the_first_kept():
    chip_logits = [[1, 3, 0], [0, 0, 2], [9, 9, 9]]      # tokens 0, 1: words 2 and 1 wrong; token 2: every word
    ck = _run(YS, YS, chip_logits)
    assert ck.bad_tokens == {0, 1, 2}
    assert ck.first == Mismatch(0, "logits", 2, 0, 2)


def test_host_decoder_compares_the_decoded_last_layer():
    chip_y = [YS[0], [0, 1], YS[2]]                   # token 1's last layer differs -> its logits do too
    ck = _run(YS, chip_y, on_chip=False, layers=YS)
    assert ck.first == Mismatch(1, "logits", 1, 2, 4)   # [0, 2, 0] vs golden [0, 4, 2]: word 1 first


def test_layer_rank():
    assert [_layer_rank(x, 3) for x in ("L1", "L2", "L3", "logits")] == [1, 2, 3, 4]


def test_chunks_of_one_token_flush_as_they_fill(monkeypatch):
    """With chunks smaller than the stream, every chunk is scored; the sums equal one chunk's."""
    import nmsim.replay.check as check

    whole = _run(YS, YS, [_logits(y) for y in YS])
    monkeypatch.setattr(check, "CHUNK", 1)
    ck = _run(YS, YS, [_logits(y) for y in YS])
    assert ck.n_pred == 2 and ck.nll == pytest.approx(whole.nll, rel=1e-12)
    assert ck.nll_golden == pytest.approx(whole.nll_golden, rel=1e-12)
    assert ck.logits_sha256 == whole.logits_sha256
    ck.flush()                                         # an empty flush changes nothing
    assert ck.n_pred == 2


def test_unfinished_tokens_are_refused():
    ck = TokenChecker(_golden(), np.array([0, 1]), 1, 2, 3, True)
    ck.expect(0, [np.array(YS[0])])
    with pytest.raises(AssertionError, match="^tokens finish in order$"):
        ck.finish(1, np.array([0, 0, 0]))
    with pytest.raises(AssertionError, match="^schedule did not finish every token$"):
        ck.close()
    nothing = TokenChecker(_golden(), np.array([0, 1]), 1, 2, 3, True)     # none expected, none finished
    with pytest.raises(AssertionError, match="^schedule did not finish every token$"):
        nothing.close()
    extra = _run(YS[:2], YS[:2], [_logits(y) for y in YS[:2]], tokens=(0, 1))
    extra.expect(2, [np.array(YS[2])])                                      # every token done, one still pending
    with pytest.raises(AssertionError, match="^schedule did not finish every token$"):
        extra.close()


def test_exact_integer_decoding_of_payloads_beyond_float64():
    """Without the golden's float proof the host decodes in int64: 2**53 + 1 - 2**53 - 1 = 0 exactly (float64 would
    round 2**53 + 1 down and give -1), so chip and golden agree on word 2."""
    y = [[2**53 + 1, -(2**53)]]
    assert decode_batch(_golden(False), np.array(y, np.int64))[0, 2] == 0
    ck = _run(y, y, on_chip=False, tokens=(0,), fast_ok=False)
    assert ck.first is None and ck.bad_tokens == set()
