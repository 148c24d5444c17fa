"""Fixed-point helpers shared by export (quantization) and the golden reference.

All run-time functions here take and return NumPy ``int64`` arrays and use
integer operations only.  The number formats are documented in
``docs/number-formats.md``; the conventions are:

* ``Q.F`` means an integer ``v`` that stands for the real value ``v / 2**F``.
* :func:`rshift_round` is the only rounding rule at run time: add
  ``2**(s-1)`` then shift right arithmetically by ``s`` (round half up,
  i.e. towards +infinity on ties).  ``s == 0`` is the identity.
* :func:`saturate` clips to the signed range of a bit width
  (``[-2**(b-1), 2**(b-1) - 1]``).
* Lookup tables map a ``Q.FP`` pre-activation to a ``Q.15`` output; the index
  is ``clip(rshift_round(x, FP - LUT_FRAC) + LUT_SIZE // 2, 0, LUT_SIZE - 1)``.
"""

from __future__ import annotations

import math

import numpy as np

#: pre-activation format (fraction bits) -- int32 range, Q.12
FP = 12
#: gate / LUT output format, Q.15 (sigmoid in [0, 32767], tanh in [-32767, 32767])
FO = 15
ONE_O = 1 << FO  # 32768 == 1.0 in Q.15
LUT_SIZE = 4096
#: LUT input resolution: sigmoid step 2**-8 over [-8, 8); tanh step 2**-9 over [-4, 4)
SIGMOID_FRAC = 8
TANH_FRAC = 9
#: requantization multipliers are in [2**14, 2**15)
MULT_BITS = 15


def rshift_round(x, s: int | np.ndarray):
    """Round-half-up arithmetic right shift: ``(x + 2**(s-1)) >> s`` (``s`` may be an array)."""
    x = np.asarray(x, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    if s.ndim == 0:
        if int(s) <= 0:
            return x.copy()
        return (x + (np.int64(1) << (s - 1))) >> s
    half = np.where(s > 0, np.int64(1) << np.maximum(s - 1, 0), 0)
    return (x + half) >> s


def saturate(x, bits: int):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.asarray(x, dtype=np.int64), lo, hi)


def lut_index(x, frac: int, size: int = LUT_SIZE, fp: int = FP):
    idx = rshift_round(x, fp - frac) + size // 2
    return np.clip(idx, 0, size - 1)


def lut_lookup(lut: np.ndarray, x, frac: int, fp: int = FP):
    return lut[lut_index(x, frac, len(lut), fp)]


# ---------------------------------------------------------------- export side
# (these use floats: they *define* the integer tables and scales once, at export)

def make_sigmoid_lut(size: int = LUT_SIZE, frac: int = SIGMOID_FRAC) -> np.ndarray:
    xs = (np.arange(size, dtype=np.float64) - size // 2) / (1 << frac)
    v = np.floor(1.0 / (1.0 + np.exp(-xs)) * ONE_O + 0.5)
    return np.clip(v, 0, ONE_O - 1).astype(np.int64)


def make_tanh_lut(size: int = LUT_SIZE, frac: int = TANH_FRAC) -> np.ndarray:
    xs = (np.arange(size, dtype=np.float64) - size // 2) / (1 << frac)
    v = np.floor(np.tanh(xs) * ONE_O + 0.5)
    return np.clip(v, -(ONE_O - 1), ONE_O - 1).astype(np.int64)


def round_half_up(x) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def quantize_symmetric(x, scale, bits: int) -> np.ndarray:
    """``saturate(round(x / scale))`` to the symmetric range ``+-(2**(bits-1) - 1)``."""
    q = round_half_up(np.asarray(x, dtype=np.float64) / scale)
    m = (1 << (bits - 1)) - 1
    return np.clip(q, -m, m)


def choose_multiplier(scale: np.ndarray, out_frac: int = FP, mult_bits: int = MULT_BITS):
    """Integer ``(mult, shift)`` with ``mult / 2**shift ~= scale * 2**out_frac``.

    ``mult`` is in ``[2**(mult_bits-1), 2**mult_bits)`` (normalised), ``shift >= 0``.
    """
    scale = np.asarray(scale, dtype=np.float64)
    target = scale * (1 << out_frac)
    e = np.floor(np.log2(np.maximum(target, 1e-300)))
    shift = (mult_bits - 1 - e).astype(np.int64)
    mult = round_half_up(target * np.power(2.0, shift))
    # rounding may reach 2**mult_bits
    over = mult >= (1 << mult_bits)
    mult = np.where(over, mult >> 1, mult)
    shift = np.where(over, shift - 1, shift)
    if np.any(shift < 0):
        raise ValueError("requantization scale too large for the multiplier format")
    return mult.astype(np.int64), shift.astype(np.int64)


def sigmoid_ref(x):  # float helpers for tests/calibration only
    return 1.0 / (1.0 + np.exp(-x))


def log2_int(x: float) -> int:
    return int(math.floor(math.log2(x)))
