"""Engine limits on chip values, defined once (``docs/chip-description.md``, "Limits").

Every number here is a limit of the engine's data layout or workspace, not of any
real chip.  :func:`check` is run by :class:`nmsim.describe.chip.ChipSpec` on every
construction (TOML loader, ``--set`` overrides, SANA-FE import, micro-benchmarks),
so a chip the engine cannot run is refused with one line naming the key and the
limit before any mapping or simulation starts.  The engine's own run-time asserts
import the same names.  Nothing heavy is imported here.
"""

from __future__ import annotations

import os

#: Core ids are packed in 16 bits: ``n_cores < MAX_CORES`` (the host takes id ``n_cores``).
MAX_CORES = 2**16
#: Link ids are packed in 16 bits (one value reserved): ``n_links < MAX_LINKS``.
MAX_LINKS = 2**16 - 1
#: Largest latency or occupancy of one timing value, in cycles.  The timing wheel has
#: a slot per cycle up to the largest link latency (``nmsim.sim.timing.wheel_size``):
#: 2**20 cycles keep it at most 2**22 slots (32 MiB).
MAX_LATENCY_CYCLES = 2**20
#: Largest packet length in flits (``ceil((header_bits + payload_bits) / link_width_bits)``);
#: a link is occupied one cycle per flit, so this bounds the wheel like a latency.
MAX_FLITS_PER_PACKET = 2**12
#: Largest integer accepted for any chip value: values are stored in int64 arrays and
#: multiplied by counts of up to 2**31 without overflowing int64.
MAX_INT_VALUE = 2**31 - 1
#: Largest bit width of any ``*_bits`` value (ids, pointers, headers are at most 64-bit words
#: in the engine; wider link widths only shorten packets).
MAX_BITS = 4096
#: Clock range in Hz: slower clocks make simulated times overflow float64 ns in long runs,
#: faster ones are not a clock.
MIN_FREQUENCY_HZ = 1.0
MAX_FREQUENCY_HZ = 1e15
#: Largest energy of one action (pJ) and static power of one core (mW): beyond these,
#: per-run totals can overflow float64.
MAX_ENERGY_PJ = 1e12
MAX_POWER_MW = 1e12
#: Budget for the chip-sized engine workspaces (see :func:`workspace_bytes`), in bytes.
#: The environment variable ``NMSIM_MEMORY_BUDGET_GIB`` raises or lowers it.
DEFAULT_MEMORY_BUDGET_BYTES = 4 * 2**30


def memory_budget_bytes() -> int:
    """The workspace budget: ``NMSIM_MEMORY_BUDGET_GIB`` (GiB) if set, else 4 GiB."""
    text = os.environ.get("NMSIM_MEMORY_BUDGET_GIB")
    if text:
        try:
            gib = float(text)
        except ValueError:
            gib = -1.0
        if gib > 0:
            return int(gib * 2**30)
    return DEFAULT_MEMORY_BUDGET_BYTES


def n_links(n_routers: int, n_cores: int) -> int:
    """Links of a mesh: 4 output ports per router, plus an injection and an ejection link
    per core and for the host (``nmsim.compile.compiled``)."""
    return 4 * n_routers + 2 * (n_cores + 1)


def workspace_bytes(n_routers: int, n_cores: int, cores_per_router: int, buffer_packets: int,
                    max_link_cycles: int) -> dict[str, int]:
    """Bytes of the engine workspaces whose size follows from chip values alone, by the key
    that drives them (int64 = 8 bytes; a lower bound: network-sized arrays come on top).

    - ``mesh``: the router-to-router routing and hop tables (``nmsim.sim.engine.link_tables``,
      about 6 ``R x R`` int64 arrays at their peak) and the core-to-core hop matrix of the
      placement (about 5 ``(C + 1) x C`` int64 arrays);
    - ``noc.router_buffer_packets``: the per-link wait queues (``links x buffer x (cores/router + 5)``)
      and the event pool (``3 x links x (buffer + 4)``);
    - ``timing``: the timing wheel (the next power of two above the largest link latency).
    """
    NL = n_links(n_routers, n_cores)
    wheel = 2
    while wheel <= max_link_cycles:
        wheel *= 2
    return {"mesh": 8 * (6 * n_routers * n_routers + 5 * (n_cores + 1) * n_cores),
            "noc.router_buffer_packets": 8 * NL * buffer_packets * (cores_per_router + 5)
            + 8 * 3 * NL * (buffer_packets + 4),
            "timing": 8 * wheel}


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def check(chip) -> list[tuple[str, str]]:
    """Every engine limit ``chip`` breaks, as ``(table.key, problem)`` (empty: fits).

    Per-value ranges come first, then derived limits (16-bit ids, the workspace budget)."""
    out: list[tuple[str, str]] = []
    for sec in ("clock", "mesh", "core", "noc", "timing", "barrier", "static"):
        spec = getattr(chip, sec)
        for key in getattr(spec, "KINDS", {}):
            v = getattr(spec, key)
            where = f"{sec}.{key}"
            if isinstance(v, int) and v > MAX_INT_VALUE:
                out.append((where, f"{v} is above the engine's integer limit {MAX_INT_VALUE} (2**31 - 1)"))
            elif sec == "timing" and v > MAX_LATENCY_CYCLES:
                out.append((where, f"{v} cycles is above the engine's latency limit {MAX_LATENCY_CYCLES} cycles "
                                   "(the timing wheel has one slot per cycle of the largest latency)"))
            elif key.endswith("_bits") and v > MAX_BITS:
                out.append((where, f"{v} bits is above the limit {MAX_BITS} bits"))
    hz, mw = chip.clock.frequency_hz, chip.static.core_power_mw
    out += [(where, problem) for where, broken, problem in [
        ("clock.frequency_hz", not MIN_FREQUENCY_HZ <= hz <= MAX_FREQUENCY_HZ,
         f"{hz!r} Hz is outside the range {MIN_FREQUENCY_HZ:g} .. {MAX_FREQUENCY_HZ:g} Hz "
         "(simulated times must stay finite)"),
        ("static.core_power_mw", mw > MAX_POWER_MW, f"{mw!r} mW is above the limit {MAX_POWER_MW:g} mW per core"),
    ] + [(f"energy.{a}", pj > MAX_ENERGY_PJ, f"{pj!r} pJ is above the limit {MAX_ENERGY_PJ:g} pJ per action")
         for a, pj in chip.energy.pj.items()] if broken]
    if out:
        return out
    m = chip.mesh
    nl = n_links(m.n_routers, m.n_cores)
    out += [(where, problem) for where, broken, problem in [
        ("mesh.n_cores", m.n_cores >= MAX_CORES,
         f"{m.n_cores} cores; the engine packs core ids in 16 bits (n_cores must be < {MAX_CORES})"),
        ("mesh", nl >= MAX_LINKS, f"{m.width} x {m.height} routers with {m.n_cores} cores make {nl} links "
                                  f"(4 x routers + 2 x (cores + 1)); the engine packs link ids in 16 bits "
                                  f"(must be < {MAX_LINKS})"),
        ("noc", chip.noc.flits_per_packet > MAX_FLITS_PER_PACKET,
         f"{chip.noc.flits_per_packet} flits per packet (ceil((header_bits + payload_bits) / link_width_bits)) "
         f"is above the limit {MAX_FLITS_PER_PACKET}"),
        ("noc.readout_values_per_packet", chip.noc.readout_flits_per_packet > MAX_FLITS_PER_PACKET,
         f"{chip.noc.readout_values_per_packet} values per packet to the host make "
         f"{chip.noc.readout_flits_per_packet} flits (ceil((header_bits + readout_values_per_packet x payload_bits) "
         f"/ link_width_bits)), above the limit {MAX_FLITS_PER_PACKET}"),
    ] if broken]
    if out:
        return out
    t = chip.timing
    longest = max(t.hop_east_west_cycles, t.hop_north_south_cycles, t.local_delivery_cycles) \
        + max(chip.noc.flits_per_packet, chip.noc.readout_flits_per_packet) - 1
    longest = max(longest, t.spike_send_cycles, t.io_packet_cycles, chip.noc.flits_per_packet,
                  chip.noc.readout_flits_per_packet)
    ws = workspace_bytes(m.n_routers, m.n_cores, m.cores_per_router, chip.noc.router_buffer_packets, longest)
    total, budget = sum(ws.values()), memory_budget_bytes()
    if total > budget:
        key = max(ws, key=ws.get)
        parts = ", ".join(f"{k} {_size(v)}" for k, v in ws.items())
        out.append((key, f"the engine's workspaces would take {_size(total)} ({parts}), over the "
                         f"{_size(budget)} budget (NMSIM_MEMORY_BUDGET_GIB)"))
    return out
