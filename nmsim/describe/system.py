"""System descriptions: a board of identical chips joined by chip-to-chip links (TOML, schema_version 1).

Schema (documented key by key in ``docs/systems.md``)::

    schema_version = 1
    name = "loihi-nahuku32"                # optional; defaults to the file stem
    description = "..."
    chip = "loihi"                         # chip preset name or path (relative to this file)
    [board]   chips_x, chips_y             # 2-D grid of chips; chip (cx, cy), east is +x, north is +y
              empty (optional)             # { value = [[cx, cy], ...] }: grid positions with no chip
    [ports]   east_west_row, north_south_col
              # the router row (0..height-1) whose east/west edge routers hold the east and west ports,
              # and the router column (0..width-1) whose north/south edge routers hold the north/south ports
    [link]    latency_cycles | latency_ns  # head latency of one chip-to-chip hop
              width_bits + clock_hz | bandwidth_bits_per_s   # serialization
              energy_pj_per_bit | energy_pj_per_flit
              buffer_packets               # input buffer at the receiving port router, packets

Every number is ``{ value = <number>, source = "<citation>" }``; a value that is not published says
``assumption`` in its source.  Every problem raises :class:`~nmsim.errors.ChipConfigError` with one line
``<file>: <table>.<key>: <problem>`` (the chip description's rules, :mod:`nmsim.describe.chip`).

Resolved link values (chip-clock cycles, the chip's flits): ``serialization_cycles`` =
``ceil(packet_bits x chip_clock / bandwidth)`` with ``packet_bits = flits_per_packet x link_width_bits``
(the chip's flits cross whole); a chip-to-chip link is occupied ``serialization_cycles`` per packet and
its head latency is ``latency_cycles + serialization_cycles - 1`` (as a mesh link:
``hop + flits - 1``); ``energy_pj_per_flit`` = ``energy_pj_per_bit x link_width_bits`` when given per bit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from nmsim.describe import limits
from nmsim.describe.chip import ChipSpec, _Ctx, _document_header, _read_toml, _sourced, _table, load_chip
from nmsim.errors import ChipConfigError
from nmsim.paths import systems_dir

TOP_KEYS = ("schema_version", "name", "description", "chip", "board", "ports", "link")
BOARD_KEYS = {"chips_x": "pos_int", "chips_y": "pos_int"}
PORT_KEYS = {"east_west_row": "nonneg_int", "north_south_col": "nonneg_int"}
#: ``[link]`` keys; each tuple is one choice of alternatives (exactly one of each group).
LINK_GROUPS = ((("latency_cycles",), ("latency_ns",)),
               (("width_bits", "clock_hz"), ("bandwidth_bits_per_s",)),
               (("energy_pj_per_bit",), ("energy_pj_per_flit",)),
               (("buffer_packets",),))
LINK_KINDS = {"latency_cycles": "pos_int", "latency_ns": "pos_num", "width_bits": "pos_int", "clock_hz": "pos_num",
              "bandwidth_bits_per_s": "pos_num", "energy_pj_per_bit": "nonneg_num",
              "energy_pj_per_flit": "nonneg_num", "buffer_packets": "pos_int"}


@dataclass(frozen=True)
class SystemSpec:
    """A resolved board.  Link values are in the chip's clock cycles and flits (see module doc)."""

    name: str
    description: str
    path: str
    chip: ChipSpec
    chips_x: int
    chips_y: int
    east_west_row: int
    north_south_col: int
    latency_cycles: int  #: head latency of a chip-to-chip hop before serialization, chip cycles
    serialization_cycles: int  #: cycles one packet occupies a chip-to-chip link
    energy_pj_per_flit: float  #: pJ per chip flit per chip-to-chip hop
    buffer_packets: int  #: input buffer of a port router fed by a chip-to-chip link, packets
    raw: Mapping[str, Any]  #: the given ``[link]`` values
    sources: Mapping[str, str]  #: ``table.key -> source`` of every given and derived value
    empty: tuple[int, ...] = ()  #: grid positions with no chip, as chip indices ``cy * chips_x + cx`` (sorted)

    @property
    def n_chips(self) -> int:
        """Chips on the board (grid positions less the empty ones)."""
        return self.chips_x * self.chips_y - len(self.empty)

    @property
    def link_lat_cycles(self) -> int:
        """Engine head latency of one chip-to-chip hop: ``latency + serialization - 1`` cycles."""
        return self.latency_cycles + self.serialization_cycles - 1

    def geometry(self) -> dict[str, int]:
        """Plain integers the engine's routing reads (``CompiledModel.meta["system"]``); ``empty`` (the empty
        grid positions), ``chip_cores`` (the chip's cores when it leaves router slots empty) and
        ``link_buffer`` (the chip-to-chip links' buffer depth when it is not the routers') only when they
        apply, so a full board of full chips with uniform buffers keeps its geometry."""
        m = self.chip.mesh
        g = {"chip_width": m.width, "chip_height": m.height,
             "chips_x": self.chips_x, "chips_y": self.chips_y, "east_west_row": self.east_west_row,
             "north_south_col": self.north_south_col, "link_occ": self.serialization_cycles,
             "link_lat": self.link_lat_cycles}
        if self.empty:
            g["empty"] = tuple(self.empty)
        if m.n_cores != m.width * m.height * m.cores_per_router:
            g["chip_cores"] = m.n_cores
        if self.buffer_packets != self.chip.noc.router_buffer_packets:
            g["link_buffer"] = self.buffer_packets  # chip-to-chip links' input buffers differ from the routers'
        return g

    def for_chip(self, chip: ChipSpec) -> "SystemSpec":
        """This board with a variant of its chip (replay profile, ``--set`` overrides): the link values are
        re-resolved on the variant's clock and flits; its mesh must be the system chip's."""
        if (chip.mesh.width, chip.mesh.height, chip.mesh.cores_per_router) != \
                (self.chip.mesh.width, self.chip.mesh.height, self.chip.mesh.cores_per_router):
            raise ChipConfigError(f"{self.path}: chip: the chip variant's mesh is not the system chip's")
        ctx = _Ctx(self.path)
        sources = dict(self.sources)
        lat, ser, epf = _resolve_link(ctx, chip, self.raw, sources)
        return dataclasses.replace(self, chip=chip, latency_cycles=lat, serialization_cycles=ser,
                                   energy_pj_per_flit=epf, sources=MappingProxyType(sources))

    def to_dict(self) -> dict[str, Any]:
        """Every value with its source (for ``run.json`` / ``summary.json``)."""
        v = {"chips_x": self.chips_x, "chips_y": self.chips_y,
             **({"empty": [[c % self.chips_x, c // self.chips_x] for c in self.empty]} if self.empty else {}),
             "east_west_row": self.east_west_row,
             "north_south_col": self.north_south_col, **dict(self.raw),
             "latency_cycles": self.latency_cycles, "serialization_cycles": self.serialization_cycles,
             "energy_pj_per_flit": self.energy_pj_per_flit, "buffer_packets": self.buffer_packets}
        src = {k.split(".", 1)[1]: s for k, s in self.sources.items()}
        return {"name": self.name, "description": self.description, "path": self.path, "chip": self.chip.name,
                "values": {k: {"value": x, "source": src.get(k, "")} for k, x in v.items()}}


def _sect(ctx: _Ctx, doc: dict, name: str, kinds: dict) -> tuple[dict, dict]:
    tbl = _table(ctx, doc, name)
    for k in tbl:
        if k not in kinds:
            ctx.unknown(name, k, kinds)
    vals, srcs = {}, {}
    for k, kind in kinds.items():
        if k not in tbl:
            ctx.fail(f"{name}.{k}", "missing key")
        vals[k], srcs[f"{name}.{k}"] = _sourced(ctx, f"{name}.{k}", tbl[k], kind)
    return vals, srcs


def _link(ctx: _Ctx, doc: dict) -> tuple[dict, dict]:
    tbl = _table(ctx, doc, "link")
    for k in tbl:
        if k not in LINK_KINDS:
            ctx.unknown("link", k, LINK_KINDS)
    vals, srcs = {}, {}
    for group in LINK_GROUPS:
        given = [alt for alt in group if any(k in tbl for k in alt)]
        names = " or ".join("+".join(alt) for alt in group)
        if not given:
            ctx.fail(f"link.{group[0][0]}", f"missing key (give {names})")
        if len(given) > 1:
            ctx.fail(f"link.{given[1][0]}", f"conflicts with link.{given[0][0]}; give one of {names}")
        for k in given[0]:
            if k not in tbl:
                ctx.fail(f"link.{k}", f"missing key (required with link.{given[0][0]})")
            vals[k], srcs[f"link.{k}"] = _sourced(ctx, f"link.{k}", tbl[k], LINK_KINDS[k])
    return vals, srcs


def _resolve_link(ctx: _Ctx, chip: ChipSpec, link: Mapping[str, Any], sources: dict) -> tuple[int, int, float]:
    """``(latency_cycles, serialization_cycles, energy_pj_per_flit)`` of the given ``[link]`` values on ``chip``
    (its clock and flits); derived values' sources are added to ``sources``."""
    if min(chip.timing.hop_east_west_cycles, chip.timing.hop_north_south_cycles) + chip.flits_per_packet - 1 < 1:
        ctx.fail("chip", f"chip {chip.name!r} has zero-latency mesh hops; routes across chips turn back, so a board "
                 "needs every link latency >= 1 cycle")
    if chip.noc.readout_values_per_packet > 1:
        ctx.fail("chip", f"chip {chip.name!r} packs {chip.noc.readout_values_per_packet} values per packet to the "
                 "host (noc.readout_values_per_packet); boards of chips carry one value per packet")
    f_hz = chip.clock.frequency_hz
    if "latency_cycles" in link:
        lat = int(link["latency_cycles"])
    else:
        lat = max(1, math.ceil(link["latency_ns"] * f_hz / 1e9 - 1e-9))
        sources["link.latency_cycles"] = (f"derived: ceil(latency_ns {link['latency_ns']:g} x chip clock "
                                          f"{f_hz:g} Hz / 1e9)")
    bw = link["width_bits"] * link["clock_hz"] if "width_bits" in link else link["bandwidth_bits_per_s"]
    packet_bits = chip.flits_per_packet * chip.noc.link_width_bits
    ser = max(1, math.ceil(packet_bits * f_hz / bw - 1e-9))
    sources["link.serialization_cycles"] = (f"derived: ceil({packet_bits} bits per packet ({chip.flits_per_packet} "
                                            f"flits x {chip.noc.link_width_bits} bits) x {f_hz:g} Hz / {bw:g} bit/s)")
    if "energy_pj_per_flit" in link:
        epf = float(link["energy_pj_per_flit"])
    else:
        epf = float(link["energy_pj_per_bit"]) * chip.noc.link_width_bits
        sources["link.energy_pj_per_flit"] = (f"derived: energy_pj_per_bit {link['energy_pj_per_bit']:g} x "
                                              f"{chip.noc.link_width_bits} bits per flit")
    for key, v in (("link.latency_cycles" if "latency_cycles" in link else "link.latency_ns", lat + ser - 1),
                   ("link.width_bits" if "width_bits" in link else "link.bandwidth_bits_per_s", ser)):
        if v > limits.MAX_LATENCY_CYCLES:
            ctx.fail(key, f"gives {v} cycles per chip-to-chip hop; the engine allows at most "
                     f"{limits.MAX_LATENCY_CYCLES} (nmsim.describe.limits.MAX_LATENCY_CYCLES)")
    if epf > limits.MAX_ENERGY_PJ:
        ctx.fail("link.energy_pj_per_flit", f"{epf:g} pJ exceeds {limits.MAX_ENERGY_PJ:g} pJ")
    return lat, ser, epf


def parse_system(doc: dict, path: str | Path = "<string>") -> SystemSpec:
    """Resolve a parsed system TOML document; the chip reference resolves against ``path``'s directory."""
    ctx = _Ctx(str(path))
    name, desc = _document_header(ctx, doc, TOP_KEYS, path)
    ref = doc.get("chip")
    if ref is None:
        ctx.fail("chip", "missing key (a chip preset name or a path to a chip TOML)")
    if not isinstance(ref, str) or not ref:
        ctx.fail("chip", f"expected a chip preset name or path string, got {type(ref).__name__} {ref!r}")
    if ref.endswith(".toml") or "/" in ref:
        ref = str(Path(str(path)).parent / ref)
    try:
        chip = load_chip(ref)
    except ChipConfigError as exc:
        ctx.fail("chip", str(exc))
    btbl = _table(ctx, doc, "board")
    board, s1 = _sect(ctx, {"board": {k: v for k, v in btbl.items() if k != "empty"}}, "board", BOARD_KEYS)
    empty, src_empty = _empty(ctx, btbl["empty"], board["chips_x"], board["chips_y"]) if "empty" in btbl else ((), None)
    if src_empty is not None:
        s1["board.empty"] = src_empty
    ports, s2 = _sect(ctx, doc, "ports", PORT_KEYS)
    link, s3 = _link(ctx, doc)
    sources = {**s1, **s2, **s3}
    m = chip.mesh
    if ports["east_west_row"] >= m.height:
        ctx.fail("ports.east_west_row", f"{ports['east_west_row']} is outside the chip's mesh "
                 f"(height {m.height}: rows 0..{m.height - 1})")
    if ports["north_south_col"] >= m.width:
        ctx.fail("ports.north_south_col", f"{ports['north_south_col']} is outside the chip's mesh "
                 f"(width {m.width}: columns 0..{m.width - 1})")
    lat, ser, epf = _resolve_link(ctx, chip, link, sources)
    n_pos_r = board["chips_x"] * board["chips_y"] * m.n_routers
    deep = max(link["buffer_packets"], chip.noc.router_buffer_packets)  # the engine sizes its queues by the deepest
    ws = limits.workspace_bytes(n_pos_r, n_pos_r // m.n_routers * m.n_cores, m.cores_per_router, deep, 1)
    if link["buffer_packets"] > chip.noc.router_buffer_packets and \
            ws["noc.router_buffer_packets"] > limits.memory_budget_bytes():
        ctx.fail("link.buffer_packets", f"{link['buffer_packets']} packets: the engine's wait queues for the board "
                 f"would take {ws['noc.router_buffer_packets'] / 2**30:.3g} GiB, over the "
                 f"{limits.memory_budget_bytes() / 2**30:.3g} GiB budget (NMSIM_MEMORY_BUDGET_GIB)")
    n_pos = board["chips_x"] * board["chips_y"]  # grid positions: the wide mesh has routers on every one
    n_chips = n_pos - len(empty)
    total_cores = n_chips * m.n_cores
    n_ch = limits.n_links(n_pos * m.n_routers, total_cores)
    if board["chips_x"] > 1 and board["chips_y"] > 1:  # virtual channel 1 of every mesh link (docs/systems.md)
        n_ch += 4 * n_pos * m.n_routers
    if total_cores >= limits.MAX_CORES or n_ch >= limits.MAX_LINKS:
        ctx.fail("board.chips_x", f"{n_chips} chips x {m.n_cores} cores = {total_cores} cores, "
                 f"{n_ch} link channels; the engine packs core and channel ids "
                 f"in 16 bits (cores < {limits.MAX_CORES}, channels < {limits.MAX_LINKS})")
    spec = SystemSpec(name=name, description=desc, path=str(path), chip=chip, chips_x=board["chips_x"],
                      chips_y=board["chips_y"], east_west_row=ports["east_west_row"],
                      north_south_col=ports["north_south_col"], latency_cycles=lat, serialization_cycles=ser,
                      energy_pj_per_flit=epf, buffer_packets=link["buffer_packets"],
                      raw=MappingProxyType(dict(link)), sources=MappingProxyType(sources), empty=empty)
    if empty:  # the routes must avoid the empty positions, and stay deadlock-free (nmsim.sim.board_routes)
        from nmsim.sim import board_routes as br

        g = spec.geometry()
        try:
            br.chip_dirs(g)
            nxt = br.next_links(g)
            br.check_deadlock_free(g, nxt, br.vc_classes(g))
        except ValueError as exc:
            ctx.fail("board.empty", str(exc))
    return spec


def _empty(ctx: _Ctx, raw: Any, chips_x: int, chips_y: int) -> tuple[tuple[int, ...], str]:
    """``board.empty = { value = [[cx, cy], ...], source = "..." }`` -> (sorted chip indices, source)."""
    where = "board.empty"
    if not isinstance(raw, dict) or set(raw) - {"value", "source"} or "value" not in raw:
        ctx.fail(where, f"expected {{ value = [[cx, cy], ...], source = \"...\" }}, got {raw!r}")
    src = raw.get("source")
    if not isinstance(src, str) or not src.strip():
        ctx.fail(where, "missing source: every value needs a non-empty 'source' string")
    v = raw["value"]
    if not isinstance(v, list):
        ctx.fail(where, f"expected a list of [cx, cy] pairs, got {type(v).__name__} {v!r}")
    out = set()
    for pos in v:
        if (not isinstance(pos, list) or len(pos) != 2
                or any(isinstance(c, bool) or not isinstance(c, int) for c in pos)):
            ctx.fail(where, f"expected [cx, cy] integer pairs, got {pos!r}")
        cx, cy = pos
        if not (0 <= cx < chips_x and 0 <= cy < chips_y):
            ctx.fail(where, f"[{cx}, {cy}] is outside the {chips_x} x {chips_y} grid of chips")
        if cy * chips_x + cx in out:
            ctx.fail(where, f"[{cx}, {cy}] is listed twice")
        out.add(cy * chips_x + cx)
    if len(out) >= chips_x * chips_y:
        ctx.fail(where, "leaves no chip on the board")
    return tuple(sorted(out)), src.strip()


def chip_ref(system: SystemSpec) -> str:
    """The system chip's path (for loading a variant of it, e.g. ``nmsim.replay.load_replay_chip``)."""
    return system.chip.path


def list_systems() -> list[str]:
    """Names of the presets shipped in ``systems/`` (sorted)."""
    d = systems_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def system_path(name_or_path: str | Path) -> Path:
    """A preset name (``loihi-nahuku32``) -> ``systems/loihi-nahuku32.toml``; anything path-like as is."""
    from nmsim.describe.chip import preset_path

    return preset_path(name_or_path, systems_dir(), list_systems(), "system")


def load_system(name_or_path: str | Path) -> SystemSpec:
    """Load a system by preset name (``systems/``) or path."""
    path = system_path(name_or_path)
    doc = _read_toml(path, str(path))
    return parse_system(doc, path)


def board_chip(system: SystemSpec) -> ChipSpec:
    """The whole board as one wide chip: mesh ``chips_x x width`` by ``chips_y x height`` (cores numbered
    router by router over the board), the host on chip (0, 0)'s I/O router, ``energy.flit_hop_chip`` =
    the link's pJ per flit.  The chip-to-chip links themselves (ports, latency, serialization, routing
    through the ports) are applied by the engine from ``CompiledModel.meta["system"]`` (:func:`attach`).
    A variant of the chip (replay profile, overrides) goes through :meth:`SystemSpec.for_chip` first."""
    c = system.chip
    m = c.mesh
    W, H = m.width * system.chips_x, m.height * system.chips_y
    src = f"system {system.name}: {system.chips_x} x {system.chips_y} chips of {m.width} x {m.height}"
    mesh = dataclasses.replace(m, width=W, height=H, n_cores=system.n_chips * m.n_cores,
                               sources=MappingProxyType({**m.sources, "width": src, "height": src,
                                                         "n_cores": src}))
    pj = {**c.energy.pj, "flit_hop_chip": system.energy_pj_per_flit}
    es = {**c.energy.sources, "flit_hop_chip": system.sources.get("link.energy_pj_per_flit",
                                                                    system.sources.get("link.energy_pj_per_bit", ""))}
    energy = dataclasses.replace(c.energy, pj=MappingProxyType(pj), sources=MappingProxyType(es))
    return dataclasses.replace(c, name=f"{c.name}@{system.name}", mesh=mesh, energy=energy,
                               board=MappingProxyType(system.geometry()))


def core_routers(chip: ChipSpec) -> np.ndarray:
    """``int64[n_cores]``: the router of every core (host excluded).  On one chip core ``c`` sits on router
    ``c // cores_per_router``.  On a board (:func:`board_chip`) cores are numbered router by router over the
    whole board; routers of empty grid positions and a chip's empty router slots (a chip whose ``n_cores``
    leaves its last slots empty, as on one chip) hold none."""
    m = chip.mesh
    cpr = m.cores_per_router
    if chip.board is None:
        return np.arange(m.n_cores, dtype=np.int64) // cpr
    g = chip.board
    W, H = g["chip_width"], g["chip_height"]
    Wt = W * g["chips_x"]
    r = np.arange(m.n_routers, dtype=np.int64)
    local = ((r // Wt) % H) * W + (r % Wt) % W  # router index inside its chip
    per_chip = int(g.get("chip_cores", W * H * cpr))
    chip_of = ((r // Wt) // H) * g["chips_x"] + (r % Wt) // W
    present = np.ones(g["chips_x"] * g["chips_y"], bool)
    present[list(g.get("empty", ()))] = False
    here = np.clip(per_chip - local * cpr, 0, cpr) * present[chip_of]
    out = np.repeat(r, here)
    assert out.size == m.n_cores, (out.size, m.n_cores)
    return out


def attach(model, system: SystemSpec):
    """Mark a :class:`~nmsim.compile.compiled.CompiledModel` compiled for :func:`board_chip` as running on
    ``system`` (the engine then routes through the chip-to-chip ports); returns ``model``."""
    g = system.geometry()
    if model.width != g["chip_width"] * g["chips_x"] or model.height != g["chip_height"] * g["chips_y"]:
        raise ValueError(f"model mesh {model.width} x {model.height} is not the board of system {system.name}")
    model.meta["system"] = g
    model.meta["system_name"] = system.name
    return model


__all__ = ["SystemSpec", "parse_system", "load_system", "list_systems", "system_path", "board_chip", "core_routers",
           "attach"]
