"""Synthetic (untrained, random-weight) model files, torch-free: for tests and benchmarks.

The weights are random integers, so perplexities are meaningless; every other
property the replay cares about (sizes, sparsity, event activity, integer
formats) is realistic.  ``theta`` sets the EGRU activity.
"""

from __future__ import annotations

import numpy as np

from nmsim.lm.intformat import make_sigmoid_lut, make_tanh_lut

FORMATS = {"accumulator_bits": 64, "emb_scale": 1.0 / 64, "gate_frac": 15, "logit_bits": 32,
           "logit_scale": 1.0 / 4096, "lut_size": 4096, "mult_bits": 15, "payload_bits": 8, "payload_frac": 7,
           "preact_frac": 12, "rounding": "round-half-up: (x + 2**(s-1)) >> s (arithmetic shift)",
           "sigmoid_lut_frac": 8, "state_bits": 16, "state_frac": 14, "tanh_lut_frac": 9, "weight_bits": 8}


def _csr(rng, n_src: int, n_rows: int, density: float, wmax: int):
    nnz_per = rng.binomial(n_rows, density, size=n_src)
    indptr = np.zeros(n_src + 1, np.int64)
    indptr[1:] = np.cumsum(nnz_per)
    idx = np.concatenate([np.sort(rng.choice(n_rows, size=k, replace=False)) for k in nnz_per]
                         or [np.zeros(0, np.int64)])
    w = rng.integers(1, wmax + 1, size=idx.size) * rng.choice([-1, 1], size=idx.size)
    return indptr.astype(np.int32), idx.astype(np.uint16), w.astype(np.int8)


def synthetic_model(kind: str = "egru", vocab: int | list = 20, emb: int = 8, hidden=(8, 8, 8),
                    sparsity: float = 0.5, seed: int = 0, theta: float = 0.25, name: str | None = None,
                    emb_density: float = 1.0, wmax: int = 60) -> tuple[dict, dict]:
    """``(header, arrays)`` for :func:`nmsim.lm.modelfile.save_model`."""
    rng = np.random.default_rng(seed)
    words = list(vocab) if not isinstance(vocab, int) else ["<eos>"] + [f"w{i}" for i in range(1, vocab)]
    V = len(words)
    hidden = list(hidden)
    if hidden[-1] != emb:
        raise ValueError("tied decoder: the last hidden size must equal the embedding size")
    G = 4 if kind == "lstm" else 3
    sizes = [emb] + hidden
    arrays = {}
    E = rng.integers(-127, 128, size=(V, emb)).astype(np.int8)
    if emb_density < 1.0:
        E[rng.random((V, emb)) > emb_density] = 0
    arrays["emb"] = E
    arrays["dec.bias"] = rng.integers(-2000, 2000, size=V).astype(np.int32)
    arrays["lut.sigmoid"] = make_sigmoid_lut().astype(np.int32)
    arrays["lut.tanh"] = make_tanh_lut().astype(np.int32)
    sp = {}
    for i in range(len(hidden)):
        n_in, H = sizes[i], sizes[i + 1]
        for m, n_src in (("W", n_in), ("R", H)):
            ip, ix, dd = _csr(rng, n_src, G * H, 1.0 - sparsity, wmax)
            arrays[f"l{i}.{m}.indptr"], arrays[f"l{i}.{m}.indices"], arrays[f"l{i}.{m}.data"] = ip, ix, dd
            sp[f"layers.{i}.{m}"] = float(1.0 - len(dd) / (n_src * G * H))
        # fan-in of a gate row ~ (n_in + H) * density; aim for pre-activations of order 1.0 (Q.12 = 4096)
        fan = max(1.0, (n_in + H) * (1.0 - sparsity))
        factor = 4096.0 / (wmax / 2 * 64 * np.sqrt(fan) * 0.5)
        shift = 20
        mult = int(round(factor * (1 << shift)))
        while mult >= (1 << 15):
            mult >>= 1
            shift -= 1
        while mult < (1 << 14) and shift < 40:
            mult <<= 1
            shift += 1
        arrays[f"l{i}.bias"] = rng.integers(-200, 200, size=(4, H)).astype(np.int32)
        arrays[f"l{i}.mult"] = (mult + rng.integers(-500, 500, size=(G, H))).astype(np.int32)
        arrays[f"l{i}.shift"] = np.full((G, H), shift, np.int32)
        if kind == "egru":
            arrays[f"l{i}.theta"] = (rng.uniform(0.5, 1.5, size=H) * theta * (1 << 14)).astype(np.int32)
    sp["embedding"] = float((E == 0).mean())
    header = {
        "format": "nmsim-lm", "format_version": 1,
        "name": name or f"synthetic-{kind}-{emb}-{'x'.join(map(str, hidden))}-s{int(round(sparsity * 100))}",
        "arch": {"kind": kind, "vocab_size": V, "emb": emb, "hidden": hidden, "gates": G, "n_acc": 4,
                 "tied_decoder": True},
        "vocab": words, "formats": dict(FORMATS), "sparsity": sp,
        "provenance": {"synthetic": True, "seed": seed, "sparsity_target": sparsity,
                       "note": "untrained random integer weights (nmsim.replay.synth)"},
    }
    return header, arrays


def save_synthetic(path, **kw) -> str:
    from nmsim.lm.modelfile import save_model

    header, arrays = synthetic_model(**kw)
    return save_model(path, header, arrays)
