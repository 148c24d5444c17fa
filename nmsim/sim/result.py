"""What a simulation returns (``docs/engine-model.md`` §4): plain arrays, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PacketTrace:
    """Per-packet timing of one or more steps, for Perfetto export.  Off by default.

    Packets are listed step by step, in ``seq`` order within a step (``seq`` = rank of
    ``(f_g, source core, g, k)``).  Cycles are relative to the start of their step.

    ``step int64[P]``; ``seq int64[P]``; ``src_neuron int64[P]`` (global ``g``);
    ``route int64[P]`` (``k``); ``src_core int32[P]`` (host = ``n_cores``); ``dst_core int32[P]``;
    ``link_ptr int64[P+1]``: the links of packet ``i`` are ``link[link_ptr[i]:link_ptr[i+1]]``
    (injection, mesh hops in XY order, ejection; ids as in ``nmsim.compile.compiled``), granted at
    ``grant[...]`` (cycle); ``arrival int64[P]`` (cycle it reaches the destination core);
    ``syn_start, syn_end int64[P]`` (synapse-unit service interval).
    """

    step: np.ndarray
    seq: np.ndarray
    src_neuron: np.ndarray
    route: np.ndarray
    src_core: np.ndarray
    dst_core: np.ndarray
    link_ptr: np.ndarray
    link: np.ndarray
    grant: np.ndarray
    arrival: np.ndarray
    syn_start: np.ndarray
    syn_end: np.ndarray

    @property
    def n_packets(self) -> int:
        return int(self.step.shape[0])

    @staticmethod
    def concat(parts: list["PacketTrace"]) -> "PacketTrace":
        """One trace from per-step traces (``link_ptr`` re-based)."""
        if not parts:
            z = np.zeros(0, np.int64)
            return PacketTrace(z, z, z, z, z.astype(np.int32), z.astype(np.int32), np.zeros(1, np.int64),
                               z.astype(np.int32), z, z, z, z)
        ptr = [parts[0].link_ptr]
        off = parts[0].link_ptr[-1]
        for q in parts[1:]:
            ptr.append(q.link_ptr[1:] + off)
            off += q.link_ptr[-1]
        cat = {f: np.concatenate([getattr(q, f) for q in parts])
               for f in ("step", "seq", "src_neuron", "route", "src_core", "dst_core", "link", "grant",
                         "arrival", "syn_start", "syn_end")}
        return PacketTrace(link_ptr=np.concatenate(ptr), **cat)


@dataclass
class StepResult:
    """One timestep (``Engine.step``).  ``fired uint8[N]``, ``payload int64[N]``,
    ``counters int64[n_cores+1, N_ACTIONS]``, ``step_cycles`` (int, cycles),
    ``link_busy int64[n_links]`` (cycles), ``trace`` (``PacketTrace`` or ``None``)."""

    fired: np.ndarray
    payload: np.ndarray
    counters: np.ndarray
    step_cycles: int
    link_busy: np.ndarray
    trace: PacketTrace | None = None


@dataclass
class SimResult:
    """A run of ``n_steps`` timesteps (spec §4).

    ``fired uint8[n_steps, N]`` and ``payload int64[n_steps, N]`` (``None`` unless recorded);
    ``counters int64[n_steps, n_cores+1, N_ACTIONS]`` (host = column ``n_cores``; actions in
    ``nmsim.describe.actions.ACTIONS``); ``step_cycles int64[n_steps]`` (cycles, barrier included);
    ``link_busy int64[n_steps, n_links]`` (cycles; ``None`` unless recorded);
    ``final_state int64[N, 4]`` (neuron state after the last step); ``trace`` (``None`` unless recorded).
    """

    fired: np.ndarray | None
    payload: np.ndarray | None
    counters: np.ndarray
    step_cycles: np.ndarray
    link_busy: np.ndarray | None
    final_state: np.ndarray
    trace: PacketTrace | None = None

    @property
    def n_steps(self) -> int:
        return int(self.step_cycles.shape[0])

    @property
    def n_cores(self) -> int:
        return int(self.counters.shape[1]) - 1

    @property
    def total_cycles(self) -> int:
        """Simulated time of the whole run, cycles."""
        return int(self.step_cycles.sum())
