"""Quantization of a reduced NIR graph into an nmsim integer network (rules: ``docs/nir.md`` §Quantization).

Per population ``p`` one scale ``s_p`` multiplies everything in ``p``'s voltage units (incoming weights,
bias, threshold, initial voltage); spikes are binary, so the scale of one population never touches another.

0. Gains and ``4096 * dt/tau`` within 1e-6 (relative) of an integer snap to it (float32 export round-off).
1. If every value is already an integer at ``s = 1``, fits, and every leak is 0 or total (``dt/tau`` in
   {0, 1}, which integer rounding cannot change), ``s = 1`` (integer-valued graphs map exactly).
2. Otherwise ``s`` is the largest power of two at which the largest incoming weight fits the chip's signed
   weight range (``|w| <= 2**(weight_bits-1) - 1``) and threshold, bias and initial voltage fit the model's
   state (31 bits for ``lif``, 23 for ``loihi_lif``).
``scale_mode="graph"`` uses the smallest of those scales for every population.

Integers: ``w = round(s * W)`` (half away from zero), ``bias = round(s * b)``, ``v_init = round(s * v0)``,
``threshold = floor(s * theta)`` (exact: for integer ``v``, ``v > s*theta`` iff ``v > floor(s*theta)``),
``decay = round(4096 * dt/tau)`` (12-bit fraction).  LIF and IF map onto ``lif`` (reset to zero, or subtract
with ``reset="subtract"``), CubaLIF onto ``loihi_lif`` (its current ``u`` in units of ``r*dt/tau_mem * i``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from nmsim.describe.network import Network
from nmsim.describe.neuron_models import LOIHI_UV_LIMIT
from nmsim.nir.graph import NirError, RealNet, finite_check, read_graph, reduce_graph

SCALE_MODES = ("layer", "graph")
RESET_MODES = ("zero", "subtract")
STATE_LIMIT = {"lif": 2**31 - 1, "loihi_lif": LOIHI_UV_LIMIT - 1}


def _round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (independent of NumPy's banker's rounding)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


@dataclass
class QuantReport:
    """What quantization did, per population (JSON-ready): scale, model, exactness and errors."""

    graph: str
    dt: float | None
    weight_bits: int
    scale_mode: str
    reset: str
    populations: list = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return all(p["exact"] for p in self.populations)

    def to_dict(self) -> dict:
        return {"graph": self.graph, "dt": self.dt, "weight_bits": self.weight_bits, "scale_mode": self.scale_mode,
                "reset": self.reset, "exact": self.exact, "populations": self.populations}

    def table(self) -> str:
        rows = [f"{'population':<16} {'model':<10} {'n':>6} {'scale':>10} {'max |dw|':>10} {'decay err':>10} exact"]
        for p in self.populations:
            rows.append(f"{p['name']:<16} {p['model']:<10} {p['n']:>6} {p['scale']:>10g} "
                        f"{p['max_weight_error']:>10.3g} {p['max_decay_error']:>10.3g} {p['exact']}")
        return "\n".join(rows)


def _pop_values(net: RealNet, name: str):
    """Real-valued quantities of population ``name`` in its voltage (``lif``) / current (``cuba``) units."""
    p = net.pops[name]
    ins = {s: x for (s, d), x in net.proj.items() if d == name}
    b_in = net.input_bias.get(name, np.zeros(p.n))
    col = p.gain if p.kind == "lif" else p.gain * p.w_in
    weights = {s: (x @ sp.diags(col)).tocsr() for s, x in ins.items()}
    if p.kind == "lif":
        bias = p.bias + p.gain * b_in
    else:
        if np.any(b_in != 0):
            raise NirError(f"population {name!r} (CubaLIF): an input bias (Affine/Conv bias) into the synaptic "
                           "current is not representable (loihi_lif adds its bias to v); use Linear")
        bias = p.bias
    return weights, bias


def _fits(scale, weights, bias, p, wmax, limit) -> bool:
    wm = max((np.abs(x.data).max() for x in weights.values() if x.nnz), default=0.0)
    vals = [np.abs(v).max(initial=0.0) for v in (bias, p.threshold, p.v_init)]
    return _round(np.array([wm * scale]))[0] <= wmax and all(math.floor(v * scale + 0.5) <= limit for v in vals)


def _leaks_exact(p) -> bool:
    """Leaks that integer rounding cannot change: none (0) or total (1) per step."""
    return all(((x == 0) | (x == 1)).all() for x in (p.leak, p.syn_leak) if x is not None)


def _choose_scale(weights, bias, p, wmax, limit, where) -> float:
    vals = [x.data for x in weights.values()] + [bias, p.threshold, p.v_init]
    if _leaks_exact(p) and all(np.array_equal(v, np.round(v)) for v in vals) and _fits(1.0, weights, bias, p, wmax, limit):
        return 1.0
    for k in range(40, -41, -1):
        if _fits(2.0**k, weights, bias, p, wmax, limit):
            return 2.0**k
    raise NirError(f"{where}: population {p.name!r}: no power-of-two scale in 2**-40..2**40 fits its values")


def quantize(net: RealNet, where: str, weight_bits: int, scale_mode: str = "layer", reset: str = "zero",
             dt: float | None = None) -> tuple[Network, QuantReport]:
    """Integer network and report from a reduced graph (see the module docstring for the rules)."""
    if scale_mode not in SCALE_MODES:
        raise NirError(f"scale mode {scale_mode!r}; choices: {', '.join(SCALE_MODES)}")
    if reset not in RESET_MODES:
        raise NirError(f"reset {reset!r}; choices: {', '.join(RESET_MODES)}")
    finite_check(net, where)
    wmax = 2 ** (weight_bits - 1) - 1
    rep = QuantReport(str(where), dt, weight_bits, scale_mode, reset)
    vals, scales = {}, {}
    for name, p in net.pops.items():
        if p.kind == "input":
            continue
        model = "lif" if p.kind == "lif" else "loihi_lif"
        if model == "loihi_lif" and reset == "subtract":
            raise NirError(f"{where}: population {name!r} (CubaLIF -> loihi_lif) resets to zero only")
        vals[name] = _pop_values(net, name)
        scales[name] = _choose_scale(*vals[name], p, wmax, STATE_LIMIT[model], where)
    if scale_mode == "graph" and scales:
        g = min(scales.values())
        scales = {k: g for k in scales}
    out = Network(net.name)
    for name, p in net.pops.items():
        if p.kind == "input":
            out.add_input(name, p.n)
    for name, p in net.pops.items():
        if p.kind == "input":
            continue
        weights, bias = vals[name]
        s = scales[name]
        thr = np.floor(s * p.threshold)
        b, v0 = _round(s * bias), _round(s * p.v_init)
        decay = _round(4096 * p.leak)
        if ((decay < 0) | (decay > 4096)).any():
            raise NirError(f"{where}: population {name!r}: dt/tau = {p.leak.max():g} outside 0..1")
        derr = float(np.abs(decay / 4096 - p.leak).max(initial=0.0))
        # exact: integers at this scale, decays on the 12-bit grid, and a leak that integer rounding cannot
        # change (0 = no leak, 4096 = no memory)
        leaks = [decay]
        if p.kind == "lif":
            out.add_population(name, "lif", p.n, to_host=p.to_host, threshold=thr, decay=decay, bias=b,
                               reset_mode=reset, v_init=v0)
            model = "lif"
        else:
            du = _round(4096 * p.syn_leak)
            derr = max(derr, float(np.abs(du / 4096 - p.syn_leak).max(initial=0.0)))
            leaks.append(du)
            out.add_population(name, "loihi_lif", p.n, to_host=p.to_host, threshold=thr, du=du, dv=decay, bias=b,
                               input_shift=0, u_init=0, v_init=v0)
            model = "loihi_lif"
        werr, wexact = 0.0, True
        for src, x in weights.items():
            q = x.copy()
            q.data = _round(s * x.data)
            werr = max(werr, float(np.abs(q.data / s - x.data).max(initial=0.0)))
            wexact &= bool(np.array_equal(q.data, s * x.data))
            out.connect(src, name, q)
        exact = (wexact and np.array_equal(b, s * bias) and np.array_equal(v0, s * p.v_init) and derr == 0.0
                 and all(((lk == 0) | (lk == 4096)).all() for lk in leaks))
        rep.populations.append({"name": name, "model": model, "n": p.n, "scale": s, "to_host": p.to_host,
                                "max_weight_error": werr, "max_decay_error": derr, "exact": bool(exact),
                                "threshold_range": [int(thr.min()), int(thr.max())]})
    return out, rep


def import_nir(path: str | Path, weight_bits: int, dt: float | None = None, scale_mode: str = "layer",
               reset: str = "zero") -> tuple[Network, QuantReport]:
    """Read, reduce and quantize the NIR graph at ``path``."""
    graph = read_graph(path)
    net = reduce_graph(graph, str(path), dt)
    return quantize(net, str(path), weight_bits, scale_mode, reset, dt)
