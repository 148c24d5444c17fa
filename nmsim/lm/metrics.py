"""Activity, synaptic-operation counts and perplexity (torch-free).

Operation counts follow ``/work/shared/reference/egru-lm.md`` section 6:

* **synaptic ops** of layer ``l`` at step ``t`` = sum of ``nnz(W[:, j])`` over
  input units ``j`` with an event (``x_t[j] != 0``) + sum of ``nnz(R[:, k])``
  over units ``k`` with ``y_{t-1}[k] != 0``; nnz counts the real (pruned,
  quantized) nonzero weights.  Layer 1's input is the token's quantized
  embedding row (every nonzero entry is an event).  The tied decoder adds
  ``nnz(E[:, k])`` for every event ``k`` of the last layer.
* **dense ops** = ``G * n_l * (n_{l-1} + n_l)`` per layer (G = 3 for EGRU/GRU,
  4 for LSTM) + ``V * E`` for the decoder.

Elementwise gate/state work (O(H) per unit and step) and biases are not
counted, as in the reference.  Averages are per token of the evaluated stream.
"""

from __future__ import annotations

import math

import numpy as np


def gates_of(kind: str) -> int:
    return 4 if kind == "lstm" else 3


def dense_ops_per_layer(arch: dict) -> list[int]:
    sizes = [arch["emb"]] + list(arch["hidden"])
    G = gates_of(arch["kind"])
    return [G * sizes[i + 1] * (sizes[i] + sizes[i + 1]) for i in range(len(arch["hidden"]))]


def dense_ops_per_token(arch: dict) -> int:
    return sum(dense_ops_per_layer(arch)) + arch["vocab_size"] * arch["emb"]


def log_softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll_from_int_logits(logits_int: np.ndarray, targets: np.ndarray, scale: float) -> float:
    """Sum of ``-log softmax(scale * logits)[target]`` (float64; metrics only)."""
    if len(targets) == 0:
        return 0.0
    z = logits_int.astype(np.float64) * scale
    ls = log_softmax_rows(z)
    return float(-ls[np.arange(len(targets)), targets].sum())


def nll_from_float_logits(logits_f: np.ndarray, targets: np.ndarray, scale: float) -> float:
    """As :func:`nll_from_int_logits` for integer-valued float64 logits (in place)."""
    if len(targets) == 0:
        return 0.0
    z = logits_f[: len(targets)]
    z *= scale
    m = z.max(axis=1, keepdims=True)
    z -= m
    lse = np.log(np.exp(z.astype(np.float32)).sum(axis=1, dtype=np.float64))
    return float((lse - z[np.arange(len(targets)), targets]).sum())


def perplexity(nll_sum: float, n: int) -> float:
    return math.exp(nll_sum / max(n, 1))


def evaluate_golden(golden, tokens: np.ndarray) -> dict:
    """Integer perplexity, activity and op counts of ``tokens`` (zero initial state)."""
    r = golden.run(tokens, return_logits=False, targets_logprob=True)
    N = r["tokens"]
    arch = golden.mf.arch
    layer_ops = [o / N for o in r["ops_per_layer"]]
    dec = r["decoder_ops"] / N
    syn = sum(layer_ops) + dec
    dense = dense_ops_per_token(arch)
    return {
        "tokens": N,
        "predictions": r["predictions"],
        "int_perplexity": perplexity(r["nll"], r["predictions"]),
        "activity": r["activity"],
        "mean_activity": r["mean_activity"],
        "synaptic_ops_per_token": syn,
        "synaptic_ops_per_layer": layer_ops,
        "decoder_ops_per_token": dec,
        "dense_ops_per_token": dense,
        "dense_ops_per_layer": dense_ops_per_layer(arch),
        "reduction": dense / syn if syn else float("inf"),
        "argmax": r["argmax"],
    }


def ideal_reduction(activity: list[float], widths: list[int], density: float) -> float:
    """``1 / (alpha * d)`` with alpha the unit-weighted mean activity."""
    a = float(np.dot(activity, widths) / np.sum(widths))
    return 1.0 / (a * density) if a > 0 and density > 0 else float("inf")
