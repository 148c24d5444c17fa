"""The integer golden reference against an independent float64 reading of the same quantized model.

``float_egru_step`` is written from ``docs/number-formats.md`` only: it reads the model file's raw
integer arrays, gives each format its real meaning (``Q.F`` = ``v / 2**F``; an accumulator ``a``
of a gate row stands for the pre-activation ``(a + B) * S`` with ``S = mult / 2**shift / 2**12``)
and evaluates the EGRU cell in float64 with the true sigmoid and tanh: no LUT, no rounding, no
``nmsim.lm.golden`` code.  Each token is teacher-forced: both sides start the step from the
golden's integer state, so differences do not compound over the stream.

Tolerance (real units, per unit and step; derived in :func:`tolerance` from the documented
roundings): pre-activations are rounded to Q.12 (``2**-13``); a LUT input is rounded to its step
(``2**-9`` sigmoid, ``2**-10`` tanh; beyond the table the edge entry is at most
``1 - sigmoid(7.996) = 3.4e-4`` / ``1 - tanh(3.998) = 6.7e-4`` off, less than those); a LUT entry
is rounded to Q.15 (``2**-16``); sigmoid has slope <= 1/4, tanh <= 1; ``r * pre_3``, ``g_c`` and
``c~`` are each rounded once more (``2**-13``, ``2**-15``, ``2**-15``).  Propagated through the
cell this gives ``|c~_golden - c~_float| <= eS * (|c| + |g| + e_g) + e_g + 2**-15`` with
``eS = 2**-11 + 2**-15 + 2**-16`` (sigmoid output), ``e_g = 3 * 2**-13 + |pre_3| * eS + 2**-10 +
2**-16 + 2**-15`` (candidate) -- about 0.0015-0.002 (25-35 LSBs of Q.14).  Rounding noise stays below it; a
dropped bias or reset, swapped gates, or floor instead of round-half-up exceed it (checked by hand).  Events are checked
where ``c~_float`` is farther than the tolerance from ``theta``; payloads within the tolerance
plus half a Q.7 step; logits within ``s_E * sum_k |E[v, k]| * tol_y[k]``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nmsim.lm.golden import GoldenModel
from nmsim.lm.modelfile import load_model
from nmsim.paths import models_dir

N_TOKENS = 24


def _dense(arrays, name, n_src, n_rows):
    """CSR ``source -> packed target row (gate * H + unit)`` as a dense float64 ``(n_src, n_rows)`` matrix."""
    ptr, idx, data = (arrays[f"{name}.{k}"] for k in ("indptr", "indices", "data"))
    out = np.zeros((n_src, n_rows))
    out[np.repeat(np.arange(n_src), np.diff(ptr)), idx.astype(np.int64)] = data
    return out


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def float_egru_step(L: dict, fm: dict, x_int, y_prev_int, c_prev_int):
    """One EGRU layer step in real numbers; returns ``(c_tilde, y, pre3, g)`` (float64, real values)."""
    H = L["theta"].shape[0]
    W, R = L["W"], L["R"]
    cw = x_int.astype(np.float64) @ W  # exact: integer sums far below 2**53
    cr = y_prev_int.astype(np.float64) @ R
    acc = np.zeros((4, H))
    acc[0], acc[1], acc[2] = cw[:H], cw[H:2 * H], cw[2 * H:]  # W_u x, W_r x, W_g x
    acc[0] += cr[:H]
    acc[1] += cr[H:2 * H]
    acc[3] = cr[2 * H:]  # R_g y
    rows = [0, 1, 2, 2]  # accumulators 2 and 3 use the candidate row's scale
    S = L["mult"][rows] / np.exp2(L["shift"][rows] + fm["preact_frac"])
    pre = (acc + L["bias"]) * S
    u, r = _sigmoid(pre[0]), _sigmoid(pre[1])
    g = np.tanh(pre[2] + r * pre[3])
    fc, fy, sb, pb = fm["state_frac"], fm["payload_frac"], fm["state_bits"], fm["payload_bits"]
    c = c_prev_int / 2.0**fc
    ct = np.clip(u * c + (1.0 - u) * g, -(2.0 ** (sb - 1)) / 2**fc, (2.0 ** (sb - 1) - 1) / 2**fc)
    theta = L["theta"] / 2.0**fc
    fired = ct > theta
    y = np.where(fired, np.clip(ct, 2.0**-fy, (2.0 ** (pb - 1) - 1) / 2**fy), 0.0)
    return ct, y, pre[3], g, c


def tolerance(fm: dict, pre3, g, c):
    """Bound on ``|c~_golden - c~_float|`` (real units) from the documented roundings (module docstring)."""
    fp, sf, tf, fc = fm["preact_frac"], fm["sigmoid_lut_frac"], fm["tanh_lut_frac"], fm["state_frac"]
    go = fm["gate_frac"]
    e_pre = 2.0 ** -(fp + 1)
    e_entry = 2.0 ** -(go + 1)
    edge_s = 1 - 1 / (1 + math.exp(-(fm["lut_size"] // 2 - 1) / 2**sf))
    e_sig = max((2.0 ** -(sf + 1) + e_pre) / 4, edge_s + e_pre / 4) + e_entry
    edge_t = 1 - math.tanh((fm["lut_size"] // 2 - 1) / 2**tf)
    e_arg = 3 * e_pre + np.abs(pre3) * e_sig
    e_g = e_arg + max(2.0 ** -(tf + 1), edge_t) + e_entry + 2.0 ** -(fc + 1)  # + g_c rounding to Q.FC
    return e_sig * (np.abs(c) + np.abs(g) + e_g) + e_g + 2.0 ** -(fc + 1)


@pytest.fixture(scope="module")
def tiny():
    mf = load_model(models_dir() / "ptb-egru-tiny.nmm")
    a = mf.arch
    assert a["kind"] == "egru"
    sizes = [a["emb"]] + list(a["hidden"])
    layers = []
    for i, H in enumerate(a["hidden"]):
        g = lambda k: mf.arrays[f"l{i}.{k}"]  # noqa: E731
        layers.append({"W": _dense(mf.arrays, f"l{i}.W", sizes[i], 3 * H), "R": _dense(mf.arrays, f"l{i}.R", H, 3 * H),
                       "bias": g("bias").astype(np.float64), "mult": g("mult").astype(np.float64),
                       "shift": g("shift").astype(np.float64), "theta": g("theta").astype(np.float64)})
    return mf, layers


def test_golden_matches_float_reference_within_documented_rounding(tiny):
    mf, layers = tiny
    fm = {k: int(v) for k, v in mf.formats.items() if isinstance(v, int)}
    fy, s_e = fm["payload_frac"], float(mf.formats["emb_scale"])
    emb = np.asarray(mf.arrays["emb"], np.int64)
    dec_bias = mf.arrays["dec.bias"].astype(np.float64)
    gm = GoldenModel(mf)
    state = gm.init_state()
    tokens = mf.arrays["ref.tokens"][:N_TOKENS].astype(np.int64)
    checked_events = checked_units = 0
    worst = 0.0
    for tok in tokens:
        ys, new_state, _ = gm.step(int(tok), state)
        x = emb[tok]
        for i, L in enumerate(layers):
            c_prev, y_prev = state[i]
            ct_f, y_f, pre3, g, c = float_egru_step(L, fm, x, y_prev, c_prev)
            tol = tolerance(fm, pre3, g, c)
            y_g = ys[i]
            fired_g = y_g != 0
            theta = L["theta"] / 2.0 ** fm["state_frac"]
            ct_g = (new_state[i][0] + np.where(fired_g, L["theta"], 0)) / 2.0 ** fm["state_frac"]
            err = np.abs(ct_g - ct_f)
            assert (err <= tol).all(), (i, int(tok), float(err.max()), float(tol[err.argmax()]))
            worst = max(worst, float((err / tol).max()))
            clear = np.abs(ct_f - theta) > tol
            assert (fired_g[clear] == (ct_f > theta)[clear]).all(), (i, int(tok))
            checked_units += int(clear.sum())
            checked_events += int((clear & fired_g).sum())
            both = fired_g & (ct_f > theta)
            assert (np.abs(y_g[both] / 2.0**fy - y_f[both]) <= tol[both] + 2.0 ** -(fy + 1)).all()
            x = y_g
        # decoder: golden logits against real logits of the float payloads of the last layer (the golden's
        # payload where the event is within the tolerance of the threshold)
        i = len(layers) - 1
        c_prev, y_prev = state[i]
        ct_f, y_f, pre3, g, c = float_egru_step(layers[i], fm, ys[i - 1], y_prev, c_prev)
        tol = tolerance(fm, pre3, g, c)
        theta = layers[i]["theta"] / 2.0 ** fm["state_frac"]
        clear = np.abs(ct_f - theta) > tol
        y_real = np.where(clear, y_f, ys[i] / 2.0**fy)
        tol_y = np.where(clear & (y_f == 0), 0.0, tol + 2.0 ** -(fy + 1))
        logits_f = s_e * (emb @ y_real) + dec_bias * float(mf.formats["logit_scale"])
        logits_g = gm.decode(ys[i]) * float(mf.formats["logit_scale"])
        assert (np.abs(logits_g - logits_f) <= s_e * (np.abs(emb) @ tol_y) + 1e-9).all()
        state = new_state
    # not vacuous: most units are decided clearly, many of them fire, and the bound is not absurdly loose
    assert checked_units > 0.9 * N_TOKENS * sum(L["theta"].shape[0] for L in layers)
    assert checked_events > 100
    assert 0.01 < worst <= 1.0, worst
