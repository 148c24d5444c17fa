"""Neuron models: a registry from model name to id, parameter columns and a NumPy update.

A model says how its populations' parameters fill the ``neuron_param`` columns
(and ``neuron_state`` columns) of the compiled model, and gives a plain NumPy
integer update used by :mod:`nmsim.describe.reference`.  A new model (e.g. an
EGRU) registers itself with :func:`register_model`; the mapper and compiler
never name models.

Model ids must equal the constants in ``nmsim/compile/compiled.py``
(``MODEL_INPUT``, ``MODEL_LIF``); ``tests/test_network.py`` checks that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

N_PARAM_COLUMNS = 24  # width of CompiledModel.neuron_param (LIF uses 0..6; recurrent cells 0..21)
N_STATE_COLUMNS = 4  # width of CompiledModel.neuron_state


@dataclass(frozen=True)
class NeuronModel:
    """One neuron model.

    ``params``: names of the ``neuron_param`` columns, in column order.
    ``state``: names of the ``neuron_state`` columns, in column order; the
    initial value of state column ``s`` comes from parameter ``s + "_init"``.
    ``defaults``: parameter defaults (missing names are required).
    ``n_inputs``: accumulators the model reads (projections may target 0..n_inputs-1).
    ``host``: populations of this model live on the host (inputs).
    ``update(param, state, acc) -> (fired bool[n], payload int64[n], new_state, active bool[n])``
    with ``param int64[n, len(params)]``, ``state int64[n, len(state)]``,
    ``acc int64[n, n_inputs]``; ``None`` for host models.
    ``validate(values: dict[str, int64[n]]) -> str | None``: problem text or ``None``.
    """

    name: str
    model_id: int
    params: tuple[str, ...]
    state: tuple[str, ...]
    defaults: dict
    n_inputs: int
    host: bool
    update: Callable | None = None
    validate: Callable | None = None
    encode: dict | None = None  # param name -> {text value: int code}
    needs_luts: bool = False  # ``update`` takes ``luts=`` (the network's lookup tables)
    reads_received: bool = False  # ``update`` takes ``received=`` (bool[n]: >= 1 synaptic event last step)

    @property
    def settable(self) -> tuple[str, ...]:
        """Names a population may set: parameters and ``<state>_init`` values."""
        return self.params + tuple(f"{s}_init" for s in self.state)


_REGISTRY: dict[str, NeuronModel] = {}


def register_model(model: NeuronModel) -> NeuronModel:
    """Add a model; its name and id must be new."""
    if model.name in _REGISTRY:
        raise ValueError(f"neuron model {model.name!r} is already registered")
    if any(m.model_id == model.model_id for m in _REGISTRY.values()):
        raise ValueError(f"neuron model id {model.model_id} is already used")
    if len(model.params) > N_PARAM_COLUMNS or len(model.state) > N_STATE_COLUMNS:
        raise ValueError(f"neuron model {model.name!r}: at most {N_PARAM_COLUMNS} params, {N_STATE_COLUMNS} state columns")
    _REGISTRY[model.name] = model
    return model


def get_model(name: str) -> NeuronModel:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"neuron model {name!r}; choices: {', '.join(sorted(_REGISTRY))}") from None


def model_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


# --------------------------------------------------------------------------- LIF


def lif_update(param: np.ndarray, state: np.ndarray, acc: np.ndarray, received: np.ndarray | None = None):
    """Integer LIF of ``docs/engine-model.md`` §1 on whole arrays (int64).

    ``received bool[n]``: the neuron received >= 1 synaptic event in the previous step (zero weights
    included); with ``update_on_event`` 1 it makes the update *active* (``None``: no neuron received one)."""
    thr, decay, bias, reset, vmin, vmax, on_event = (param[:, i] for i in range(7))
    v = state[:, 0]
    u = acc[:, 0]
    v1 = v - ((v * decay) >> 12) + bias + u
    v1 = np.minimum(np.maximum(v1, vmin), vmax)
    fired = v1 > thr
    after = np.where(reset == 0, v1 - thr, 0)
    new_v = np.where(fired, after, v1)
    active = (u != 0) | (v != 0) | (bias != 0)
    if received is not None:
        active |= received & (on_event != 0)
    new_state = state.copy()
    new_state[:, 0] = new_v
    return fired, fired.astype(np.int64), new_state, active


def _lif_validate(p: dict) -> str | None:
    if ((p["decay"] < 0) | (p["decay"] > 4096)).any():
        return "decay must be in 0..4096 (12-bit fraction)"
    if ((p["reset_mode"] != 0) & (p["reset_mode"] != 1)).any():
        return "reset must be 'subtract' (0) or 'zero' (1)"
    if (p["v_min"] > p["v_max"]).any():
        return "v_min must be <= v_max"
    if ((p["update_on_event"] != 0) & (p["update_on_event"] != 1)).any():
        return "update_on_event must be 0 or 1"
    if ((p["v_init"] < p["v_min"]) | (p["v_init"] > p["v_max"])).any():
        return "v_init must lie in [v_min, v_max]"
    return None


INPUT = register_model(NeuronModel(
    name="input", model_id=0, params=(), state=(), defaults={}, n_inputs=0, host=True))

LIF = register_model(NeuronModel(
    name="lif", model_id=1,
    params=("threshold", "decay", "bias", "reset_mode", "v_min", "v_max", "update_on_event"),
    state=("v",),
    defaults={"decay": 0, "bias": 0, "reset_mode": 0, "v_min": -(2**31), "v_max": 2**31 - 1, "update_on_event": 0,
              "v_init": 0},
    n_inputs=1, host=False, update=lif_update, validate=_lif_validate,
    encode={"reset_mode": {"subtract": 0, "zero": 1}}, reads_received=True,
))


# --------------------------------------------------------------------------- Loihi LIF (two state)
#
# Loihi 1's compartment arithmetic as Lava's bit-accurate ``PyLifModelBitAcc`` computes it
# (``docs/engine-model.md`` §1, ``docs/nir.md``): 24-bit current ``u`` and voltage ``v``,
# 12-bit decays applied by truncation toward zero, ``u`` wrapping, ``v`` saturating,
# reset to zero.  ``threshold`` and ``bias`` are in the 24-bit state's units (Lava's ``vth << 6``,
# ``bias_mant << bias_exp``); the summed synaptic input is shifted left by ``input_shift`` (Loihi's 6-bit
# MSB alignment, plus 1 where 8-bit weights hold Lava's even mixed-sign weights halved); ``du`` is Lava's
# ``du + 1`` (its ``ds_offset``).

MODEL_LOIHI_LIF = 6
LOIHI_UV_LIMIT = 2**23  # Loihi's 24-bit u, v: u wraps into (-2**23, 2**23], v saturates at +-(2**23 - 1)


def _trunc_decay(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``sign(x * (4096 - d)) * (|x * (4096 - d)| >> 12)``: decay with truncation toward zero."""
    prod = x * (4096 - d)
    return np.sign(prod) * (np.abs(prod) >> 12)


def loihi_lif_update(param: np.ndarray, state: np.ndarray, acc: np.ndarray):
    """Loihi LIF on whole arrays (int64); columns: threshold, du, dv, bias, input_shift; state u, v."""
    thr, du, dv, bias, shift = (param[:, i] for i in range(5))
    u, v = state[:, 0], state[:, 1]
    a = acc[:, 0]
    d = _trunc_decay(u, du) + a * (np.int64(1) << shift)
    w = np.where(d > LOIHI_UV_LIMIT, d - 2 * LOIHI_UV_LIMIT, d)
    u1 = np.where(w <= -LOIHI_UV_LIMIT, d + 2 * LOIHI_UV_LIMIT, w)
    v1 = np.clip(_trunc_decay(v, dv) + u1 + bias, -LOIHI_UV_LIMIT + 1, LOIHI_UV_LIMIT - 1)
    fired = v1 > thr
    new_state = state.copy()
    new_state[:, 0] = u1
    new_state[:, 1] = np.where(fired, 0, v1)
    active = (a != 0) | (u != 0) | (v != 0) | (bias != 0)
    return fired, fired.astype(np.int64), new_state, active


def _loihi_lif_validate(p: dict) -> str | None:
    for k in ("du", "dv"):
        if ((p[k] < 0) | (p[k] > 4096)).any():
            return f"{k} must be in 0..4096 (12-bit decay fraction)"
    if ((p["input_shift"] < 0) | (p["input_shift"] > 16)).any():
        return "input_shift must be in 0..16"
    lim = LOIHI_UV_LIMIT
    if ((p["u_init"] <= -lim) | (p["u_init"] > lim)).any():
        return "u_init must lie in (-2**23, 2**23] (24-bit current)"
    if ((p["v_init"] < -lim + 1) | (p["v_init"] > lim - 1)).any():
        return "v_init must lie in [-(2**23 - 1), 2**23 - 1] (24-bit voltage)"
    if (np.abs(p["bias"]) >= lim).any():
        return "|bias| must be < 2**23"
    return None


LOIHI_LIF = register_model(NeuronModel(
    name="loihi_lif", model_id=MODEL_LOIHI_LIF, params=("threshold", "du", "dv", "bias", "input_shift"),
    state=("u", "v"), defaults={"du": 4096, "dv": 0, "bias": 0, "input_shift": 0, "u_init": 0, "v_init": 0},
    n_inputs=1, host=False, update=loihi_lif_update, validate=_loihi_lif_validate,
))


# --------------------------------------------------------------------------- recurrent cells (LM replay)
#
# Column layout shared by ``egru``, ``gru`` and ``lstm`` (``docs/engine-model.md`` §1):
# 0-3 bias per accumulator, 4-7 requant multiplier per accumulator, 8-11 requant shift
# per accumulator (EGRU/GRU accumulators 2 and 3 both carry the candidate row's
# constants), 12 theta (EGRU threshold, Q.FC), 13 fc (state frac), 14 fy (payload
# frac), 15 fp (pre-activation frac), 16 sigmoid LUT frac, 17 tanh LUT frac,
# 18 payload bits, 19 state bits, 20 sigmoid LUT id, 21 tanh LUT id (rows of
# ``CompiledModel.lut``).  State column 0 is the cell state ``c`` (Q.FC).

CELL_PARAMS = tuple(f"bias{k}" for k in range(4)) + tuple(f"mult{k}" for k in range(4)) + \
    tuple(f"shift{k}" for k in range(4)) + ("theta", "fc", "fy", "fp", "sigmoid_frac", "tanh_frac",
                                            "cell_payload_bits", "state_bits", "sigmoid_lut", "tanh_lut")
CELL_COL = {name: i for i, name in enumerate(CELL_PARAMS)}


def _cell_validate(p: dict) -> str | None:
    for k in range(4):
        if (p[f"shift{k}"] < 0).any() or (p[f"shift{k}"] > 62).any():
            return "requantization shifts must be in 0..62"
    if ((p["cell_payload_bits"] < 2) | (p["cell_payload_bits"] > 32)).any():
        return "cell_payload_bits must be in 2..32"
    if ((p["state_bits"] < 2) | (p["state_bits"] > 32)).any():
        return "state_bits must be in 2..32"
    if (p["sigmoid_lut"] < 0).any() or (p["tanh_lut"] < 0).any():
        return "LUT ids must be >= 0"
    return None


def cell_params_from_columns(kind: str, param: np.ndarray, luts):
    """A :class:`nmsim.lm.golden.CellParams` for ``n`` units of one format from their ``neuron_param`` rows.

    Every row must share the format columns (13..21); ``luts`` is a sequence of int64 tables."""
    from nmsim.lm.golden import CellParams

    p = np.asarray(param, np.int64)
    f = p[0]
    rows = [0, 1, 2] if kind in ("egru", "gru") else [0, 1, 2, 3]
    return CellParams(kind=kind, bias=p[:, 0:4].T.copy(), mult=p[:, 4:8].T[rows].copy(),
                      shift=p[:, 8:12].T[rows].copy(), theta=p[:, 12].copy() if kind == "egru" else None,
                      lut_sigmoid=np.asarray(luts[int(f[20])], np.int64), lut_tanh=np.asarray(luts[int(f[21])], np.int64),
                      fc=int(f[13]), fy=int(f[14]), fp=int(f[15]), sigmoid_frac=int(f[16]), tanh_frac=int(f[17]),
                      payload_bits=int(f[18]), state_bits=int(f[19]))


def _cell_update(kind: str):
    def update(param, state, acc, luts=None):
        from nmsim.lm.golden import CELL_FUNCS

        if luts is None:
            raise ValueError(f"model {kind!r}: the NumPy update needs the network's LUTs")
        fired = np.zeros(param.shape[0], bool)
        payload = np.zeros(param.shape[0], np.int64)
        new_state = state.copy()
        fmt = param[:, 13:22]
        for key in np.unique(fmt, axis=0):
            sel = np.flatnonzero((fmt == key).all(axis=1))
            cp = cell_params_from_columns(kind, param[sel], luts)
            y, c = CELL_FUNCS[kind](np.ascontiguousarray(acc[sel, :4].T), state[sel, 0].copy(), cp)
            payload[sel] = y
            new_state[sel, 0] = c
        # EGRU: an event iff the payload is non-zero; dense baselines (GRU, LSTM) send every step
        fired[:] = (payload != 0) if kind == "egru" else True
        return fired, payload, new_state, np.ones(param.shape[0], bool)
    return update


def readout_update(param, state, acc, luts=None):
    """Decoder unit: ``logit = saturate_int32(acc0 + bias)``; always emits (payload may be 0)."""
    v = acc[:, 0] + param[:, 0]
    v = np.minimum(np.maximum(v, -(2**31)), 2**31 - 1)
    n = param.shape[0]
    return np.ones(n, bool), v.astype(np.int64), state.copy(), np.ones(n, bool)


_CELL_DEFAULTS = {"theta": 0, "c_init": 0}

EGRU = register_model(NeuronModel(
    name="egru", model_id=2, params=CELL_PARAMS, state=("c",), defaults=dict(_CELL_DEFAULTS), n_inputs=4,
    host=False, update=_cell_update("egru"), validate=_cell_validate, needs_luts=True))
GRU = register_model(NeuronModel(
    name="gru", model_id=3, params=CELL_PARAMS, state=("c",), defaults=dict(_CELL_DEFAULTS), n_inputs=4,
    host=False, update=_cell_update("gru"), validate=_cell_validate, needs_luts=True))
LSTM = register_model(NeuronModel(
    name="lstm", model_id=4, params=CELL_PARAMS, state=("c",), defaults=dict(_CELL_DEFAULTS), n_inputs=4,
    host=False, update=_cell_update("lstm"), validate=_cell_validate, needs_luts=True))
READOUT = register_model(NeuronModel(
    name="readout", model_id=5, params=("bias",), state=(), defaults={"bias": 0}, n_inputs=1, host=False,
    update=readout_update))
