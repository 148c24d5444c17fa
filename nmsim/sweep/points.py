"""Point kinds: what one sweep point computes.

A *point kind* turns a point's resolved parameters into a flat dict of
summary metrics.  It must be a pure function of the parameters (same
parameters -> same metrics, on any worker, in any order) and importable by
name in a fresh process, because points run in worker processes (local or on
a Dask cluster) and only the configuration travels.

Kinds:

``replay``
    Replays a language model on a simulated chip; implemented by
    :mod:`nmsim.replay.sweep_point` (``sweep_point``, ``validate_sweep_params``,
    ``warm``).  See :data:`REPLAY_CONTRACT`.
``synthetic``
    A cheap, deterministic stand-in with the same metric names, for tests,
    benchmarks and trying the sweep machinery.  Its numbers are made up from
    a toy cost model; they are *not* simulator results.

This module imports nothing heavy at import time (numpy and numba are
imported inside functions), so a worker can set its thread limits first.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Mapping

from nmsim.errors import NmsimError, SweepError

Metrics = dict[str, "float | int | str"]

#: Metric names every ``replay`` point must return (the report's defaults).
REPLAY_METRICS = ("energy_per_token_nj", "latency_per_token_us", "perplexity")

#: Default report axes: energy and latency per token, and model quality.
DEFAULT_OBJECTIVES = {
    "energy": "energy_per_token_nj",
    "latency": "latency_per_token_us",
    "quality": "perplexity",
}

REPLAY_CONTRACT = """\
nmsim.replay must provide
    sweep_point(params: dict[str, Any]) -> dict[str, float | int | str]
returning at least energy_per_token_nj, latency_per_token_us and perplexity,
and may provide
    validate_sweep_params(params: dict[str, Any]) -> dict[str, Any]
    warm() -> None
"""


@dataclasses.dataclass(frozen=True)
class PointKind:
    """A registered point kind.

    ``run(params) -> metrics`` is the point function.  ``validate(params) ->
    params`` checks the keys and fills in defaults (the result is what gets
    hashed and stored).  ``warm()`` compiles/loads the Numba kernels the kind
    uses, once per process, before points run.  ``check()`` raises
    :class:`SweepError` if the kind cannot run in this installation.
    """

    name: str
    run: Callable[[dict[str, Any]], Mapping[str, Any]]
    validate: Callable[[dict[str, Any]], dict[str, Any]]
    warm: Callable[[], None] | None = None
    check: Callable[[], None] | None = None
    required_metrics: tuple[str, ...] = ()
    objectives: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(DEFAULT_OBJECTIVES))
    #: ``share_groups(params) -> (functional group, timed group)``: points of a group may reuse the work of
    #: the group's first point (the runner holds them back until it is done); ``None``: no sharing
    share_groups: Callable[[dict[str, Any]], tuple[str, str]] | None = None
    #: ``run_shared(params, context) -> (metrics, passes)``: ``run`` with the runner's ``context``
    #: (``record_dir``, ``share_functional``, ``share_timed``); ``passes``: counts of what ran
    run_shared: Callable[[dict[str, Any], dict[str, Any]], tuple[Mapping[str, Any], dict[str, int]]] | None = None


_KINDS: dict[str, PointKind] = {}


def register_point_kind(kind: PointKind) -> PointKind:
    """Add (or replace) a point kind.  Must happen at import of this module
    (or of a module it imports) so that worker processes see it too."""
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> PointKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise SweepError(f"unknown point kind '{name}' (known: {', '.join(sorted(_KINDS))})") from None


def kind_names() -> list[str]:
    return sorted(_KINDS)


def validate_point_params(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Check a point's parameters for ``kind`` and return them resolved.

    Unknown keys raise :class:`SweepError` naming the key and the allowed
    ones; defaults are filled in so that equal configurations hash equally.
    """
    return dict(get_kind(kind).validate(dict(config)))


def _plain(name: str, value: Any) -> float | int | str:
    """A metric value as a plain Python float/int/str (numpy scalars too)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, str)):
        return value
    raise TypeError(f"metric '{name}' has type {type(value).__name__}; expected float, int or str")


def run_point(config: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Metrics:
    """Compute one point: ``config`` is a resolved ``{"kind", "params"}`` dict.

    This is the function that every executor runs (pure and picklable by
    reference).  Returns the metrics, sorted by name.  ``context``: the
    runner's sharing context (kinds with ``run_shared``); it never changes
    the metrics.
    """
    return _run_point(config, context)[0]


def _run_point(config: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> tuple[Metrics, dict | None]:
    kind = get_kind(config["kind"])
    passes = None
    if context is not None and kind.run_shared is not None:
        raw, passes = kind.run_shared(dict(config["params"]), dict(context))
    else:
        raw = kind.run(dict(config["params"]))
    if not isinstance(raw, Mapping):
        raise TypeError(f"point kind '{kind.name}' returned {type(raw).__name__}, not a dict of metrics")
    metrics = {str(k): _plain(str(k), v) for k, v in raw.items()}
    missing = [m for m in kind.required_metrics if m not in metrics]
    if missing:
        raise TypeError(f"point kind '{kind.name}' did not return metric(s) {', '.join(missing)}")
    return dict(sorted(metrics.items())), passes


# ----------------------------------------------------------------- worker side


_WARMED: set[str] = set()


def warm_kind(name: str) -> None:
    """Run the kind's warm-up once in this process (fills the Numba cache)."""
    if name in _WARMED:
        return
    kind = get_kind(name)
    if kind.warm is not None:
        kind.warm()
    _WARMED.add(name)


def execute_point(config: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Worker entry point: run one point and report how it went.

    Returns ``{"ok": True, "metrics": {...}, "wall_s": float, "worker": str, "passes": {...} or None}``
    or, when the point raises an input error (:class:`NmsimError`, e.g. a
    network that does not fit the chip), ``{"ok": False, "error": "..."}``.
    Any other exception is a bug and propagates.
    """
    import os
    import socket
    import time

    warm_kind(config["kind"])  # once per process; a no-op afterwards
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        metrics, passes = _run_point(config, context)
    except NmsimError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "wall_s": time.perf_counter() - t0,
                "worker": worker}
    return {"ok": True, "metrics": metrics, "wall_s": time.perf_counter() - t0, "worker": worker,
            "passes": passes}


# ---------------------------------------------------------------------- replay

def _replay_module():
    return importlib.import_module("nmsim.replay.sweep_point")


def _replay_validate(params: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(_replay_module().validate_sweep_params(params))
    except NmsimError as exc:
        if isinstance(exc, SweepError):
            raise
        raise SweepError(str(exc)) from None


def _replay_run(params: dict[str, Any]) -> Mapping[str, Any]:
    return _replay_module().sweep_point(params)


def _replay_warm() -> None:
    _replay_module().warm()


def _replay_share_groups(params: dict[str, Any]) -> tuple[str, str]:
    return _replay_module().share_groups(params)


def _replay_run_shared(params: dict[str, Any], context: dict[str, Any]):
    return _replay_module().sweep_point_shared(params, context)


register_point_kind(
    PointKind(
        name="replay",
        run=_replay_run,
        validate=_replay_validate,
        warm=_replay_warm,
        required_metrics=REPLAY_METRICS,
        share_groups=_replay_share_groups,
        run_shared=_replay_run_shared,
    )
)

# ------------------------------------------------------------------- synthetic

#: name -> (type(s), default, check, description)
SYNTHETIC_PARAMS: dict[str, tuple[tuple[type, ...], Any, Callable[[Any], bool], str]] = {
    "model": ((str,), "egru", lambda v: v in ("egru", "lstm"), "'egru' (event-based) or 'lstm' (dense baseline)"),
    "sparsity": ((int, float), 0.9, lambda v: 0 <= v < 1, "fraction of silent neurons per step, 0 <= s < 1"),
    "tokens": ((int,), 64, lambda v: v > 0, "tokens per point, > 0"),
    "neurons": ((int,), 2048, lambda v: v > 0, "recurrent neurons, > 0"),
    "fan_out": ((int,), 64, lambda v: v > 0, "synapses per event, > 0"),
    "cores": ((int,), 16, lambda v: v > 0, "cores used, > 0"),
    "hop_cycles": ((int,), 20, lambda v: v >= 0, "cycles per router hop, >= 0"),
    "link_width_bits": ((int,), 32, lambda v: v > 0, "link width in bits, > 0"),
    "clock_mhz": ((int, float), 500.0, lambda v: v > 0, "clock in MHz, > 0"),
    "synop_pj": ((int, float), 1.5, lambda v: v >= 0, "energy per synaptic op in pJ, >= 0"),
    "hop_pj": ((int, float), 3.0, lambda v: v >= 0, "energy per flit hop in pJ, >= 0"),
    "static_mw_per_core": ((int, float), 1.0, lambda v: v >= 0, "static power per core in mW, >= 0"),
    "seed": ((int,), 0, lambda v: v >= 0, "seed of the activity pattern, >= 0"),
    "work_ms": ((int, float), 0.0, lambda v: 0 <= v <= 600_000, "extra CPU time burnt per point in ms (0..600000)"),
    "fail": ((bool,), False, lambda v: True, "raise an input error instead of computing (tests)"),
}


def _synthetic_validate(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key not in SYNTHETIC_PARAMS:
            raise SweepError(
                f"unknown parameter '{key}' for point kind 'synthetic' (allowed: {', '.join(sorted(SYNTHETIC_PARAMS))})"
            )
        types, _, check, desc = SYNTHETIC_PARAMS[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types) or not check(value):
            raise SweepError(f"parameter '{key}' = {value!r} is invalid: {desc}")
        out[key] = value
    for key, (types, default, _, _) in SYNTHETIC_PARAMS.items():
        out.setdefault(key, default)
    # numbers that are float-valued by nature are stored as floats, so that
    # clock_mhz = 500 and clock_mhz = 500.0 are the same point
    for key, (types, _, _, _) in SYNTHETIC_PARAMS.items():
        if float in types and isinstance(out[key], int):
            out[key] = float(out[key])
    return dict(sorted(out.items()))


_KERNEL = None


def _synthetic_kernel():
    """The toy per-token cost model, compiled with Numba (cached on disk)."""
    global _KERNEL
    if _KERNEL is None:
        import numba
        import numpy as np

        from nmsim.jit import JIT

        @numba.njit(**JIT)
        def kernel(tokens, neurons, cores, activity, fan_out, flits, seed):  # pragma: no cover - jitted
            # Per token: which neurons fire (xorshift32 stream), the busiest
            # core's synaptic load and the mesh flit hops.  Integers only
            # (int64, values < 2**40), so the result is bit-exact.
            mask = 0xFFFFFFFF
            threshold = int(activity * 4294967296.0)
            side = 1
            while side * side < cores:
                side += 1
            state = (seed * 2654435761 + 0x9E3779B9) & mask
            if state == 0:
                state = 1
            load = np.zeros(cores, dtype=np.int64)
            events_total = 0
            max_load_total = 0
            hops_total = 0
            for t in range(tokens):
                load[:] = 0
                for n in range(neurons):
                    state ^= (state << 13) & mask
                    state ^= state >> 17
                    state ^= (state << 5) & mask
                    if state < threshold:
                        events_total += 1
                        src = n % cores
                        dst = (state * 2654435761 >> 7) % cores
                        load[dst] += fan_out
                        dx = abs(src % side - dst % side)
                        dy = abs(src // side - dst // side)
                        hops_total += (dx + dy) * flits
                max_load_total += load.max()
            return events_total, max_load_total, hops_total

        _KERNEL = kernel
    return _KERNEL


def _synthetic_warm() -> None:
    _synthetic_kernel()(1, 8, 4, 0.5, 2, 1, 0)


def _burn_cpu(ms: float) -> None:
    """Spend ``ms`` of this thread's CPU time (the result is discarded)."""
    import time

    if ms <= 0:
        return
    end = time.thread_time() + ms / 1000.0
    x = 0
    while time.thread_time() < end:
        for i in range(2000):
            x = (x * 1103515245 + i) & 0xFFFFFFFF


def _synthetic_run(params: dict[str, Any]) -> Metrics:
    import math

    if params["fail"]:
        raise SweepError("synthetic point configured to fail (fail = true)")
    dense = params["model"] == "lstm"
    activity = 1.0 if dense else 1.0 - params["sparsity"]
    payload_bits = 16 + max(1, int(params["neurons"]).bit_length())
    flits = -(-payload_bits // params["link_width_bits"])
    tokens = params["tokens"]
    events, max_load, hops = _synthetic_kernel()(
        tokens, params["neurons"], params["cores"], activity, params["fan_out"], flits, params["seed"]
    )
    events, max_load, hops = int(events), int(max_load), int(hops)
    synops = events * params["fan_out"]
    # cycles: the busiest core's synaptic work, plus the network traversal,
    # plus a neuron-update phase split over the cores, plus a barrier
    update = -(-params["neurons"] // params["cores"]) * tokens
    barrier = 8 * tokens * (2 * math.isqrt(params["cores"]) + 1)
    cycles = max_load + (hops * params["hop_cycles"]) // max(1, params["cores"]) + update + barrier
    latency_us = cycles / params["clock_mhz"] / tokens
    dynamic_pj = synops * params["synop_pj"] + hops * params["hop_pj"]
    static_pj = params["static_mw_per_core"] * params["cores"] * (cycles / params["clock_mhz"]) * 1e3
    energy_nj = (dynamic_pj + static_pj) / 1e3 / tokens
    base_ppl = 105.0 if dense else 110.0
    perplexity = base_ppl * (1.0 + 0.8 * params["sparsity"] ** 6) if not dense else base_ppl
    _burn_cpu(params["work_ms"])
    return {
        "energy_per_token_nj": energy_nj,
        "latency_per_token_us": latency_us,
        "perplexity": perplexity,
        "cycles_per_token": cycles / tokens,
        "events_per_token": events / tokens,
        "synaptic_ops": synops,
        "flit_hops": hops,
        "static_energy_fraction": static_pj / (dynamic_pj + static_pj) if dynamic_pj + static_pj else 0.0,
    }


register_point_kind(
    PointKind(
        name="synthetic",
        run=_synthetic_run,
        validate=_synthetic_validate,
        warm=_synthetic_warm,
        required_metrics=REPLAY_METRICS,
    )
)
