"""A network's synapses as one global pattern, and the per-core memory formula.

Global neuron numbering here is *network order*: populations in insertion
order, neurons in index order (``offset[pop] + i``).  This is not the compiled
numbering (that one groups neurons by core; see ``nmsim.compile.build``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nmsim.describe.chip import ChipSpec
from nmsim.describe.network import Network


@dataclass(frozen=True, eq=False)
class Connectivity:
    """``pattern`` CSR bool ``[N, N]``: ``pattern[s, d]`` iff some synapse ``s -> d`` exists.

    ``pattern_in`` is the same as CSC (sources of each destination).  ``in_nnz[d]``
    counts synapses into ``d`` (several projections between one pair count
    separately: each is a stored synapse).  ``is_host[g]``: input neuron.
    """

    n: int
    offset: dict
    pop_of: np.ndarray  # int32[N] population index
    is_host: np.ndarray  # bool[N]
    pattern: sp.csr_matrix
    pattern_in: sp.csc_matrix
    in_nnz: np.ndarray  # int64[N]

    def sources_of(self, d: int) -> np.ndarray:
        return self.pattern_in.indices[self.pattern_in.indptr[d]:self.pattern_in.indptr[d + 1]]

    def targets_of(self, s: int) -> np.ndarray:
        return self.pattern.indices[self.pattern.indptr[s]:self.pattern.indptr[s + 1]]


def connectivity(net: Network) -> Connectivity:
    offset, pop_of, host, start = {}, [], [], 0
    for i, p in enumerate(net.populations.values()):
        offset[p.name] = start
        pop_of.append(np.full(p.n, i, np.int32))
        host.append(np.full(p.n, p.is_host))
        start += p.n
    n = start
    rows, cols = [], []
    for q in net.projections:
        coo = q.weights.tocoo()
        rows.append(coo.row.astype(np.int64) + offset[q.src])
        cols.append(coo.col.astype(np.int64) + offset[q.dst])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    in_nnz = np.bincount(c, minlength=n).astype(np.int64)
    pat = sp.csr_matrix((np.ones(r.size, np.int8), (r, c)), shape=(n, n))
    pat.sum_duplicates()
    pat.data[:] = 1
    pat.sort_indices()
    pin = pat.tocsc()
    pin.sort_indices()
    return Connectivity(n, offset, np.concatenate(pop_of) if pop_of else np.zeros(0, np.int32),
                        np.concatenate(host) if host else np.zeros(0, bool), pat, pin, in_nnz)


def core_bytes(chip: ChipSpec, nnz, rows):
    """Synapse memory of a core: ``ceil((nnz * (weight_bits + synapse_index_bits) + rows * row_pointer_bits) / 8)``."""
    bits = np.asarray(nnz, np.int64) * chip.core.synapse_bits + np.asarray(rows, np.int64) * chip.core.row_pointer_bits
    return (bits + 7) // 8
