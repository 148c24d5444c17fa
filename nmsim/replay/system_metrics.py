"""The ``system`` block of ``summary.json`` for a replay on a board of chips (``docs/systems.md``)."""

from __future__ import annotations

from nmsim.compile.compiled import T
from nmsim.describe.actions import A


def system_block(cm, tot, energy, packets: int, flits_per_packet: int) -> dict | None:
    """Off-chip traffic and cost of a run on a board, or ``None`` on one chip.

    ``tot int64[N_ACTIONS]``: the run's counts (cores + host); ``energy``: its
    :class:`nmsim.account.StepEnergy` (off-chip energy is its ``flit_hop_chip`` column, priced there);
    ``packets``: packets sent.  ``zero_load_latency_share``: of the summed idle-network path latency of
    every packet (send + mesh hops + chip-to-chip hops + delivery, each ``hop + flits - 1`` cycles), the
    share spent on chip-to-chip links -- contention is left out, so it is the structural share.
    """
    g = cm.meta.get("system")
    if g is None:
        return None
    F = max(int(flits_per_packet), 1)
    tm = cm.timing
    chip_hops = int(tot[A["flit_hop_chip"]]) // F
    ew, ns = int(tot[A["flit_hop_east_west"]]) // F, int(tot[A["flit_hop_north_south"]]) // F
    lat_ew = int(tm[T["hop_east_west_cycles"]]) + F - 1
    lat_ns = int(tm[T["hop_north_south_cycles"]]) + F - 1
    fixed = int(tm[T["spike_send_cycles"]]) + int(tm[T["local_delivery_cycles"]]) + F - 1
    chip_cyc = chip_hops * int(g["link_lat"])
    path_cyc = packets * fixed + ew * lat_ew + ns * lat_ns + chip_cyc
    off_pj = float(energy.dynamic_pj[:, A["flit_hop_chip"]].sum())
    total_pj = float(energy.step_pj.sum())
    return {
        "name": cm.meta.get("system_name", ""),
        "chips": int(g["chips_x"] * g["chips_y"] - len(g.get("empty", ()))),  # grid positions less the empty ones
        "chips_x": int(g["chips_x"]), "chips_y": int(g["chips_y"]),
        "chip_link_occupancy_cycles": int(g["link_occ"]), "chip_link_latency_cycles": int(g["link_lat"]),
        "off_chip_packet_hops": chip_hops,
        "off_chip_flits": int(tot[A["flit_hop_chip"]]),
        "on_chip_packet_hops": ew + ns,
        "off_chip_energy_nj": round(off_pj * 1e-3, 6),
        "off_chip_energy_share": round(off_pj / total_pj, 6) if total_pj > 0 else 0.0,
        "zero_load_latency_share": round(chip_cyc / path_cyc, 6) if path_cyc > 0 else 0.0,
    }
