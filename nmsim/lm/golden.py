"""NumPy integer golden reference for the exported language models.

It defines bit-exactness for the chip simulator.  One step of one layer is
split in two parts, mirroring the chip:

(a) **synaptic accumulation** (:func:`layer_accumulate`): every source unit
    that has an event (non-zero integer payload) adds ``weight * payload`` to
    the accumulators of its targets.  Sums are exact ``int64`` with no
    saturation, so summation order never matters.  Accumulator indices:

    ====  ======================================  ==========================
    acc   EGRU / GRU                              LSTM
    ====  ======================================  ==========================
    0     update gate   W_u x + R_u y             input gate  W_i x + R_i h
    1     reset gate    W_r x + R_r y             forget gate W_f x + R_f h
    2     candidate, input part   W_g x           cell gate   W_g x + R_g h
    3     candidate, recurrent part R_g y         output gate W_o x + R_o h
    ====  ======================================  ==========================

(b) **one elementwise cell function** per unit (:func:`egru_cell_int`,
    :func:`gru_cell_int`, :func:`lstm_cell_int`): bias add, requantization
    (integer multiply + :func:`~nmsim.lm.intformat.rshift_round`), LUT
    sigmoid / tanh, threshold compare, graded payload, reset, saturation.

Both parts are integer-only.  The decoder is tied: ``logits = E_int . y_L +
b_dec`` accumulated over the events of the last layer, saturated to int32.

The host sends the token's quantized embedding row ``E_int[token]`` to layer
1 as graded events (zero entries send nothing).  State starts at zero and the
token stream is run continuously (no reset between windows).

Speed: :meth:`GoldenModel.run` uses the same integer functions but may
evaluate the integer dot products with float64 BLAS when every partial sum is
provably below 2**53 (checked at load), which gives exactly the same
integers; ``exact_int=True`` forces the int64 path (tests compare both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nmsim.lm.intformat import FO, ONE_O, saturate

#: gate -> accumulator index, for the W (input) and R (recurrent) products
ACC_MAP = {
    "egru": ((0, 1, 2), (0, 1, 3)),
    "gru": ((0, 1, 2), (0, 1, 3)),
    "lstm": ((0, 1, 2, 3), (0, 1, 2, 3)),
}
N_ACC = 4


@dataclass
class CellParams:
    """Per-layer integer constants of the elementwise cell function."""

    kind: str
    bias: np.ndarray        # (4, H) int64, added to each accumulator
    mult: np.ndarray        # (G, H) int64, requantization multiplier per gate row
    shift: np.ndarray       # (G, H) int64, requantization shift per gate row
    theta: np.ndarray | None  # (H,) int64 threshold in Q.FC (EGRU only)
    lut_sigmoid: np.ndarray
    lut_tanh: np.ndarray
    fc: int                 # cell-state fraction bits (Q.FC)
    fy: int                 # payload fraction bits (Q.FY)
    fp: int                 # pre-activation fraction bits (Q.FP)
    sigmoid_frac: int
    tanh_frac: int
    payload_bits: int
    state_bits: int
    _prep: tuple | None = field(default=None, repr=False)


def _prep(p: CellParams):
    """Per-accumulator requantization constants (cached on the params object)."""
    if getattr(p, "_prep", None) is None:
        rows = [0, 1, 2, 2] if p.kind in ("egru", "gru") else [0, 1, 2, 3]
        mult = p.mult[rows].astype(np.int64)
        shift = p.shift[rows].astype(np.int64)
        half = np.where(shift > 0, np.int64(1) << np.maximum(shift - 1, 0), 0)
        p._prep = (mult, shift, half)
    return p._prep


def _rsr(x, s: int):
    """rshift_round with a scalar shift s >= 0."""
    return (x + (1 << (s - 1))) >> s if s > 0 else x


def _lut(lut, x, frac: int, fp: int):
    """LUT lookup: index = clip(rshift_round(x, fp - frac) + size/2, 0, size-1)."""
    n = len(lut)
    idx = _rsr(x, fp - frac) + (n >> 1)
    np.maximum(idx, 0, out=idx)
    np.minimum(idx, n - 1, out=idx)
    return lut[idx]


def _requant_all(acc, p: CellParams):
    """Bias add + requantization of the 4 accumulators to Q.FP pre-activations.

    ``pre[k] = rshift_round((acc[k] + bias[k]) * mult[gate(k)], shift[gate(k)])``
    (for EGRU/GRU accumulators 2 and 3 both use the candidate row's constants).
    """
    mult, shift, half = _prep(p)
    return ((acc + p.bias) * mult + half) >> shift


def _gru_core(acc, c_prev, p: CellParams):
    pre = _requant_all(acc, p)
    ur = _lut(p.lut_sigmoid, pre[0:2], p.sigmoid_frac, p.fp)   # Q.15 update, reset
    u, r = ur[0], ur[1]
    g = _lut(p.lut_tanh, pre[2] + _rsr(r * pre[3], FO), p.tanh_frac, p.fp)  # reset after R.y
    g_c = _rsr(g, FO - p.fc)                                      # Q.15 -> Q.FC
    ct = _rsr(u * c_prev + (ONE_O - u) * g_c, FO)
    lim = 1 << (p.state_bits - 1)
    np.maximum(ct, -lim, out=ct)
    np.minimum(ct, lim - 1, out=ct)
    return ct


def egru_cell_int(acc, c_prev, p: CellParams):
    """EGRU cell, integer only.  ``acc``: (4, H) int64, ``c_prev``: (H,) Q.FC.

    Returns ``(y_payload, c_new)``: ``y_payload`` is 0 for units without an
    event, else ``clip(rshift_round(c~, FC - FY), 1, 2**(P-1) - 1)``; an
    event happens iff ``c~ > theta`` (strict, H(0) = 0) and the state is
    reset by subtracting ``theta`` for units that fired.
    """
    ct = _gru_core(acc, c_prev, p)
    fired = ct > p.theta
    m = (1 << (p.payload_bits - 1)) - 1
    y = np.minimum(np.maximum(_rsr(ct, p.fc - p.fy), 1), m)
    y[~fired] = 0
    c_new = ct - np.where(fired, p.theta, 0)
    return y, c_new


def gru_cell_int(acc, c_prev, p: CellParams):
    """GRU (dense baseline): the EGRU without threshold; every unit outputs
    its quantized state ``clip(rshift_round(c, FC - FY), -(2**(P-1)-1), 2**(P-1)-1)``;
    a unit whose payload is exactly 0 sends nothing."""
    ct = _gru_core(acc, c_prev, p)
    m = (1 << (p.payload_bits - 1)) - 1
    return np.minimum(np.maximum(_rsr(ct, p.fc - p.fy), -m), m), ct


def lstm_cell_int(acc, c_prev, p: CellParams):
    """LSTM cell (dense baseline), accumulators [i, f, g, o]; ``c`` in Q.FC.

    ``c = sat(rshift_round(f*c + i*g_c, 15))``, ``h = rshift_round(o *
    tanh(c), 15)`` (Q.15) and the payload ``clip(rshift_round(h, 15 - FY),
    +-(2**(P-1)-1))``; a unit whose payload is exactly 0 sends nothing this
    step (it is counted as inactive).
    """
    pre = _requant_all(acc, p)
    ifo = _lut(p.lut_sigmoid, pre[[0, 1, 3]], p.sigmoid_frac, p.fp)
    i, f, o = ifo[0], ifo[1], ifo[2]
    g = _lut(p.lut_tanh, pre[2], p.tanh_frac, p.fp)
    g_c = _rsr(g, FO - p.fc)
    c = _rsr(f * c_prev + i * g_c, FO)
    lim = 1 << (p.state_bits - 1)
    np.maximum(c, -lim, out=c)
    np.minimum(c, lim - 1, out=c)
    c_fp = c << (p.fp - p.fc) if p.fp >= p.fc else _rsr(c, p.fc - p.fp)
    h = _rsr(o * _lut(p.lut_tanh, c_fp, p.tanh_frac, p.fp), FO)   # Q.15
    m = (1 << (p.payload_bits - 1)) - 1
    return np.minimum(np.maximum(_rsr(h, FO - p.fy), -m), m), c


CELL_FUNCS = {"egru": egru_cell_int, "gru": gru_cell_int, "lstm": lstm_cell_int}


@dataclass
class IntLayer:
    kind: str
    n_in: int
    n_h: int
    gates: int
    # CSR, source unit -> packed target rows (gate * H + unit)
    W_indptr: np.ndarray
    W_indices: np.ndarray
    W_data: np.ndarray
    R_indptr: np.ndarray
    R_indices: np.ndarray
    R_data: np.ndarray
    cell: CellParams
    WT: np.ndarray = field(default=None, repr=False)   # dense (n_in, G*H) int64
    RT: np.ndarray = field(default=None, repr=False)   # dense (H, G*H) int64
    W_colnnz: np.ndarray = field(default=None, repr=False)
    R_colnnz: np.ndarray = field(default=None, repr=False)

    def __post_init__(self):
        GH = self.gates * self.n_h
        self.WT = csr_to_dense(self.W_indptr, self.W_indices, self.W_data, self.n_in, GH)
        self.RT = csr_to_dense(self.R_indptr, self.R_indices, self.R_data, self.n_h, GH)
        self.W_colnnz = np.diff(self.W_indptr).astype(np.int64)
        self.R_colnnz = np.diff(self.R_indptr).astype(np.int64)
        self.WTf = self.WT.astype(np.float64)
        self.RTf = self.RT.astype(np.float64)

    def fanout(self, which: str):
        """``(indptr, target_unit, acc_index, weight)`` for matrix ``'W'`` or ``'R'``.

        For source unit ``j``, entries ``indptr[j]:indptr[j+1]`` list the
        target unit, the accumulator (0..3, see module docstring) and the
        integer weight of each synapse.
        """
        indptr, idx, data = ((self.W_indptr, self.W_indices, self.W_data) if which == "W"
                             else (self.R_indptr, self.R_indices, self.R_data))
        gate = idx.astype(np.int64) // self.n_h
        unit = idx.astype(np.int64) % self.n_h
        amap = np.asarray(ACC_MAP[self.kind][0 if which == "W" else 1])
        return indptr.astype(np.int64), unit, amap[gate], data.astype(np.int64)


def csr_to_dense(indptr, indices, data, n_rows, n_cols):
    out = np.zeros((n_rows, n_cols), dtype=np.int64)
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    out[rows, indices.astype(np.int64)] = data
    return out


def layer_accumulate(layer: IntLayer, x_payload, y_prev, exact_int: bool = True):
    """Part (a): accumulators (4, H) int64 from input events ``x_payload`` (n_in,)
    and the layer's previous output events ``y_prev`` (H,)."""
    H, G = layer.n_h, layer.gates
    acc = np.zeros((N_ACC, H), dtype=np.int64)
    jx = np.flatnonzero(x_payload)
    ky = np.flatnonzero(y_prev)
    if exact_int:
        cw = x_payload[jx] @ layer.WT[jx]
        cr = y_prev[ky] @ layer.RT[ky]
    else:
        cw = np.rint(x_payload[jx].astype(np.float64) @ layer.WTf[jx]).astype(np.int64)
        cr = np.rint(y_prev[ky].astype(np.float64) @ layer.RTf[ky]).astype(np.int64)
    wmap, rmap = ACC_MAP[layer.kind]
    acc[list(wmap)] += cw.reshape(G, H)
    acc[list(rmap)] += cr.reshape(G, H)
    return acc


class GoldenModel:
    """Integer model built from a loaded model file (:class:`nmsim.lm.modelfile.ModelFile`)."""

    def __init__(self, mf):
        from nmsim.lm.modelfile import build_int_layers  # local: avoid cycle

        self.mf = mf
        self.kind = mf.arch["kind"]
        self.layers: list[IntLayer] = build_int_layers(mf)
        self.emb = mf.embedding_dense().astype(np.int64)           # (V, E)
        self.embf = self.emb.astype(np.float64)
        self.dec_bias = mf.arrays["dec.bias"].astype(np.int64)      # (V,)
        self.dec_biasf = self.dec_bias.astype(np.float64)
        self.emb_colnnz = np.count_nonzero(self.emb, axis=0).astype(np.int64)
        self.logit_scale = float(mf.formats["logit_scale"])
        self.vocab_size = self.emb.shape[0]
        self._l1_cache: dict[int, np.ndarray] = {}
        # bound check for the float64-BLAS fast path (all partial sums < 2**53)
        pm = 1 << (mf.formats["payload_bits"] - 1)
        emax = int(np.abs(self.emb).max(initial=0))
        ok = True
        for i, L in enumerate(self.layers):
            xin = emax if i == 0 else pm
            wmax = int(max(np.abs(L.W_data).max(initial=0), np.abs(L.R_data).max(initial=0)))
            ok &= (xin * wmax * L.n_in + pm * wmax * L.n_h) < 2**52
        ok &= pm * emax * self.emb.shape[1] + int(np.abs(self.dec_bias).max(initial=0)) < 2**31
        self.fast_ok = bool(ok)

    @classmethod
    def from_file(cls, path) -> "GoldenModel":
        from nmsim.lm.modelfile import load_model

        return cls(load_model(path))

    def init_state(self):
        return [(np.zeros(L.n_h, np.int64), np.zeros(L.n_h, np.int64)) for L in self.layers]

    def step(self, token: int, state, exact_int: bool = True):
        """One token through all layers (integer only).

        Returns ``(ys, new_state, ops)``: the payload vector of every layer,
        the new ``(c, y)`` state per layer, and the synaptic operations per
        layer (``sum of nnz of the columns of W and R whose source had an event``).
        """
        x = self.emb[token]
        new_state, ys, ops = [], [], []
        for i, L in enumerate(self.layers):
            c_prev, y_prev = state[i]
            if i == 0 and not exact_int:
                cw = self._l1_cache.get(token)
                if cw is None:
                    jx = np.flatnonzero(x)
                    cw = np.rint(x[jx].astype(np.float64) @ L.WTf[jx]).astype(np.int64)
                    self._l1_cache[token] = cw
                acc = np.zeros((N_ACC, L.n_h), dtype=np.int64)
                ky = np.flatnonzero(y_prev)
                cr = np.rint(y_prev[ky].astype(np.float64) @ L.RTf[ky]).astype(np.int64)
                wmap, rmap = ACC_MAP[L.kind]
                acc[list(wmap)] += cw.reshape(L.gates, L.n_h)
                acc[list(rmap)] += cr.reshape(L.gates, L.n_h)
            else:
                acc = layer_accumulate(L, x, y_prev, exact_int)
            ops.append(int(L.W_colnnz[x != 0].sum() + L.R_colnnz[y_prev != 0].sum()))
            y, c = CELL_FUNCS[L.kind](acc, c_prev, L.cell)
            new_state.append((c, y))
            ys.append(y)
            x = y
        return ys, new_state, ops

    def decode(self, y_last, exact_int: bool = True):
        """Tied decoder: int32 logits ``E_int[:, k] . y[k]`` over events k, plus bias."""
        k = np.flatnonzero(y_last)
        if exact_int:
            acc = self.emb[:, k] @ y_last[k]
        else:
            acc = np.rint(self.embf[:, k] @ y_last[k].astype(np.float64)).astype(np.int64)
        return saturate(acc + self.dec_bias, 32)

    def run(self, tokens, return_logits: bool = True, exact_int: bool | None = None,
            targets_logprob: bool = False, chunk: int = 512):
        """Run a token stream from zero state.

        Returns a dict with ``logits`` ((N, V) int32, if requested), per-layer
        ``activity`` (fraction of payloads != 0), ``ops_per_layer`` and
        ``decoder_ops`` (totals), ``argmax`` (N,), and, with
        ``targets_logprob``, ``nll`` (sum of -log p(token[t+1]) over t < N-1).
        """
        if exact_int is None:
            exact_int = not self.fast_ok
        tokens = np.asarray(tokens, dtype=np.int64)
        N = len(tokens)
        state = self.init_state()
        nL = len(self.layers)
        active = np.zeros(nL, np.int64)
        ops = np.zeros(nL, np.int64)
        dec_ops = 0
        E = self.emb.shape[1]
        Y = np.zeros((min(chunk, N), E), np.int64)
        logits_all = np.zeros((N, self.vocab_size), np.int32) if return_logits else None
        argmax = np.zeros(N, np.int64)
        nll = 0.0
        for t0 in range(0, N, chunk):
            t1 = min(N, t0 + chunk)
            for t in range(t0, t1):
                ys, state, o = self.step(int(tokens[t]), state, exact_int)
                for i, y in enumerate(ys):
                    active[i] += np.count_nonzero(y)
                ops += o
                Y[t - t0] = ys[-1]
                dec_ops += int(self.emb_colnnz[ys[-1] != 0].sum())
            Yc = Y[: t1 - t0]
            if exact_int:
                lg = saturate(Yc @ self.emb.T + self.dec_bias, 32)
                lgf = lg.astype(np.float64)
            else:
                # exact: every entry is an integer below 2**52 (checked at load)
                lgf = Yc.astype(np.float64) @ self.embf.T
                lgf += self.dec_biasf
                lg = None
            argmax[t0:t1] = lgf.argmax(axis=1)
            if return_logits:
                if lg is None:
                    lg = saturate(lgf.astype(np.int64), 32)
                logits_all[t0:t1] = lg
            if targets_logprob:
                from nmsim.lm.metrics import nll_from_float_logits

                tgt = tokens[t0 + 1:t1 + 1]
                nll += nll_from_float_logits(lgf[: len(tgt)], tgt, self.logit_scale)
        widths = np.array([L.n_h for L in self.layers])
        out = {
            "tokens": N,
            "activity": (active / (N * widths)).tolist(),
            "mean_activity": float(active.sum() / (N * widths.sum())),
            "ops_per_layer": ops.tolist(),
            "decoder_ops": dec_ops,
            "argmax": argmax,
        }
        if return_logits:
            out["logits"] = logits_all
        if targets_logprob:
            out["nll"] = nll
            out["predictions"] = max(N - 1, 0)
        return out
