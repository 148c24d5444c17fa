"""Perfetto timeline of a replay's traced steps (``nmsim run --trace``): links, synapse units, neuron units."""

from __future__ import annotations

import numpy as np

from nmsim.report.perfetto import Trace


def replay_trace(cm, clock_hz: float, traces: list, step_cycles: np.ndarray) -> Trace:
    """Perfetto tracks for the traced steps: one per link (a slice per grant), per core's synapse unit (a slice
    per received packet; the host's port too) and per core's neuron unit (its update phase).

    ``traces``: ``[(PacketTrace, core_end int64[n_cores]), ...]`` of the first steps; ``step_cycles``: every
    step's cycles (the traced ones are laid end to end)."""
    from nmsim.sim.engine import link_costs

    tr = Trace(clock_hz=clock_hz)
    C = cm.n_cores
    occ_tab = link_costs(cm)[0]
    t0 = 0
    for s, (pt, core_end) in enumerate(traces):
        tr.slice("steps", "timestep", f"step {s}", t0, int(step_cycles[s]), step=s)
        for c in np.flatnonzero(core_end):
            tr.slice("neuron units", f"core {int(c)}", "update", t0, int(core_end[c]), step=s)
        for i in range(pt.n_packets):
            for j in range(int(pt.link_ptr[i]), int(pt.link_ptr[i + 1])):
                L = int(pt.link[j])
                occ = int(occ_tab[L])
                if occ <= 0:
                    continue
                tr.slice("links", link_name(cm, L), f"pk {int(pt.src_neuron[i])}->{int(pt.dst_core[i])}",
                         t0 + int(pt.grant[j]), occ, step=s, seq=int(pt.seq[i]))
            d = int(pt.dst_core[i])
            dur = int(pt.syn_end[i] - pt.syn_start[i])
            name = "host" if d == C else f"core {d}"
            if dur > 0 or d == C:
                tr.slice("cores", name, f"rx {int(pt.src_neuron[i])}", t0 + int(pt.syn_start[i]), max(dur, 1),
                         step=s, seq=int(pt.seq[i]))
        t0 += int(step_cycles[s])
    return tr


def link_name(cm, L: int) -> str:
    """Readable name of link ``L`` of a compiled model (router port, injection or ejection link)."""
    R, C, W = cm.n_routers, cm.n_cores, cm.width
    if L < 4 * R:
        r, p = divmod(L, 4)
        return f"router ({r % W},{r // W}) {'EWNS'[p]}"
    if L < 4 * R + C + 1:
        c = L - 4 * R
        return "inject host" if c == C else f"inject core {c}"
    c = L - 4 * R - C - 1
    return "eject host" if c == C else f"eject core {c}"
