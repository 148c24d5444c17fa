"""SANA-FE SNN YAML (+ its architecture) -> nmsim network, chip, placement and inputs.

The format is SANA-FE's ``snn/README.md``: ``network: {name, groups, edges}`` and
``mappings``.  Every attribute is read or refused (tables in
:mod:`nmsim.validate.sanafe.attributes`); errors are one line ``file:line: ...``
naming the group / neuron / edge and the reason, raised at the first problem met
while reading.  Edges are kept exactly as written: a zero weight is a stored
synapse (SANA-FE reads and counts it), two edges between one pair are two
synapses.  The edge and mapping lists are streamed (:mod:`.yamlio`), so a
20 MB file reads in seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from nmsim.describe.chip import ChipSpec
from nmsim.describe.network import Network
from nmsim.errors import ChipConfigError, NetworkError
from nmsim.validate.sanafe.arch import (DEFAULT_CLOCK_HZ, ImportNotes, SanafeArch, check_dendrites, parse_arch,
                                        to_chip, unit_costs)
from nmsim.validate.sanafe.attributes import (FORCE_KEYS, MAP_KEYS,
                                              MODEL_REFUSED, NEURON_HW_KEYS, NEURON_KEYS, NEURON_LOG_KEYS,
                                              NEURON_REFUSED, NEURON_SECTIONS, SOMA_COST_KEYS, refusal)
from nmsim.validate.sanafe.edges import Edges, read_edges
from nmsim.validate.sanafe.yamlio import (at_line, attrs, cut_blocks, fast_item, index_range, num, parse_item,
                                          parse_text, read_text, split_ref, truthy)

E = NetworkError


@dataclass
class SanafeNet:
    """A SANA-FE SNN imported into nmsim, with what is needed to run it the same way."""

    network: Network
    chip: ChipSpec
    core_of: dict  # nmsim population -> int[n] cores (LIF populations only)
    inputs: dict  # input population -> int64[n_steps, n] spikes (0/1); n_steps = longest spike list
    n_input_steps: int
    groups: dict  # SANA-FE group name -> (nmsim population, kind "lif" | "input")
    logged: dict  # group -> bool[n]: neurons with log_spikes (SANA-FE's spike trace shows only those)
    tiles_in_use: int
    notes: ImportNotes
    arch: SanafeArch
    input_core_of: dict  # input population -> int[n] nmsim index of the SANA-FE core each input sits on
    units: dict  # "soma" / "synapse" / "dendrite" -> name of the unit in use (soma: LIF unit; None if none)

    @property
    def has_inputs(self) -> bool:
        return bool(self.inputs)

    def input_array(self, n_steps: int) -> dict:
        out = {}
        for pop, arr in self.inputs.items():
            full = np.zeros((n_steps, arr.shape[1]), np.int64)
            k = min(n_steps, arr.shape[0])
            full[:k] = arr[:k]
            out[pop] = full
        return out


def _pop_name(group: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]", "_", str(group))
    return s if s and s[0].isalpha() else f"g{s}"


# --------------------------------------------------------------------------- groups


def _flatten(a: dict, where: str) -> dict:
    """A nested ``soma: {threshold: 2}`` section merged into the neuron's attributes; a nested ``dendrite`` or
    ``synapse`` section is refused key by key (nmsim's accumulator and current-based synapse take none)."""
    out = {}
    for k, v in a.items():
        if k in NEURON_SECTIONS and isinstance(v, (dict, list)):
            inner = attrs(v, f"{where}: {k}", E)
            if k != "soma" and inner:
                k2 = next(iter(inner))
                raise E(f"{where}: {k}: unsupported attribute {k2!r}: nmsim's {k} unit (plain "
                        f"{'accumulator' if k == 'dendrite' else 'current-based synapse'}) takes no neuron "
                        f"attributes")
            out.update(inner)
        else:
            out[k] = v
    return out


def _check_neuron_keys(a: dict, where: str) -> None:
    for k in a:
        if k not in NEURON_KEYS:
            raise E(refusal(k, where, NEURON_REFUSED, NEURON_KEYS))
        if k in FORCE_KEYS and truthy(a[k]):
            raise E(f"{where}: unsupported attribute {k!r}: {a[k]!r}: forced updates are not modelled (nmsim "
                    f"updates idle neurons at the idle cost, as SANA-FE does without the flag)")


def _neuron_entries(P, g, gname, neuron_blocks):
    """``(where, key, attributes)`` of a group's ``neurons`` list: streamed from its cut-out block, or from YAML."""
    blk = neuron_blocks.get(getattr(g, "line", -1))
    if blk is not None:
        for line, text in blk.items(P, E):
            f = fast_item(text) if "\n" not in text else None
            if f is None:
                entry = parse_item(text, line, P, E)
                if not isinstance(entry, dict) or len(entry) != 1:
                    raise E(f"{P}:{line}: group {gname}: neurons entries are 'index: [attributes]'")
                (key, val), = entry.items()
            else:
                key, val = f
            yield f"{P}:{line}: group {gname} neuron {key}", key, val
    for entry in g.get("neurons") or []:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise E(f"{at_line(P, entry)}: group {gname}: neurons entries are 'index: [attributes]'")
        (key, val), = entry.items()
        yield f"{at_line(P, entry)}: group {gname} neuron {key}", key, val


def _read_groups(P: str, nd: dict, neuron_blocks: dict):
    """Group sizes, group attributes and the runs ``(range, attributes, where)`` of per-neuron attributes."""
    sizes, gattrs, nattrs = {}, {}, {}
    for g in nd.get("groups") or []:
        if not isinstance(g, dict) or "name" not in g:
            raise E(f"{at_line(P, g)}: network.groups: every group needs a name")
        gname = str(g["name"])
        W = f"{at_line(P, g)}: group {gname}"
        for k in g:
            if k not in ("name", "attributes", "neurons"):
                raise E(f"{W}: unsupported key {k!r}")
        if gname in sizes:
            raise E(f"{W}: defined twice")
        ga = _flatten(attrs(g.get("attributes"), f"{W} attributes", E), W)
        runs = []  # attribute names are checked once the soma model is known (a TrueNorth soma is refused first)
        for w, key, val in _neuron_entries(P, g, gname, neuron_blocks):
            r = index_range(key, w)
            runs.append((r, _flatten(attrs(val, w, E), w), w))
        runs.sort(key=lambda x: x[0].start)
        n = 0
        for r, _, w in runs:
            if r.start != n:
                raise E(f"{w}: neurons must be numbered 0..n-1 without gaps or repeats (expected {n})")
            n = r.stop
        if n == 0:
            raise E(f"{W}: no neurons")
        sizes[gname], gattrs[gname], nattrs[gname] = n, ga, runs
    return sizes, gattrs, nattrs


# --------------------------------------------------------------------------- mappings

def _read_mappings(P, items, sizes, arch):
    """``where[g]`` int[n, 2] (tile, core; -1 unmapped) and per-neuron unit names from the mapping list."""
    where = {g: np.full((n, 2), -1, np.int64) for g, n in sizes.items()}
    hw = {k: {} for k in ("soma", "synapse", "dendrite")}  # kind -> {(g, i): name}
    n_tiles = arch.width * arch.height
    for line, text, parsed in items:
        W = f"{P}:{line}: mappings" if line else f"{P}: mappings"
        if parsed is None:
            f = fast_item(text) if "\n" not in text else None
            parsed = {f[0]: f[1]} if f is not None else parse_item(text, line, P, E)
        if not isinstance(parsed, dict) or len(parsed) != 1:
            raise E(f"{W}: entries are 'group.index: [core: tile.core]'")
        (ref, val), = parsed.items()
        g, idx = split_ref(ref, sizes, f"{W} {ref}")
        ma = attrs(val, f"{W} {ref}", E)
        for k in ma:
            if k not in MAP_KEYS:
                raise E(f"{W} {ref}: unsupported mapping attribute {k!r} (nmsim reads {', '.join(sorted(MAP_KEYS))})")
        cs = str(ma.get("core", ""))
        mm = re.fullmatch(r"(\d+)\.(\d+)", cs)
        if not mm:
            raise E(f"{W} {ref}: core must be 'tile.core', got {cs!r}")
        tile, core = int(mm[1]), int(mm[2])
        if tile >= n_tiles or core >= arch.cores_per_tile:
            raise E(f"{W} {ref}: core {cs} does not exist in {arch.path}")
        where[g][idx.start:idx.stop] = (tile, core)
        for k in ("soma", "synapse", "dendrite"):
            if k in ma:
                name = str(ma[k])
                arch.unit(k, name, f"{W} {ref}", f"{k} unit", E)
                for i in idx:
                    hw[k][(g, i)] = name
    for g, w in where.items():
        missing = np.flatnonzero(w[:, 0] < 0)
        if missing.size:
            raise E(f"{P}: neuron {g}.{missing[0]} is not mapped to a core")
    return where, hw


# --------------------------------------------------------------------------- import


def _items(blocks, doc_list, P):
    """Items of a list either cut out of the text (streamed) or parsed by YAML: ``(line, text, parsed)``."""
    for blk in blocks:
        for line, text in blk.items(P, E):
            yield line, text, None
    for it in doc_list or []:
        yield getattr(it, "line", 0), "", it


def _units_of(arch, hw, g, i, a, w, P):
    """Neuron ``g.i``'s soma unit and model (refused if nmsim cannot run it), dendrite and synapse unit names;
    a mapping's unit wins over the attribute ``*_hw_name``.  Every name must exist in the architecture."""
    soma_name = hw["soma"].get((g, i)) or a.get("soma_hw_name")
    soma_name = None if soma_name is None else str(soma_name)
    unit = arch.unit("soma", soma_name, f"{w}" if soma_name else P, "soma_hw_name", E)
    model = unit.model or "leaky_integrate_fire"
    if a.get("model") not in (None, model):
        raise E(f"{w}: neuron model {a['model']!r} does not match soma unit {unit.name} (model {model!r})")
    if model not in ("leaky_integrate_fire", "input"):
        reason = MODEL_REFUSED.get(("soma", model), "nmsim reproduces leaky_integrate_fire and input somas")
        raise ChipConfigError(f"{w}: soma unit {unit.name}: unsupported soma model {model!r}: {reason}")
    den = hw["dendrite"].get((g, i)) or a.get("dendrite_hw_name")
    if den is not None:
        u = arch.unit("dendrite", str(den), w, "dendrite_hw_name", E)
        try:
            unit_costs(arch, u)
        except ChipConfigError as exc:
            raise ChipConfigError(f"{w}: dendrite_hw_name {u.name!r}: {exc}") from None
        den = u.name
    sname = hw["synapse"].get((g, i)) or a.get("synapse_hw_name")
    if sname is not None:
        sname = arch.unit("synapse", str(sname), w, "synapse_hw_name", E).name
    return unit, model, den, sname


def _classify(P, arch, nd, sizes, gattrs, nattrs, hw, where):
    """Per neuron: merged attributes (group, then its run), soma / dendrite / synapse units, kind.

    Returns ``kind[g]`` ("lif" / "input"), ``attrs_of[g]`` (a dict per neuron), ``syn_of[g]`` (synapse unit
    name or None per neuron), and the dendrite units, LIF soma units and input tiles in use.  The soma model
    is checked before any attribute name (a TrueNorth soma is refused for its model, not for its ``leak``).
    """
    kind, attrs_of, dend_units, lif_somas, input_tiles = {}, {}, set(), set(), set()
    checked = set()
    W_group = {str(g["name"]): f"{at_line(P, g)}: group {g['name']}" for g in nd.get("groups") or []}
    syn_of = {}  # group -> list of synapse unit names (None = default) per neuron
    for g, n in sizes.items():
        per, ks, syn = [], set(), []
        for r, a_run, w in nattrs[g]:
            a = {**gattrs[g], **a_run}
            for i in r:
                unit, model, den, sname = _units_of(arch, hw, g, i, a, w, P)
                if id(a_run) not in checked:  # attribute names: once per run, after the soma model
                    _check_neuron_keys(gattrs[g], W_group[g])
                    _check_neuron_keys(a_run, w)
                    checked.add(id(a_run))
                if den is not None:
                    dend_units.add(den)
                syn.append(sname)
                if model == "input":
                    c = unit_costs(arch, unit)
                    if any(c.get(k, 0.0) for k in SOMA_COST_KEYS):
                        raise ChipConfigError(f"{arch.path}: soma unit {unit.name}: unsupported feature: input soma "
                                              f"with non-zero costs (nmsim's host inputs cost nothing but the message)")
                    bad = set(a) - NEURON_HW_KEYS - NEURON_LOG_KEYS - FORCE_KEYS - {"spikes", "model"}
                    if bad:
                        raise E(f"{w}: unsupported attribute {sorted(bad)[0]!r} on an input neuron (soma unit "
                                f"{unit.name}: inputs only replay 'spikes')")
                    input_tiles.add(int(where[g][i, 0]))
                    ks.add("input")
                else:
                    if "spikes" in a:
                        raise E(f"{w}: 'spikes' given for a neuron on LIF soma {unit.name}")
                    lif_somas.add(unit.name)
                    ks.add("lif")
                per.append(a)
        if len(ks) > 1:
            raise E(f"{P}: group {g}: mixes input and LIF neurons; nmsim needs one kind per group")
        kind[g], attrs_of[g], syn_of[g] = ks.pop(), per, syn
    if len(input_tiles) > 1:
        raise E(f"{P}: input neurons mapped to tiles {sorted(input_tiles)}: nmsim's host (which owns input neurons) "
                f"attaches to one router; map every input neuron to one tile")
    return kind, attrs_of, syn_of, dend_units, lif_somas, input_tiles


def _read_document(P: str):
    """The SNN file with its long lists cut out: ``(doc, network section, blocks, neuron block per group line)``."""
    text, blocks = cut_blocks(read_text(P, E), {"edges": ("network", None), "mappings": (None, 0),
                                                "neurons": ("network", None)})
    doc = parse_text(text, P, E)
    if not isinstance(doc, dict):
        raise E(f"{P}: expected a YAML mapping at the top level")
    if "network" not in doc:
        raise E(f"{P}: missing 'network' section")
    for k in doc:
        if k not in ("network", "mappings"):
            raise E(f"{P}: unsupported section {k!r}")
    nd = doc["network"] or {}
    for k in nd:
        if k not in ("name", "groups", "edges"):
            raise E(f"{P}: network.{k}: unsupported section")
    group_lines = sorted(getattr(g, "line", 0) for g in nd.get("groups") or [])
    neuron_blocks = {}  # group line -> its cut-out neurons block
    for blk in blocks["neurons"]:
        owner = [x for x in group_lines if x <= blk.line]
        if owner:
            neuron_blocks[owner[-1]] = blk
    return doc, nd, blocks, neuron_blocks


def _one_cost_table(arch, kind: str, names: set, what: str) -> None:
    """nmsim has one cost table per chip: the ``kind`` units in use must cost the same."""
    costs = {tuple(sorted(unit_costs(arch, arch.unit(kind, s)).items())) for s in names}
    if len(costs) > 1:
        raise ChipConfigError(f"{arch.path}: {kind} units {sorted(names)} with different costs are used; nmsim has "
                              f"one {what} cost per chip")


def _directions(arch, sizes, where, sgid, si, dgid, di) -> set:
    """Mesh directions the edges' packets take (for direction-dependent hop costs)."""
    gl = list(sizes)
    off = np.cumsum([0] + [sizes[g] for g in gl])
    tile_all = np.concatenate([where[g][:, 0] for g in gl])
    s_tile, d_tile = tile_all[off[sgid] + si], tile_all[off[dgid] + di]
    sx, sy = s_tile // arch.height, s_tile % arch.height
    dx, dy = d_tile // arch.height, d_tile % arch.height
    return {name for name, m in (("east", dx > sx), ("west", dx < sx), ("north", dy > sy), ("south", dy < sy))
            if m.any()}


def _edge_notes(notes, sgid, si, dgid, di, w) -> None:
    n_zero = int((w == 0).sum())
    if n_zero:
        notes.add(f"{n_zero} edge(s) with weight 0: stored as synapses (read and counted, as in SANA-FE)")
    if sgid.size:
        o = np.lexsort((di, dgid, si, sgid))
        same = ((sgid[o][1:] == sgid[o][:-1]) & (si[o][1:] == si[o][:-1]) & (dgid[o][1:] == dgid[o][:-1])
                & (di[o][1:] == di[o][:-1]))
        if same.any():
            notes.add(f"{int(same.sum())} edge(s) repeat a (source, target) pair: each is its own synapse (as in "
                      f"SANA-FE)")


def import_snn(snn_path: str | Path, arch_path: str | Path, *, clock_hz: float = DEFAULT_CLOCK_HZ) -> SanafeNet:
    """SANA-FE SNN file + its architecture file -> nmsim network, chip, placement and inputs.

    The chip's costs are those of the units the network uses (all LIF neurons must use units with
    the same costs; input neurons must sit on zero-cost ``input`` somas on one tile, where the nmsim
    host then attaches).  Read in file order, groups, mappings, then edges; the first problem raises.
    """
    P, arch_path = str(snn_path), str(arch_path)
    arch = parse_arch(arch_path)
    notes = ImportNotes()
    doc, nd, blocks, neuron_blocks = _read_document(P)
    sizes, gattrs, nattrs = _read_groups(P, nd, neuron_blocks)
    where, hw = _read_mappings(P, _items(blocks["mappings"], doc.get("mappings"), P), sizes, arch)
    kind, attrs_of, syn_of, dend_units, lif_somas, input_tiles = _classify(P, arch, nd, sizes, gattrs, nattrs, hw,
                                                                           where)
    check_dendrites(arch, dend_units)

    def where_syn(name, W):
        arch.unit("synapse", name, W, "synapse_hw_name", E)

    edges = Edges(P, sizes, kind)
    sgid, si, dgid, di, w, named = read_edges(P, blocks["edges"], nd.get("edges"), edges, where_syn)
    gl = list(sizes)
    for k, g in enumerate(gl):  # edges without synapse_hw_name use their target neuron's synapse unit
        m = (dgid == k) & ~named
        if m.any():
            edges.units.update(syn_of[g][j] for j in np.unique(di[m]).tolist())
    syn_units = {arch.unit("synapse", h).name for h in (edges.units or {None})}
    _one_cost_table(arch, "synapse", syn_units, "synaptic-op")
    _one_cost_table(arch, "soma", lif_somas, "neuron-update")
    tiles_used = len(np.unique(np.concatenate([w_[:, 0] for w_ in where.values()])))
    units = {"soma": sorted(lif_somas)[0] if lif_somas else None, "synapse": sorted(syn_units)[0],
             "dendrite": sorted(dend_units)[0] if dend_units else None}
    chip = to_chip(arch, clock_hz=clock_hz, synapse_unit=units["synapse"], soma_unit=units["soma"],
                   dendrite_units=dend_units or None, tiles_in_use=tiles_used,
                   hop_directions=_directions(arch, sizes, where, sgid, si, dgid, di),
                   io_tile=min(input_tiles) if input_tiles else 0, notes=notes)
    _edge_notes(notes, sgid, si, dgid, di, w)
    return _build(P, nd, sizes, kind, attrs_of, where, arch, chip, (sgid, si, dgid, di, w), tiles_used, notes,
                  units, gl)


def _lif_params(P, g, per):
    n = len(per)
    thr, bias = np.zeros(n, np.int64), np.zeros(n, np.int64)
    decay, reset = np.zeros(n, np.int64), np.zeros(n, np.int64)
    cache = {}
    for i, a in enumerate(per):
        key = id(a)
        if key not in cache:
            what = f"{P}: {g}.{i}"
            th = num(a.get("threshold", 0.0), f"{what} threshold", E)
            bi = num(a.get("bias", 0.0), f"{what} bias", E)
            for nm, x in (("threshold", th), ("bias", bi)):
                if x != round(x):
                    raise E(f"{what}: unsupported feature: non-integer {nm} {x:g} (integer and floating arithmetic "
                            f"would differ)")
            lk = num(a.get("leak_decay", 1.0), f"{what} leak_decay", E)
            if lk not in (0.0, 1.0):
                raise E(f"{what}: unsupported feature: leak_decay {lk:g} (fractional leak: SANA-FE's floating leak "
                        f"differs from nmsim's 12-bit integer decay; use 0 or 1)")
            rs = num(a.get("reset", 0.0), f"{what} reset", E)
            if rs != 0.0:
                raise E(f"{what}: unsupported feature: reset potential {rs:g} (nmsim resets to 0)")
            rm = str(a.get("reset_mode", "hard"))
            if rm not in ("hard", "soft"):
                raise E(f"{what}: unsupported feature: reset_mode {rm!r} (nmsim has hard and soft)")
            cache[key] = (int(th), int(bi), 0 if lk == 1.0 else 4096, 1 if rm == "hard" else 0)
        thr[i], bias[i], decay[i], reset[i] = cache[key]
    return thr, bias, decay, reset


def _build(P, nd, sizes, kind, attrs_of, where, arch, chip, edges, tiles_used, notes, units, gl) -> SanafeNet:
    net = Network(_pop_name(nd.get("name", Path(P).stem)))
    groups, core_of, inputs, logged, in_core, n_in_steps = {}, {}, {}, {}, {}, 0
    for g, n in sizes.items():
        pop = _pop_name(g)
        if pop in net.populations:
            raise E(f"{P}: group names {g!r} and another map to the same nmsim name {pop!r}")
        groups[g] = (pop, kind[g])
        logged[g] = np.array([truthy(a.get("log_spikes", False)) for a in attrs_of[g]])
        cores = np.array([arch.nmsim_core(int(t), int(c)) for t, c in where[g]], np.int64)
        if kind[g] == "input":
            net.add_input(pop, n)
            trains = [a.get("spikes") or [] for a in attrs_of[g]]
            T = 0
            for i, tr in enumerate(trains):
                if not isinstance(tr, list):
                    raise E(f"{P}: {g}.{i}: unsupported feature: spikes must be a list of 0/1 per step (rate or "
                            f"Poisson inputs are not reproduced)")
                T = max(T, len(tr))
            arr = np.zeros((T, n), np.int64)
            for i, tr in enumerate(trains):
                for t, v in enumerate(tr):
                    x = num(v, f"{P}: {g}.{i} spikes", E)
                    if x not in (0.0, 1.0):
                        raise E(f"{P}: {g}.{i}: unsupported feature: spike value {x:g} (0 or 1 per step)")
                    arr[t, i] = int(x)
            inputs[pop], in_core[pop] = arr, cores
            n_in_steps = max(n_in_steps, T)
            continue
        thr, bias, decay, reset = _lif_params(P, g, attrs_of[g])
        # SANA-FE's soma updates a neuron that received a spike even when its inputs sum to 0
        net.add_lif(pop, n, threshold=thr, decay=decay, bias=bias, reset=reset, update_on_event=1)
        core_of[pop] = cores
    if any(kind[g] == "lif" for g in sizes):
        notes.add("LIF neurons: update_on_event 1 (a neuron that received a spike makes an active update, even "
                  "when its inputs sum to 0, as SANA-FE's soma does)")
    sgid, si, dgid, di, w = edges
    for ks in range(len(gl)):
        ms = sgid == ks
        if not ms.any():
            continue
        for kd in np.unique(dgid[ms]).tolist():
            m = ms & (dgid == kd)
            W = sp.coo_matrix((w[m], (si[m], di[m])), shape=(sizes[gl[ks]], sizes[gl[kd]]))  # keeps 0s, repeats
            net.connect(groups[gl[ks]][0], groups[gl[kd]][0], W)
    return SanafeNet(network=net, chip=chip, core_of=core_of, inputs=inputs, n_input_steps=n_in_steps,
                     groups=groups, logged=logged, tiles_in_use=tiles_used, notes=notes, arch=arch,
                     input_core_of=in_core, units=units)
