"""The language model mapped and compiled onto a chip: the network, its placement and the compiled arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nmsim.describe.chip import ChipSpec
from nmsim.errors import DatasetError, MappingError
from nmsim.replay.network import LMNetwork, build_lm_network

#: Placement strategies of a replay (``--placement``; a placement file is also accepted, see
#: ``nmsim.map.placement_file``).  ``balanced`` is the default: the placement a compiler that
#: balances each step's critical path would choose (``docs/mapping.md``).
PLACEMENTS = ("balanced", "snake", "partition")
DEFAULT_PLACEMENT = "balanced"


@dataclass
class Mapped:
    golden: Any
    lm: LMNetwork
    chip: ChipSpec
    placement: Any
    model: Any           #: CompiledModel
    stage_index: list    #: compiled neuron indices per stage (stage 0 = host emb)
    layer_index: list    #: compiled indices of each layer's units, in unit order
    readout_index: np.ndarray | None
    calibration: dict | None = None  #: the tokens that measured the activity ``balanced`` used
    #: ``balanced`` only: ``"hit"`` (the placement came from :mod:`nmsim.replay.placement_cache`), ``"stored"``
    #: (placed afresh and stored), ``"unwritable"`` (placed afresh, the cache folder could not be written),
    #: ``"off"`` (placed afresh, no cache); never written to an output file
    placement_cache: str | None = None


#: ``balanced``: the shortlist ``place`` returns is replayed on the first :data:`SIM_TOKENS` calibration
#: tokens and the measurements decide, by the rule of :mod:`nmsim.map.choose`.  From each group of the
#: shortlist (``search["shortlist"]``: the objective's best predictions; under an energy budget also the
#: fastest predictions with no budget, and the conventional candidates) at most :data:`SIM_CANDIDATES`
#: within :data:`SIM_BAND` of the group's best prediction are replayed.
SIM_CANDIDATES = 4
SIM_BAND = 0.15
SIM_TOKENS = 24


def _trial_set(cands: list) -> list:
    """The candidates worth replaying (see :data:`SIM_CANDIDATES`), in the order ``place`` gave them."""
    energy_first = cands[0].search["objective"].startswith("energy")
    chosen: list = []
    for group in ("objective", "latency", "conventional"):
        key = "predicted_energy_pj_per_step" if energy_first and group == "objective" else "predicted_step_cycles"
        members = [c for c in cands if group in c.search.get("shortlist", ["objective"])]
        if not members:
            continue
        if group != "objective":  # the objective's group is in ranked order already, its best first
            members.sort(key=lambda c: c.search[key])
        best = members[0].search[key]
        for c in members[:SIM_CANDIDATES]:
            if c.search[key] <= best * (1 + SIM_BAND) and all(c is not x for x in chosen):
                chosen.append(c)
    return sorted(chosen, key=lambda c: next(i for i, x in enumerate(cands) if x is c))


def _select_by_replay(golden, lm, chip: ChipSpec, cands: list, ids: np.ndarray):
    """``(placement, Mapped or None)``: the candidate :func:`nmsim.map.choose.order` puts first on the
    latency (ns per token) and energy (nJ per token) measured on calibration tokens -- a candidate keeps
    the tick when no step overran it -- its measurements recorded in ``search``, and its compiled form
    when it was compiled for the trial (None when nothing was replayed)."""
    import dataclasses

    from nmsim.map.choose import Score, order
    from nmsim.replay.driver import replay
    from nmsim.replay.inputs import ReplayConfig

    objective = "energy" if cands[0].search["objective"].startswith("energy") else "latency"
    trial_set = _trial_set(cands)
    if len(trial_set) == 1 or len(ids) == 0:
        return cands[0], None
    measured = []
    for pl in trial_set:
        m = compiled(golden, lm, chip, pl)
        s = replay(ReplayConfig(chip=chip.name, decoder=lm.decoder), mapped=m, tokens=ids).summary
        measured.append((s["latency_ns"]["mean"], s["energy_nj_per_token"]["total"], pl, m,
                         s["timestep"]["overrun_steps"]))
    scores = [Score(t, e, bool(pl.search.get("conventional")), o == 0, pl.search["chosen"])
              for t, e, pl, _, o in measured]
    best = order(scores, objective, cands[0].search.get("energy_budget"))[0]
    _, _, pick, pick_m, _ = measured[best]
    trial = [{"candidate": pl.search["chosen"], "conventional": bool(pl.search.get("conventional")),
              "predicted_step_cycles": pl.search["predicted_step_cycles"],
              "latency_ns_per_token": t, "energy_nj_per_token": e, "overrun_steps": o} for t, e, pl, _, o in measured]
    pick = dataclasses.replace(pick, search={**pick.search, "calibration_replay": trial})
    return pick, dataclasses.replace(pick_m, placement=pick)


def compiled(golden, lm: LMNetwork, chip: ChipSpec, pl, calibration: dict | None = None) -> Mapped:
    """Compile the placed network ``lm`` (placement ``pl``) into a :class:`Mapped`."""
    from nmsim.compile.build import compile_model, neuron_index

    cm = compile_model(chip, lm.net, pl)
    layer_index = [neuron_index(cm, p) for p in lm.layer_pops]
    readout_index = neuron_index(cm, lm.readout) if lm.readout else None
    stage_index = [neuron_index(cm, lm.emb)] + layer_index + ([readout_index] if lm.readout else [])
    return Mapped(golden, lm, chip, pl, cm, stage_index, layer_index, readout_index, calibration)


def place_lm(golden, lm: LMNetwork, chip: ChipSpec, placement: str, seed: int = 0, map_settings: dict | None = None,
             dataset: str = "ptb", split: str = "test", need_workload: bool = False):
    """Place ``lm`` (see :func:`build_replay`): ``(placement, calibration record or None, workload or None)``.
    ``need_workload``: calibrate even when the strategy does not use it (``nmsim map``'s prediction)."""
    pl, calibration, wl, _, _ = _place_lm(golden, lm, chip, placement, seed, map_settings, dataset, split,
                                          need_workload)
    return pl, calibration, wl


def _place_lm(golden, lm, chip, placement, seed, map_settings, dataset, split, need_workload):
    """:func:`place_lm` plus the chosen placement's :class:`Mapped` when the calibration replay compiled it, and
    what the placement cache did (:attr:`Mapped.placement_cache`)."""
    from nmsim.map.options import map_options
    from nmsim.map.placement import place
    from nmsim.map.placement_file import is_placement_file, place_from_file

    is_file = placement not in PLACEMENTS and is_placement_file(placement)
    if placement not in PLACEMENTS and not is_file:
        raise MappingError(f"placement {placement!r}; choices: {', '.join(PLACEMENTS)}, or a placement file "
                           f"(.toml / .json)")
    opts = map_options(map_settings)
    calibration = wl = trial_mapped = cache = pl = None
    try:
        key = None
        if placement == "balanced":
            pl, calibration, key, cache = _cached_balanced(golden, lm, chip, seed, map_settings, dataset, split, opts)
            if pl is not None and not need_workload:
                return pl, calibration, None, None, cache
        if placement == "balanced" or need_workload:  # nmsim map's prediction needs the workload, cached or not
            from nmsim.replay.calibration import calibrate

            try:
                wl, ids = calibrate(golden, lm, dataset, split, opts.calibration_tokens)
            except DatasetError as exc:
                raise MappingError(f"the placement calibrates on {dataset} tokens: {exc}") from None
            if pl is None:  # a cached placement keeps its own calibration record
                calibration = {k: wl.source[k] for k in ("dataset", "split", "start", "count", "reference")}
        if pl is not None:
            pass  # the balanced placement from the cache
        elif is_file:
            if opts.constrains:
                raise MappingError("map.* limits do not apply to a placement file (it places every neuron itself)")
            pl = place_from_file(chip, lm.net, placement)
        elif placement == "balanced":
            cands = place(chip, lm.net, strategy=placement, seed=seed, workload=wl, options=opts,
                          candidates=SIM_CANDIDATES)
            pl, trial_mapped = _select_by_replay(golden, lm, chip, cands, ids[:SIM_TOKENS])
            calibration["replayed"] = int(min(SIM_TOKENS, len(ids)))
            if key is not None:
                from nmsim.replay import placement_cache

                cache = "stored" if placement_cache.store(key, pl, calibration) else "unwritable"
        else:
            pl = place(chip, lm.net, strategy=placement, seed=seed, options=opts)
    except MappingError as exc:
        sizes = (f"model {lm.net.name!r}: {lm.net.n_neurons - lm.emb_dim} neurons on cores "
                 f"(layers {lm.hidden}{', readout ' + str(lm.vocab_size) if lm.readout else ''}), "
                 f"{lm.net.nnz} synapses")
        raise MappingError(f"{exc} [{sizes}]") from None
    return pl, (calibration if placement == "balanced" else None), wl, trial_mapped, cache


def _cached_balanced(golden, lm, chip, seed, map_settings, dataset, split, opts):
    """``(placement, calibration, key, "hit")`` from :mod:`nmsim.replay.placement_cache`, or
    ``(None, None, key, None)`` on a miss (``key`` None when the cache is off)."""
    from nmsim.replay import placement_cache
    from nmsim.replay.calibration import calibration_split
    from nmsim.replay.inputs import load_tokens

    sha = getattr(getattr(golden, "mf", None), "sha256", "")
    if placement_cache.cache_root() is None or not sha:  # a model without a file's sha256 is never cached
        return None, None, None, "off"
    try:
        ids, _ = load_tokens(golden.mf, dataset, calibration_split(split), opts.calibration_tokens)
    except DatasetError as exc:
        raise MappingError(f"the placement calibrates on {dataset} tokens: {exc}") from None
    key = placement_cache.placement_key(sha, lm.decoder, chip, "balanced", seed, map_settings,
                                        dataset, split, ids)
    hit = placement_cache.load(key)
    if hit is None:
        return None, None, key, None
    return hit[0], hit[1], key, "hit"


def build_replay(golden, chip: ChipSpec, placement: str = "snake", decoder: str = "chip", seed: int = 0,
                 map_settings: dict | None = None, dataset: str = "ptb", split: str = "test") -> Mapped:
    """Build the LM network of ``golden``, place it on ``chip`` and compile it.

    ``placement``: a strategy of :data:`PLACEMENTS` or a placement file (TOML/JSON).  This library call
    defaults to the ``snake`` baseline, which needs no calibration data (synthetic test models); the
    commands, sweep points and studies default to :data:`DEFAULT_PLACEMENT` (``ReplayConfig.placement``).
    ``map_settings``: ``map.*`` settings without the prefix.  ``balanced`` measures activity on
    calibration tokens of ``dataset`` from a split other than ``split`` (the replayed one;
    :mod:`nmsim.replay.calibration`)."""
    import dataclasses

    lm = build_lm_network(golden, decoder=decoder)
    pl, calibration, _, m, cache = _place_lm(golden, lm, chip, placement, seed, map_settings, dataset, split, False)
    if m is not None:  # compiled already for the calibration replay
        return dataclasses.replace(m, calibration=calibration, placement_cache=cache)
    return dataclasses.replace(compiled(golden, lm, chip, pl, calibration), placement_cache=cache)
