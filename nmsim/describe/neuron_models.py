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

N_PARAM_COLUMNS = 8  # width of CompiledModel.neuron_param
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


def lif_update(param: np.ndarray, state: np.ndarray, acc: np.ndarray):
    """Integer LIF of ``docs/engine-model.md`` §1 on whole arrays (int64)."""
    thr, decay, bias, reset, vmin, vmax = (param[:, i] for i in range(6))
    v = state[:, 0]
    u = acc[:, 0]
    v1 = v - ((v * decay) >> 12) + bias + u
    v1 = np.minimum(np.maximum(v1, vmin), vmax)
    fired = v1 > thr
    after = np.where(reset == 0, v1 - thr, 0)
    new_v = np.where(fired, after, v1)
    active = (u != 0) | (v != 0) | (bias != 0)
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
    if ((p["v_init"] < p["v_min"]) | (p["v_init"] > p["v_max"])).any():
        return "v_init must lie in [v_min, v_max]"
    return None


INPUT = register_model(NeuronModel(
    name="input", model_id=0, params=(), state=(), defaults={}, n_inputs=0, host=True))

LIF = register_model(NeuronModel(
    name="lif", model_id=1,
    params=("threshold", "decay", "bias", "reset_mode", "v_min", "v_max"),
    state=("v",),
    defaults={"decay": 0, "bias": 0, "reset_mode": 0, "v_min": -(2**31), "v_max": 2**31 - 1, "v_init": 0},
    n_inputs=1, host=False, update=lif_update, validate=_lif_validate,
    encode={"reset_mode": {"subtract": 0, "zero": 1}},
))
