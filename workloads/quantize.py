"""Integer quantization of a trained model (float parameters -> integer arrays).

Formats (all documented in ``docs/number-formats.md``):

* weights: symmetric ``weight_bits`` (default 8), ``|w| <= 2**(b-1) - 1``.
  Each gate row (target unit, gate) has one real *product scale* ``S``
  shared by its W and R weights, so that ``W x + R y`` of one accumulator is
  a plain integer sum: ``W_int = round(W * s_x / S)``, ``R_int = round(R *
  s_y / S)``, with ``S = max(max|W_row| s_x, max|R_row| s_y) / (2**(b-1)-1)``.
  ``s_x`` is the embedding scale for layer 1 and ``2**-FY`` (payload scale)
  for layers >= 2; ``s_y = 2**-FY``.
* embedding / tied decoder: one symmetric scale ``s_E = max|E| / 127``.
* biases: ``round(b / S)`` per accumulator (int32).
* requantization of an accumulator to the Q.12 pre-activation: integer
  multiplier in ``[2**14, 2**15)`` and right shift, ``mult / 2**shift ~=
  S * 2**12``.
* thresholds: ``round(theta * 2**FC)`` (Q.FC, FC = 14).
* decoder bias: ``round(b / (s_E 2**-FY))``; logits are int32 with real
  value ``logit_int * s_E * 2**-FY`` (``logit_scale``).

The scales are derived from the weights' ranges; activations need no
data-dependent calibration because every integer activation has a fixed
range by construction (gates in [0, 1], payloads and cell state in (-1, 1)
for EGRU/GRU, LSTM cell state saturated to (-8, 8)).
:func:`calibration_report` runs the integer model on training tokens and
reports how often LUT inputs or the state saturate.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmsim.lm.intformat import (FP, LUT_SIZE, SIGMOID_FRAC, TANH_FRAC, choose_multiplier,
                                make_sigmoid_lut, make_tanh_lut, quantize_symmetric,
                                round_half_up)

DEFAULT_FORMATS = {
    "weight_bits": 8,
    "payload_bits": 8,
    "state_bits": 16,
}


def make_formats(kind: str, weight_bits: int = 8, payload_bits: int = 8, state_bits: int = 16) -> dict:
    if not 2 <= weight_bits <= 16:
        raise ValueError("weight_bits must be in 2..16")
    if not 2 <= payload_bits <= 16:
        raise ValueError("payload_bits must be in 2..16")
    fc = (state_bits - 2) if kind in ("egru", "gru") else (state_bits - 4)
    return {
        "weight_bits": weight_bits,
        "payload_bits": payload_bits,
        "payload_frac": payload_bits - 1,
        "state_bits": state_bits,
        "state_frac": fc,
        "preact_frac": FP,
        "gate_frac": 15,
        "lut_size": LUT_SIZE,
        "sigmoid_lut_frac": SIGMOID_FRAC,
        "tanh_lut_frac": TANH_FRAC,
        "mult_bits": 15,
        "rounding": "round-half-up: (x + 2**(s-1)) >> s (arithmetic shift)",
        "accumulator_bits": 64,
        "logit_bits": 32,
    }


def _csr_source_major(Wint: np.ndarray):
    """(G*H x n_src) int matrix -> CSR of its transpose (source -> packed targets)."""
    m = sp.csr_matrix(Wint.T.astype(np.int32))
    m.eliminate_zeros()
    m.sort_indices()
    return (m.indptr.astype(np.int32), m.indices.astype(np.uint16 if Wint.shape[0] < 65536 else np.int32),
            m.data.astype(np.int8 if np.abs(m.data).max(initial=0) < 128 else np.int16))


def quantize(params: dict, kind: str, formats: dict) -> tuple[dict, dict]:
    """Quantize float parameters.

    ``params``: ``emb`` (V, E), ``dec_bias`` (V,), and per layer ``i``:
    ``l{i}.W`` (G*H, n_in), ``l{i}.R`` (G*H, H), ``l{i}.bW``, ``l{i}.bR``
    (G*H,), ``l{i}.thr`` (H,) for EGRU.  Returns ``(arrays, info)`` where
    ``arrays`` go into the model file and ``info`` holds the real scales
    (recorded in the header) and per-matrix sparsity.
    """
    wb = formats["weight_bits"]
    wmax = (1 << (wb - 1)) - 1
    fy = formats["payload_frac"]
    fc = formats["state_frac"]
    G = 4 if kind == "lstm" else 3
    arrays: dict = {}
    info: dict = {"scales": {}, "sparsity": {}, "density": {}}

    E = np.asarray(params["emb"], np.float64)
    s_E = float(np.abs(E).max()) / wmax
    E_int = quantize_symmetric(E, s_E, wb)
    info["scales"]["emb"] = s_E
    n_layers = len([k for k in params if k.endswith(".W")])
    for i in range(n_layers):
        W = np.asarray(params[f"l{i}.W"], np.float64)
        R = np.asarray(params[f"l{i}.R"], np.float64)
        bW = np.asarray(params[f"l{i}.bW"], np.float64)
        bR = np.asarray(params[f"l{i}.bR"], np.float64)
        GH, n_in = W.shape
        H = GH // G
        s_x = s_E if i == 0 else 2.0 ** -fy
        s_y = 2.0 ** -fy
        S = np.maximum(np.abs(W).max(axis=1) * s_x, np.abs(R).max(axis=1) * s_y) / wmax
        S = np.where(S > 0, S, 1.0)
        W_int = quantize_symmetric(W * s_x / S[:, None], 1.0, wb)
        R_int = quantize_symmetric(R * s_y / S[:, None], 1.0, wb)
        for name, M, Mf in (("W", W_int, W), ("R", R_int, R)):
            ip, ix, dd = _csr_source_major(M)
            arrays[f"l{i}.{name}.indptr"] = ip
            arrays[f"l{i}.{name}.indices"] = ix
            arrays[f"l{i}.{name}.data"] = dd
            info["sparsity"][f"layers.{i}.{name}"] = round(1.0 - len(dd) / M.size, 6)
            info["sparsity"][f"layers.{i}.{name}.float_mask"] = round(float((Mf == 0).mean()), 6)
        Sg = S.reshape(G, H)
        bias = np.zeros((4, H), np.float64)
        if kind == "lstm":
            bias[:] = (bW + bR).reshape(G, H) / Sg
        else:
            bw, br = bW.reshape(G, H), bR.reshape(G, H)
            bias[0] = (bw[0] + br[0]) / Sg[0]
            bias[1] = (bw[1] + br[1]) / Sg[1]
            bias[2] = bw[2] / Sg[2]
            bias[3] = br[2] / Sg[2]
        B = round_half_up(bias)
        if np.abs(B).max() >= 2**31:
            raise ValueError(f"layer {i}: bias does not fit int32")
        arrays[f"l{i}.bias"] = B.astype(np.int32)
        mult, shift = choose_multiplier(Sg, FP, formats["mult_bits"])
        arrays[f"l{i}.mult"] = mult.astype(np.int32)
        arrays[f"l{i}.shift"] = shift.astype(np.int32)
        if kind == "egru":
            thr = np.clip(np.asarray(params[f"l{i}.thr"], np.float64), 0.0, 1.0)
            arrays[f"l{i}.theta"] = round_half_up(thr * (1 << fc)).astype(np.int32)
        info["scales"][f"layers.{i}.row_scale_min"] = float(S.min())
        info["scales"][f"layers.{i}.row_scale_max"] = float(S.max())
    if np.count_nonzero(E_int) < 0.5 * E_int.size:  # pruned embedding: store CSR
        m = sp.csr_matrix(E_int.astype(np.int32))
        m.eliminate_zeros()
        m.sort_indices()
        arrays["emb.indptr"] = m.indptr.astype(np.int32)
        arrays["emb.indices"] = m.indices.astype(np.uint16)
        arrays["emb.data"] = m.data.astype(np.int8)
    else:
        arrays["emb"] = E_int.astype(np.int8 if wb <= 8 else np.int16)
    info["sparsity"]["embedding"] = round(1.0 - np.count_nonzero(E_int) / E_int.size, 6)
    logit_scale = s_E * 2.0 ** -fy
    arrays["dec.bias"] = round_half_up(np.asarray(params["dec_bias"], np.float64) / logit_scale).astype(np.int32)
    arrays["lut.sigmoid"] = make_sigmoid_lut().astype(np.int32)
    arrays["lut.tanh"] = make_tanh_lut().astype(np.int32)
    info["logit_scale"] = logit_scale
    return arrays, info


def params_from_model(model) -> dict:
    """Float64 NumPy parameters of a :class:`workloads.model.LanguageModel`."""
    p = {"emb": model.embedding.weight.detach().double().numpy(),
         "dec_bias": model.dec_bias.detach().double().numpy()}
    for i, L in enumerate(model.layers):
        p[f"l{i}.W"] = L.W.detach().double().numpy()
        p[f"l{i}.R"] = L.R.detach().double().numpy()
        p[f"l{i}.bW"] = L.bW.detach().double().numpy()
        p[f"l{i}.bR"] = L.bR.detach().double().numpy()
        if hasattr(L, "thr"):
            p[f"l{i}.thr"] = L.thr.detach().double().numpy()
    return p
