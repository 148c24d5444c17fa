"""The golden model's step, with part (a) (synaptic accumulation) evaluated over the active sources only.

:meth:`nmsim.lm.golden.GoldenModel.step` gathers dense weight rows of every active
source (``x[jx] @ WT[jx]``), which costs ``O(active sources x 4H)`` copies per layer
and dominates a replay of a large model.  Part (a) is defined as exact ``int64``
sums (order-independent), so summing the CSR entries of the active sources gives
the same integers; part (b) calls the golden's own cell functions
(:data:`nmsim.lm.golden.CELL_FUNCS`).  ``tests/test_replay_golden.py`` checks
equality with ``GoldenModel.step`` and ``GoldenModel.run`` (``exact_int=True``).
"""

from __future__ import annotations

import numba
import numpy as np

from nmsim.jit import JIT
from nmsim.lm.golden import ACC_MAP, CELL_FUNCS, N_ACC


@numba.njit(**JIT)
def _csr_accumulate(out, indptr, indices, data, x):
    """``out[indices[k]] += data[k] * x[j]`` for every source ``j`` with ``x[j] != 0`` (exact int64).

    Eight entries a round, their indices read before the eight read-add-writes, which keep entry order (the
    reads no longer wait on the writes before them; ``docs/engine-model.md``).  Written apart from the chip's
    :func:`nmsim.sim.functional.accumulate_src` on purpose: the golden checks it and shares no kernel with it."""
    U = np.uint64(8)
    for j in range(x.shape[0]):
        v = x[j]
        if v == 0:
            continue
        k, end = np.uint64(indptr[j]), np.uint64(indptr[j + 1])
        while k + U <= end:
            i0, i1 = np.uint64(indices[k]), np.uint64(indices[k + np.uint64(1)])
            i2, i3 = np.uint64(indices[k + np.uint64(2)]), np.uint64(indices[k + np.uint64(3)])
            i4, i5 = np.uint64(indices[k + np.uint64(4)]), np.uint64(indices[k + np.uint64(5)])
            i6, i7 = np.uint64(indices[k + np.uint64(6)]), np.uint64(indices[k + np.uint64(7)])
            out[i0] += np.int64(data[k]) * v
            out[i1] += np.int64(data[k + np.uint64(1)]) * v
            out[i2] += np.int64(data[k + np.uint64(2)]) * v
            out[i3] += np.int64(data[k + np.uint64(3)]) * v
            out[i4] += np.int64(data[k + np.uint64(4)]) * v
            out[i5] += np.int64(data[k + np.uint64(5)]) * v
            out[i6] += np.int64(data[k + np.uint64(6)]) * v
            out[i7] += np.int64(data[k + np.uint64(7)]) * v
            k += U
        while k < end:
            out[np.uint64(indices[k])] += np.int64(data[k]) * v
            k += np.uint64(1)


class FastGolden:
    def __init__(self, golden):
        self.g = golden
        self.layers = []
        for L in golden.layers:
            # indices and weights stay in the model file's narrow types (uint16 / int8 for the shipped models):
            # the accumulation streams them, so bytes per synapse set its speed
            self.layers.append((L, L.W_indptr.astype(np.int64), np.ascontiguousarray(L.W_indices),
                                np.ascontiguousarray(L.W_data), L.R_indptr.astype(np.int64),
                                np.ascontiguousarray(L.R_indices), np.ascontiguousarray(L.R_data),
                                list(ACC_MAP[L.kind][0]), list(ACC_MAP[L.kind][1])))

    def init_state(self):
        return self.g.init_state()

    def step(self, token: int, state):
        """As ``GoldenModel.step(token, state)``: ``(ys, new_state, ops)``."""
        x = self.g.emb[token]
        ys, new_state, ops = [], [], []
        for i, (L, wp, wi, wd, rp, ri, rd, wmap, rmap) in enumerate(self.layers):
            c_prev, y_prev = state[i]
            GH = L.gates * L.n_h
            cw = np.zeros(GH, np.int64)
            cr = np.zeros(GH, np.int64)
            _csr_accumulate(cw, wp, wi, wd, np.ascontiguousarray(x, np.int64))
            _csr_accumulate(cr, rp, ri, rd, np.ascontiguousarray(y_prev, np.int64))
            acc = np.zeros((N_ACC, L.n_h), np.int64)
            acc[wmap] += cw.reshape(L.gates, L.n_h)
            acc[rmap] += cr.reshape(L.gates, L.n_h)
            ops.append(int(L.W_colnnz[x != 0].sum() + L.R_colnnz[y_prev != 0].sum()))
            y, c = CELL_FUNCS[L.kind](acc, c_prev, L.cell)
            new_state.append((c, y))
            ys.append(y)
            x = y
        return ys, new_state, ops
