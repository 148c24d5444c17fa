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
from nmsim.validate.sanafe.attributes import (EDGE_KEYS, EDGE_REFUSED, EDGE_TYPES, FORCE_KEYS, MAP_KEYS,
                                              MODEL_REFUSED, NEURON_HW_KEYS, NEURON_KEYS, NEURON_LOG_KEYS,
                                              NEURON_REFUSED, NEURON_SECTIONS, SOMA_COST_KEYS, refusal)
from nmsim.validate.sanafe.yamlio import (Block, at_line, attrs, cut_blocks, fast_item, index_range, num, parse_item,
                                          parse_text, read_text, truthy)

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


def split_ref(ref: str, groups: dict, what: str) -> tuple[str, range]:
    """``group``, ``group.3`` or ``group.0..4`` -> (group, indices)."""
    s = str(ref).strip()
    if s in groups:
        return s, range(groups[s])
    g, dot, rest = s.partition(".")
    while dot and g not in groups:  # group names may contain dots
        g2, dot, rest2 = rest.partition(".")
        g, rest = f"{g}.{g2}", rest2
    if g not in groups:
        raise E(f"{what}: unknown neuron group in {ref!r}")
    if "." in rest and not re.fullmatch(r"\d+\.\.\d+", rest):
        raise E(f"{what}: unsupported feature: dendrite compartment address {ref!r}")
    idx = index_range(rest, what)
    if idx[-1] >= groups[g]:
        raise E(f"{what}: neuron {s!r} outside group {g!r} of {groups[g]} neurons")
    return g, idx


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


# --------------------------------------------------------------------------- edges

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
#: one edge per line, ``- a.i -> b.j: [weight: w]`` (what generators write); anything else goes through YAML
_EDGE_FAST = re.compile(rf"^[ ]*-[ ]+([^\s:]+)\.(\d+)[ ]*->[ ]*([^\s:]+)\.(\d+)[ ]*:[ ]*\[[ ]*weight[ ]*:[ ]*({_NUM})[ ]*\][ ]*$",
                        re.MULTILINE)
CHUNK = 100_000  # lines per streamed chunk of the edge list


class _Edges:
    """Edges accumulated in file order, validated chunk by chunk (first problem reported with its line)."""

    def __init__(self, P, sizes, kind):
        self.P, self.sizes, self.kind = P, sizes, kind
        self.gid = {g: i for i, g in enumerate(sizes)}
        self.gname = list(sizes)
        self.out = []  # arrays (sgid, si, dgid, di, weight, named synapse unit) per chunk or item
        self.units = set()  # synapse units named per edge

    def add_fast(self, lines_no, sg, si, dg, di, ws):
        """A chunk of one-line edges: validated at once, the first problem reported with its line."""
        gid = self.gid
        n = len(sg)
        sgid = np.fromiter((gid.get(x, -1) for x in sg), np.int64, n)
        dgid = np.fromiter((gid.get(x, -1) for x in dg), np.int64, n)
        si_, di_ = np.fromiter(map(int, si), np.int64, n), np.fromiter(map(int, di), np.int64, n)
        w = np.fromiter(map(float, ws), np.float64, n)
        size = np.array(list(self.sizes.values()) + [0], np.int64)
        is_in = np.array([self.kind[g] == "input" for g in self.sizes] + [False])
        checks = [(sgid < 0, "unknown source group"), (dgid < 0, "unknown target group"),
                  (si_ >= size[sgid], "source neuron outside its group"),
                  (di_ >= size[dgid], "target neuron outside its group"), (is_in[dgid], "targets input neurons"),
                  (w != np.round(w), "unsupported feature: non-integer weight (nmsim weights are integers)"),
                  (np.abs(w) >= 2.0**31, "weight magnitude must be < 2**31")]
        bad = np.zeros(n, bool)
        for m, _ in checks:
            bad |= m
        if bad.any():
            k = int(np.argmax(bad))
            why = next(r for m, r in checks if m[k])
            raise E(f"{self.P}:{lines_no()[k]}: edge {sg[k]}.{si[k]} -> {dg[k]}.{di[k]}: {why}")
        self.out.append((sgid, si_, dgid, di_, w.astype(np.int64), np.zeros(n, bool)))

    def add_item(self, line, e, where_syn):
        """A general edge item (any form SANA-FE accepts), already parsed by YAML."""
        P = self.P
        if not isinstance(e, dict) or len(e) != 1:
            raise E(f"{P}:{line}: edges: entries are 'a.i -> b.j: [weight: w]'")
        (text, val), = e.items()
        W = f"{P}:{line}: edge {text}"
        ea = attrs(val, W, E)
        for sec in ("synapse", "dendrite"):
            if sec in ea:
                inner = attrs(ea.pop(sec), f"{W}: {sec}", E)
                for k in inner:
                    if sec == "dendrite" or k != "weight":
                        raise E(refusal(k, f"{W}: {sec}", EDGE_REFUSED, {"weight"} if sec == "synapse" else set()))
                ea.update(inner)
        for k in ea:
            if k not in EDGE_KEYS:
                raise E(refusal(k, W, EDGE_REFUSED, EDGE_KEYS - {"synapse", "dendrite"}))
        parts = str(text).split("->")
        if len(parts) != 2:
            raise E(f"{W}: expected 'source -> target'")
        sg, si = split_ref(parts[0], self.sizes, W)
        dg, di = split_ref(parts[1], self.sizes, W)
        etype = str(ea.get("type", "sparse" if ("." in parts[0] or "." in parts[1]) else "dense"))
        if etype not in EDGE_TYPES:
            raise E(f"{W}: unsupported connection type {etype!r}: nmsim reads {' and '.join(EDGE_TYPES)} edges "
                    f"(conv2d and other generated connectivity: write the edges out)")
        if self.kind[dg] == "input":
            raise E(f"{W}: targets input neurons")
        if etype != "dense" and len(si) > 1 and len(di) > 1:
            raise E(f"{W}: unsupported feature: range-to-range {etype} edge (write 'type: dense' with one weight "
                    f"per pair, or single neurons)")
        wv = ea.get("weight", 1.0)
        n = len(si) * len(di)
        ws = wv if isinstance(wv, list) else [wv] * n
        if len(ws) != n:
            raise E(f"{W}: {len(ws)} weights for {n} synapses")
        w = np.array([num(x, f"{W}: weight", E) for x in ws], np.float64)
        if (w != np.round(w)).any():
            raise E(f"{W}: unsupported feature: non-integer weight {w[w != np.round(w)][0]:g} (nmsim weights are "
                    f"integers)")
        if (np.abs(w) >= 2.0**31).any():
            raise E(f"{W}: weight magnitude must be < 2**31")
        if "synapse_hw_name" in ea:
            where_syn(str(ea["synapse_hw_name"]), W)
            self.units.add(str(ea["synapse_hw_name"]))
        a = np.repeat(np.arange(si.start, si.stop, dtype=np.int64), len(di))
        b = np.tile(np.arange(di.start, di.stop, dtype=np.int64), len(si))
        self.out.append((np.full(n, self.gid[sg], np.int64), a,
                         np.full(n, self.gid[dg], np.int64), b, w.astype(np.int64),
                         np.full(n, "synapse_hw_name" in ea)))

    def arrays(self):
        """``(src group id, src index, dst group id, dst index, weight, named unit)`` in file order."""
        if not self.out:
            z = np.zeros(0, np.int64)
            return z, z, z, z, z, np.zeros(0, bool)
        cols = tuple(np.concatenate(c) for c in zip(*self.out))
        self.out = []
        return cols


def _read_edges(P, blocks, doc_edges, edges: _Edges, where_syn):
    """Stream the edge list: chunks of one-line edges by one regular expression, anything else by YAML."""
    for blk in blocks:
        for a, b in blk.chunks(CHUNK):
            text = "\n".join(blk.lines[a:b])
            found = _EDGE_FAST.findall(text)
            n_items = sum(1 for x in blk.lines[a:b] if x.strip() and not x.lstrip().startswith("#"))
            if found and len(found) == n_items:
                def lines_no(a=a, b=b):
                    return [j + 1 for j in range(a, b) if blk.lines[j].strip()
                            and not blk.lines[j].lstrip().startswith("#")]
                sg, si, dg, di, ws = zip(*found)
                edges.add_fast(lines_no, sg, si, dg, di, ws)
                continue
            sub = Block(blk.key, blk.line, blk.lines, a, b, blk.indent)
            for line, item in sub.items(P, E):
                m = _EDGE_FAST.match(item) if "\n" not in item else None
                if m:
                    edges.add_fast(lambda line=line: [line], *([x] for x in m.groups()))
                else:
                    edges.add_item(line, parse_item(item, line, P, E), where_syn)
    for e in doc_edges or []:
        edges.add_item(getattr(e, "line", 0), e, where_syn)
    return edges.arrays()


# --------------------------------------------------------------------------- import


def _items(blocks, doc_list, P):
    """Items of a list either cut out of the text (streamed) or parsed by YAML: ``(line, text, parsed)``."""
    for blk in blocks:
        for line, text in blk.items(P, E):
            yield line, text, None
    for it in doc_list or []:
        yield getattr(it, "line", 0), "", it


def import_snn(snn_path: str | Path, arch_path: str | Path, *, clock_hz: float = DEFAULT_CLOCK_HZ) -> SanafeNet:
    """SANA-FE SNN file + its architecture file -> nmsim network, chip, placement and inputs.

    The chip's costs are those of the units the network uses (all LIF neurons must use units with
    the same costs; input neurons must sit on zero-cost ``input`` somas on one tile, where the nmsim
    host then attaches).
    """
    P, arch_path = str(snn_path), str(arch_path)
    arch = parse_arch(arch_path)
    notes = ImportNotes()
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
    sizes, gattrs, nattrs = _read_groups(P, nd, neuron_blocks)
    where, hw = _read_mappings(P, _items(blocks["mappings"], doc.get("mappings"), P), sizes, arch)

    # per neuron: merged attributes (group, then neuron run), units, kind
    kind, attrs_of, dend_units, lif_somas, input_tiles = {}, {}, set(), set(), set()
    checked = set()
    W_group = {str(g["name"]): f"{at_line(P, g)}: group {g['name']}" for g in nd.get("groups") or []}
    syn_of = {}  # group -> list of synapse unit names (None = default) per neuron
    for g, n in sizes.items():
        per, ks, syn = [], set(), []
        for r, a_run, w in nattrs[g]:
            a = {**gattrs[g], **a_run}
            for i in r:
                soma_name = hw["soma"].get((g, i)) or a.get("soma_hw_name")
                soma_name = None if soma_name is None else str(soma_name)
                unit = arch.unit("soma", soma_name, f"{w}" if soma_name else P, "soma_hw_name", E)
                model = unit.model or "leaky_integrate_fire"
                if a.get("model") not in (None, model):
                    raise E(f"{w}: neuron model {a['model']!r} does not match soma unit {unit.name} "
                            f"(model {model!r})")
                if model not in ("leaky_integrate_fire", "input"):
                    reason = MODEL_REFUSED.get(("soma", model), "nmsim reproduces leaky_integrate_fire and input somas")
                    raise ChipConfigError(f"{w}: soma unit {unit.name}: unsupported soma model {model!r}: {reason}")
                if id(a_run) not in checked:
                    _check_neuron_keys(gattrs[g], W_group[g])
                    _check_neuron_keys(a_run, w)
                    checked.add(id(a_run))
                den = hw["dendrite"].get((g, i)) or a.get("dendrite_hw_name")
                if den is not None:
                    u = arch.unit("dendrite", str(den), w, "dendrite_hw_name", E)
                    try:
                        unit_costs(arch, u)
                    except ChipConfigError as exc:
                        raise ChipConfigError(f"{w}: dendrite_hw_name {u.name!r}: {exc}") from None
                    dend_units.add(u.name)
                sname = hw["synapse"].get((g, i)) or a.get("synapse_hw_name")
                if sname is not None:
                    arch.unit("synapse", str(sname), w, "synapse_hw_name", E)
                syn.append(None if sname is None else str(sname))
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
    check_dendrites(arch, dend_units)

    def where_syn(name, W):
        arch.unit("synapse", name, W, "synapse_hw_name", E)

    edges = _Edges(P, sizes, kind)
    sgid, si, dgid, di, w, named = _read_edges(P, blocks["edges"], nd.get("edges"), edges, where_syn)
    ln = sgid
    gl = list(sizes)
    for k, g in enumerate(gl):  # edges without synapse_hw_name use their target neuron's synapse unit
        m = (dgid == k) & ~named
        if m.any():
            edges.units.update(syn_of[g][j] for j in np.unique(di[m]).tolist())
    used_syn = edges.units or {None}
    syn_units = {arch.unit("synapse", h).name for h in used_syn}
    costs = {tuple(sorted(unit_costs(arch, arch.unit("synapse", s)).items())) for s in syn_units}
    if len(costs) > 1:
        raise ChipConfigError(f"{arch.path}: synapse units {sorted(syn_units)} with different costs are used; nmsim "
                              f"has one synaptic-op cost per chip")
    som_costs = {tuple(sorted(unit_costs(arch, arch.unit("soma", s)).items())) for s in lif_somas}
    if len(som_costs) > 1:
        raise ChipConfigError(f"{arch.path}: LIF soma units {sorted(lif_somas)} with different costs are used; nmsim "
                              f"has one neuron-update cost per chip")

    # mesh directions used (for direction-dependent hop costs)
    off = np.cumsum([0] + [sizes[g] for g in gl])
    tile_all = np.concatenate([where[g][:, 0] for g in gl])
    s_tile, d_tile = tile_all[off[sgid] + si], tile_all[off[dgid] + di]
    sx, sy = s_tile // arch.height, s_tile % arch.height
    dx, dy = d_tile // arch.height, d_tile % arch.height
    dirs = {name for name, m in (("east", dx > sx), ("west", dx < sx), ("north", dy > sy), ("south", dy < sy))
            if m.any()}
    tiles_used = len(np.unique(np.concatenate([w_[:, 0] for w_ in where.values()])))
    units = {"soma": sorted(lif_somas)[0] if lif_somas else None, "synapse": sorted(syn_units)[0],
             "dendrite": sorted(dend_units)[0] if dend_units else None}
    chip = to_chip(arch, clock_hz=clock_hz, synapse_unit=units["synapse"], soma_unit=units["soma"],
                   dendrite_units=dend_units or None, tiles_in_use=tiles_used, hop_directions=dirs,
                   io_tile=min(input_tiles) if input_tiles else 0, notes=notes)
    n_zero = int((w == 0).sum())
    if n_zero:
        notes.add(f"{n_zero} edge(s) with weight 0: stored as synapses (read and counted, as in SANA-FE)")
    if ln.size:
        o = np.lexsort((di, dgid, si, sgid))
        same = ((sgid[o][1:] == sgid[o][:-1]) & (si[o][1:] == si[o][:-1]) & (dgid[o][1:] == dgid[o][:-1])
                & (di[o][1:] == di[o][:-1]))
        if same.any():
            notes.add(f"{int(same.sum())} edge(s) repeat a (source, target) pair: each is its own synapse (as in "
                      f"SANA-FE)")
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
        net.add_lif(pop, n, threshold=thr, decay=decay, bias=bias, reset=reset)
        core_of[pop] = cores
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
