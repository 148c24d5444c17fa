"""The ``neurobench`` block of a replay's ``summary.json``: the model's efficiency in NeuroBench's terms.

Definitions follow the ``neurobench`` package 2.3.0 (Yik et al., "The neurobench framework for benchmarking
neuromorphic computing algorithms and systems", Nature Communications 16, 1545 (2025);
``neurobench/metrics/workload/synaptic_operations.py``, ``activation_sparsity.py``,
``neurobench/metrics/static/connection_sparsity.py``, ``footprint.py``), applied to the integer model that is
replayed (hardware-independent: the same numbers on every chip, placement and decoder location):

- ``effective_macs_per_token`` / ``effective_acs_per_token``: for every weight layer (each recurrent layer's
  input ``W`` and recurrent ``R`` matrices, and the tied decoder ``E^T``), the number of (nonzero input x nonzero
  weight) products per token (NeuroBench's ``single_layer_MACs`` with a binarized copy of the layer; bias excluded).
  A layer whose inputs are binary (the source population's ``payload_bits == 1``) counts ACs, otherwise MACs.
- ``dense_synaptic_ops_per_token``: the same with every input and weight taken as nonzero (``total=True``):
  the number of weight entries, pruned ones included.
- ``activation_sparsity``: zero outputs / all outputs of the recurrent layers over all tokens.
- ``connection_sparsity``: zero entries / all entries of the weight matrices (W, R of every layer and the tied
  decoder), as NeuroBench counts ``Linear`` layers (weights only; biases are not connections).
- ``footprint_bytes``: every parameter and buffer (LUTs) at its stored integer width, sparse matrices counted
  dense as a PyTorch module would hold them; the tied embedding/decoder once.

Not NeuroBench: NeuroBench's ``GRUCell``/``LSTMCell`` rules add the cells' element-wise gate products to the MACs;
here those are part of the neuron update (``neuron_update_active``) and are not counted, so the MACs are the
weight-layer (synaptic) operations only.  ``chip_synapse_memory_bytes`` is the mapped model's synapse memory
(sparse, as stored by the mapper) for comparison with ``footprint_bytes``.
"""

from __future__ import annotations

import numpy as np


def _layer_stats(L) -> tuple[int, int]:
    """``(entries, zeros)`` of a layer's W and R (dense shapes)."""
    GH = L.gates * L.n_h
    entries = (L.n_in + L.n_h) * GH
    nonzero = int(np.count_nonzero(L.W_data)) + int(np.count_nonzero(L.R_data))
    return entries, entries - nonzero


def static_metrics(golden) -> dict:
    """Connection sparsity and footprint of a :class:`nmsim.lm.golden.GoldenModel` (independent of tokens)."""
    mf = golden.mf
    entries = zeros = 0
    for L in golden.layers:
        e, z = _layer_stats(L)
        entries, zeros = entries + e, zeros + z
    entries += golden.emb.size
    zeros += golden.emb.size - int(np.count_nonzero(golden.emb))
    foot = 0
    for name, a in mf.arrays.items():
        if name.startswith("ref."):
            continue  # reference outputs shipped for tests, not part of the model
        parts = name.split(".")
        if len(parts) == 3 and parts[1] in ("W", "R"):
            if parts[2] == "data":  # a sparse matrix counted dense
                L = golden.layers[int(parts[0][1:])]
                rows = L.n_in if parts[1] == "W" else L.n_h
                foot += rows * L.gates * L.n_h * a.dtype.itemsize
            continue  # indices and row pointers: sparse storage, not parameters
        foot += a.size * a.dtype.itemsize
    return {"connection_sparsity": zeros / entries, "footprint_bytes": int(foot),
            "weights": int(entries)}


def dense_ops_per_token(golden) -> int:
    """Weight entries of every layer (W, R) and of the tied decoder: NeuroBench's dense synaptic operations."""
    return int(sum((L.n_in + L.n_h) * L.gates * L.n_h for L in golden.layers) + golden.emb.size)


def neurobench_block(golden, lm, rec, n_tokens: int, chip_bytes: int) -> dict:
    """The ``neurobench`` summary block from the replay's golden counts (``rec.g_ops``: per layer, W and R
    effective ops; ``rec.g_dec_ops``: the decoder's) and its chip payload counts (``rec.layer_events``)."""
    pops = lm.net.populations
    binary = [int(pops[lm.emb].payload_bits) == 1] + [int(pops[p].payload_bits) == 1 for p in lm.layer_pops]
    macs = acs = 0
    for i, ops in enumerate(rec.g_ops.tolist()):
        # layer i's W input is stage i (emb or the layer below); its R input is the layer itself
        if binary[i] and binary[i + 1]:
            acs += ops
        else:
            macs += ops  # a mix of graded and binary inputs is counted as MACs (conservative)
    if binary[-1]:
        acs += int(rec.g_dec_ops)
    else:
        macs += int(rec.g_dec_ops)
    widths = np.asarray(lm.hidden, np.int64)
    outputs = int(n_tokens) * int(widths.sum())
    st = static_metrics(golden)
    return {
        "effective_macs_per_token": macs / n_tokens,
        "effective_acs_per_token": acs / n_tokens,
        "dense_synaptic_ops_per_token": dense_ops_per_token(golden),
        "activation_sparsity": 1.0 - float(rec.layer_events.sum()) / outputs if outputs else 0.0,
        "connection_sparsity": st["connection_sparsity"],
        "footprint_bytes": st["footprint_bytes"],
        "weights": st["weights"],
        "chip_synapse_memory_bytes": int(chip_bytes),
        "definitions": "neurobench 2.3.0 (docs/replay.md#neurobench-metrics); MACs exclude cell-internal products",
    }
