"""The ``replay`` point kind of ``nmsim sweep`` (``docs/sweeps.md``): one replay -> flat metrics.

Parameters (flat dotted keys): ``chip``, ``model``, ``dataset``, ``tokens`` (required);
``split`` (``test``), ``offset`` (0: first token of the split), ``mode`` (``pipelined``),
``placement`` (``balanced``; calibrated on a split other than ``split``), ``decoder`` (``chip``), ``seed`` (0),
``place_on`` (``point``: the placement is computed on the point's own chip; ``preset``: on the chip preset
without the point's ``chip.*`` values, then the point's chip runs that placement -- a sensitivity study's
way of holding the mapping fixed while one cost varies; only for values that leave capacities alone), and any
``chip.<table>.<key>`` (a chip-description value, applied on top of the chip's
replay profile and checked by the chip loader) and any ``map.<key>`` (a mapper setting,
``nmsim.map.options``, e.g. ``map.max_neurons_per_core``).  Pure: no wall-clock metric.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from nmsim.errors import NmsimError, SweepError

PARAMS = {
    "chip": (str,), "model": (str,), "dataset": (str,), "tokens": (int,), "split": (str,), "offset": (int,),
    "mode": (str,), "placement": (str,), "decoder": (str,), "seed": (int,), "place_on": (str,),
}
#: ``place_on`` choices; absent means ``point`` (not filled in, so points without it keep their config hash).
PLACE_ON = ("point", "preset")
#: Chip tables a ``place_on = "preset"`` point may vary: none of them changes a capacity the placement checks.
PRESET_PLACEMENT_TABLES = ("timing", "energy", "static", "power", "barrier", "timestep")
REQUIRED = ("chip", "model", "dataset", "tokens")
DEFAULTS = {"split": "test", "offset": 0, "mode": "pipelined", "placement": "balanced", "decoder": "chip", "seed": 0}


def _overrides(params: dict) -> dict:
    return {k[len("chip."):]: v for k, v in params.items() if k.startswith("chip.")}


def _map_settings(params: dict) -> dict:
    return {k[len("map."):]: v for k, v in params.items() if k.startswith("map.")}


def validate_sweep_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check the keys and types, fill the defaults, and check ``chip.*`` keys with the chip loader."""
    from nmsim.replay import PLACEMENTS
    from nmsim.replay.network import DECODERS
    from nmsim.replay.schedule import MODES

    params = dict(params)
    for key, value in params.items():
        if key.startswith(("chip.", "map.")):
            continue
        if key not in PARAMS:
            allowed = ", ".join(list(PARAMS) + ["chip.<table>.<key> of the chip description"])
            raise SweepError(f"unknown parameter '{key}' for point kind 'replay' (allowed: {allowed})")
        if not isinstance(value, PARAMS[key]) or isinstance(value, bool):
            raise SweepError(f"parameter '{key}' of point kind 'replay' must be "
                             f"{PARAMS[key][0].__name__}, got {value!r}")
    missing = [k for k in REQUIRED if k not in params]
    if missing:
        raise SweepError(f"point kind 'replay' needs parameter(s) {', '.join(missing)}")
    for k, v in DEFAULTS.items():
        params.setdefault(k, v)
    if params["tokens"] <= 0:
        raise SweepError("parameter 'tokens' must be positive")
    if params["offset"] < 0:
        raise SweepError("parameter 'offset' must be >= 0")
    if params["seed"] < 0:
        raise SweepError(f"parameter 'seed' must be >= 0, got {params['seed']}")
    for key, choices in (("mode", MODES), ("placement", PLACEMENTS), ("decoder", DECODERS)):
        if params[key] not in choices:
            raise SweepError(f"parameter '{key}' = {params[key]!r}; choices: {', '.join(choices)}")
    if params.get("place_on", "point") not in PLACE_ON:
        raise SweepError(f"parameter 'place_on' = {params['place_on']!r}; choices: {', '.join(PLACE_ON)}")
    if params.get("place_on") == "preset":
        bad = [k for k in params if k.startswith("chip.") and k.split(".")[1] not in PRESET_PLACEMENT_TABLES]
        if bad:
            raise SweepError(f"parameter '{bad[0]}' with place_on = 'preset': only chip values of the tables "
                             f"{', '.join(PRESET_PLACEMENT_TABLES)} may vary under the preset's placement")
    from nmsim.lm.data import SPLITS, canonical_name

    try:
        canonical_name(params["dataset"])
    except NmsimError as exc:
        raise SweepError(f"parameter 'dataset': {exc}") from None
    if params["split"] not in SPLITS:
        raise SweepError(f"parameter 'split' = {params['split']!r}; choices: {', '.join(SPLITS)}")
    try:
        from nmsim.map.options import map_options

        map_options(_map_settings(params))
    except NmsimError as exc:
        raise SweepError(f"map parameters: {exc}") from None
    ov = _overrides(params)
    try:
        _chip(params["chip"], tuple(sorted(ov.items())))
    except NmsimError as exc:
        raise SweepError(f"chip parameters: {exc}") from None
    return dict(sorted(params.items()))


@lru_cache(maxsize=8)
def _chip(chip: str, ov: tuple):
    from nmsim.describe.chip import load_chip_variant

    # as nmsim.replay.load_replay_chip, with problems blamed on the sweep parameter
    return load_chip_variant(chip, replay_profile=True, overrides=dict(ov), override_option="parameter")


@lru_cache(maxsize=2)
def _golden(model: str):
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.replay import resolve_model_path

    return GoldenModel(load_model(resolve_model_path(model)))


@lru_cache(maxsize=2)
def _mapped(model: str, chip: str, ov: tuple, placement: str, decoder: str, seed: int, ms: tuple = (),
            dataset: str = "ptb", split: str = "test"):
    from nmsim.replay import build_replay

    return build_replay(_golden(model), _chip(chip, ov), placement, decoder, seed, dict(ms), dataset, split)


@lru_cache(maxsize=32)
def _preset_placement(model: str, chip: str, placement: str, decoder: str, seed: int, ms: tuple, dataset: str,
                      split: str):
    """``(lm network, placement, calibration)`` of the model on the unmodified chip (``place_on = "preset"``)."""
    m = _mapped(model, chip, (), placement, decoder, seed, ms, dataset, split)
    return m.lm, m.placement, m.calibration


def _prepare(params: dict[str, Any]):
    """``(cfg, mapped, tokens)`` of a point (the mapping cached per process, the compiled model a copy)."""
    import copy

    from nmsim.replay import ReplayConfig, load_tokens

    p = validate_sweep_params(params)
    ov = tuple(sorted(_overrides(p).items()))
    golden = _golden(p["model"])
    ms = tuple(sorted(_map_settings(p).items()))
    if p.get("place_on", "point") == "preset" and ov:
        from nmsim.replay.mapped import compiled

        lm, pl, calibration = _preset_placement(p["model"], p["chip"], p["placement"], p["decoder"], p["seed"], ms,
                                                p["dataset"], p["split"])
        mapped = compiled(golden, lm, _chip(p["chip"], ov), pl, calibration)
    else:
        mapped = _mapped(p["model"], p["chip"], ov, p["placement"], p["decoder"], p["seed"], ms, p["dataset"],
                         p["split"])
    mapped = copy.copy(mapped)
    mapped.model = copy.deepcopy(mapped.model)  # the engine never writes the model; a copy keeps points independent
    ids, _ = load_tokens(golden.mf, p["dataset"], p["split"], p["offset"] + p["tokens"])
    toks = ids[p["offset"]:]
    cfg = ReplayConfig(model=p["model"], chip=p["chip"], dataset=p["dataset"], split=p["split"],
                       tokens=p["tokens"], placement=p["placement"], mode=p["mode"], decoder=p["decoder"],
                       seed=p["seed"], chip_overrides=dict(ov), map_settings=dict(ms))
    return cfg, mapped, toks


def sweep_point(params: dict[str, Any]) -> dict[str, float | int | str]:
    """Replay ``params["tokens"]`` tokens from ``offset`` and return summary metrics (no wall clock)."""
    from nmsim.replay import replay

    cfg, mapped, toks = _prepare(params)
    return _metrics(replay(cfg, mapped=mapped, tokens=toks).summary)


#: chip tables whose values only price a run (energy, static power, power states): points that differ only
#: there share the timed record (re-priced); with ``timing``/``barrier``/``timestep`` they share the
#: functional record.  Only a scheduling hint: what is reused is decided by :func:`functional_key` /
#: :func:`timed_key` on the compiled model, so a wrong hint costs a pass, never a wrong row.
PRICE_TABLES = ("energy", "static", "power", "operating_points")
TIMING_TABLES = ("timing", "barrier", "timestep")
#: single chip keys outside those tables that change only timing and traffic (share the functional record)
TIMING_KEYS = ("noc.readout_values_per_packet",)


def share_groups(params: dict[str, Any]) -> tuple[str, str]:
    """``(functional group, timed group)`` of a point's resolved parameters (see :data:`PRICE_TABLES`)."""
    import json

    def without(tables, keys=()):
        return json.dumps({k: v for k, v in params.items()
                           if not (k.startswith("chip.") and (k.split(".")[1] in tables or k[5:] in keys))},
                          sort_keys=True)

    return without(PRICE_TABLES + TIMING_TABLES, TIMING_KEYS), without(PRICE_TABLES)


def functional_key(cfg, mapped, tokens) -> str:
    """sha256 of everything the functional pass reads: the model file, the tokens, the schedule, the decoder
    and every array of the compiled model but its timing parameters (placement, routes, synapses, neuron
    parameters), with the stage and layer indices.  Equal keys: the same record and functional results."""
    import dataclasses
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    h.update(f"{mapped.golden.mf.sha256}|{cfg.mode}|{cfg.decoder}|".encode())
    h.update(np.ascontiguousarray(tokens, np.int64).tobytes())
    cm = mapped.model
    for f in dataclasses.fields(cm):
        v = getattr(cm, f.name)
        if f.name == "timing" or isinstance(v, dict):
            continue
        if isinstance(v, np.ndarray):
            h.update(f"{f.name}:{v.dtype.str}:{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        else:
            h.update(f"{f.name}={v!r}".encode())
    for name in ("stage_index", "layer_index"):
        for a in getattr(mapped, name):
            h.update(np.ascontiguousarray(a, np.int64).tobytes() + b"|")
    if mapped.readout_index is not None:
        h.update(np.ascontiguousarray(mapped.readout_index, np.int64).tobytes())
    return h.hexdigest()


def timed_key(fkey: str, mapped) -> str:
    """sha256 of the functional key and the chip timing (the compiled timing parameters and the cycles per
    count): equal keys give the same timed per-step record, which only needs pricing again."""
    import hashlib
    import json

    h = hashlib.sha256(fkey.encode())
    h.update(mapped.model.timing.tobytes())
    h.update(json.dumps(mapped.chip.timing_cycles(), sort_keys=True, default=str).encode())
    return h.hexdigest()


def _save_pickle(path, obj) -> None:
    import os
    import pickle

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _load_pickle(path):
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)


def sweep_point_shared(params: dict[str, Any], context: dict[str, Any]) -> tuple[dict, dict[str, int]]:
    """A point that may share work with other points of its sweep (``docs/sweeps.md``, "Shared passes").

    ``context``: ``record_dir`` (the sweep store's ``records/``), ``share_functional`` (other points share
    this point's functional group) and ``share_timed`` (others share its timed group).  Reuses, in this order:
    a stored timed record (re-price only), a stored functional record (timing pass only); else runs both
    passes and stores what others may reuse.  Returns ``(metrics, passes)``: the same metrics as
    :func:`sweep_point`, and ``{"functional", "timing", "repriced"}`` counts of what ran."""
    import os
    from pathlib import Path

    from nmsim.replay import replay
    from nmsim.replay.driver import functional_pass, reprice, timing_pass

    cfg, mapped, toks = _prepare(params)
    passes = {"functional": 0, "timing": 0, "repriced": 0}
    if not (context.get("share_functional") or context.get("share_timed")):
        passes.update(functional=1, timing=1)
        return _metrics(replay(cfg, mapped=mapped, tokens=toks).summary), passes
    d = Path(context["record_dir"])
    d.mkdir(parents=True, exist_ok=True)
    fkey = functional_key(cfg, mapped, toks)
    tkey = timed_key(fkey, mapped)
    timed = d / f"{tkey}.timed.pkl"
    if timed.exists():
        rec, state = _load_pickle(timed)
        passes["repriced"] = 1
        return _metrics(reprice(mapped, toks, rec, state).summary), passes
    record, fstate = d / f"{fkey}.record.npz", d / f"{fkey}.functional.pkl"
    if record.exists() and fstate.exists():
        state = _load_pickle(fstate)
    else:
        tmp = d / f".{fkey}.{os.getpid()}.npz.tmp"
        try:
            state = functional_pass(cfg, mapped, toks, tmp)
            os.replace(tmp, record)  # the state last: its presence means the record is complete
            _save_pickle(fstate, state)
        finally:
            tmp.unlink(missing_ok=True)
        passes["functional"] = 1
    res = timing_pass(cfg, mapped, toks, record, state)
    passes["timing"] = 1
    if context.get("share_timed"):
        _save_pickle(timed, (res.record, state))
    return _metrics(res.summary), passes


def _metrics(s: dict) -> dict[str, float | int | str]:
    """A replay summary as the flat metrics of a sweep row."""
    e = s["energy_nj_per_token"]
    out: dict[str, float | int | str] = {
        "energy_per_token_nj": e["total"],
        "latency_per_token_us": s["latency_ns"]["mean"] / 1e3,
        "latency_p50_us": s["latency_ns"]["p50"] / 1e3,
        "latency_p99_us": s["latency_ns"]["p99"] / 1e3,
        "throughput_tokens_per_s": s["throughput_tokens_per_s"],
        "perplexity": s["perplexity"],
        "synaptic_ops_per_token": s["synaptic_ops_per_token"],
        "events_per_token": s["events_per_token"],
        "packets_per_token": s["traffic"]["packets_per_token"],
        "flits_total": s["traffic"]["flits"],
        "hops_total": s["traffic"]["hops"],
        "max_link_utilization": s["traffic"]["max_link_utilization"],
        "cores_used": s["cores_used"],
        "bit_exact": int(s["bit_exact"]),
        "logits_sha256": s["logits_sha256"],
        "static_energy_fraction": e["static"] / e["total"] if e["total"] else 0.0,
    }
    for k, v in e.items():
        if k != "total":
            out[f"energy_{k}_nj"] = v
    for k, v in s["static_nj_per_token"].items():
        out[f"energy_{k}_nj"] = v
    ts = s["timestep"]
    out.update(overrun_steps=ts["overrun_steps"], worst_overrun_us=ts["worst_overrun_ns"] / 1e3,
               shortest_period_us=ts["shortest_period_ns"] / 1e3)
    for k, v in s["activity"].items():
        out[f"activity_{k}"] = v
    return out


def warm() -> None:
    """Compile the engine's Numba kernels on a tiny synthetic replay."""
    import numpy as np

    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import dumps, loads
    from nmsim.replay import ReplayConfig, build_replay, replay
    from nmsim.replay.synth import synthetic_model

    h, a = synthetic_model(vocab=6, emb=3, hidden=(3, 3), seed=0)
    g = GoldenModel(loads(dumps(h, a)))
    chip = _chip("test-2x2", ())
    m = build_replay(g, chip)
    replay(ReplayConfig(chip="test-2x2"), mapped=m, tokens=np.array([1, 2, 3]))
