"""A replay's results from its per-step record: latency, energy (priced by :mod:`nmsim.account`), traffic,
activity and the per-token rows (``docs/replay.md``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nmsim.account import CATEGORIES, CATEGORY, LINES, busy_vector, price_steps_chip
from nmsim.describe.actions import A, N_ACTIONS
from nmsim.replay.schedule import Schedule


@dataclass
class RunRecord:
    """What the replay keeps per step (bounded: ``n_steps x N_ACTIONS``) and per link / core / layer."""

    sched: Schedule
    step_cycles: np.ndarray     #: int64[n_steps] cycles of each step
    cnt_cores: np.ndarray       #: int64[n_steps, N_ACTIONS] counts summed over the cores (host excluded)
    cnt_host: np.ndarray        #: int64[n_steps, N_ACTIONS] the host column's counts
    cnt_core_total: np.ndarray  #: int64[n_cores+1, N_ACTIONS] counts per core summed over the steps
    busy_total: np.ndarray      #: int64[n_links] cycles each link was busy, summed over the steps
    host_out: np.ndarray        #: int64[n_steps] packets the host sent (the embedding row's routes)
    layer_events: np.ndarray    #: int64[n_layers] nonzero payloads of each layer, summed over the tokens
    g_ops: np.ndarray           #: int64[n_layers] golden synaptic operations of each layer
    g_dec_ops: int = 0          #: golden decoder synaptic operations
    dec_ops: int = 0            #: decoder synaptic operations reached by the last layer's sends
    peak_step_util: float = 0.0  #: the busiest link's busy share of its step, maximum over the steps
    in_use: np.ndarray | None = None    #: int64[n_in_use] the cores that hold neurons
    busy_vec: np.ndarray | None = None  #: int64[N_ACTIONS] busy cycles per count (nmsim.account.busy_vector)
    busy: np.ndarray | None = None      #: int64[n_steps, n_in_use] work cycles of each in-use core per step
    cores: Any = None           #: nmsim.replay.percore.CoreStats (per-core sums and maxima) or None
    #: int64[n_steps] router-to-router hops of the packets to the host (they may have more flits than a spike,
    #: ``readout_flits_per_packet``; :meth:`nmsim.sim.Engine.host_packet_hops`); ``None``: zeros
    host_in_hops: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.host_in_hops is None:
            self.host_in_hops = np.zeros(self.step_cycles.shape[0], np.int64)

    @classmethod
    def empty(cls, sched: Schedule, n_cores: int, n_links: int, n_layers: int, in_use=None,
              timing_cycles: dict | None = None) -> "RunRecord":
        """``in_use bool[n_cores]`` (default all) and ``timing_cycles`` (the chip's ``timing_cycles()``;
        ``None``: no per-core work is recorded, so only chips without power states can be priced)."""
        S = sched.n_steps
        idx = np.flatnonzero(np.ones(n_cores, bool) if in_use is None else np.asarray(in_use, bool))
        bv = None if timing_cycles is None else busy_vector(timing_cycles)
        return cls(sched, np.zeros(S, np.int64), np.zeros((S, N_ACTIONS), np.int64),
                   np.zeros((S, N_ACTIONS), np.int64), np.zeros((n_cores + 1, N_ACTIONS), np.int64),
                   np.zeros(n_links, np.int64), np.zeros(S, np.int64), np.zeros(n_layers, np.int64),
                   np.zeros(n_layers, np.int64), in_use=idx, busy_vec=bv,
                   busy=None if bv is None else np.zeros((S, idx.size), np.int64))

    def add_step(self, s: int, cycles: int, counters: np.ndarray, link_busy: np.ndarray) -> None:
        """Step ``s`` took ``cycles`` with per-core ``counters [n_cores+1, N_ACTIONS]`` and ``link_busy``."""
        C = counters.shape[0] - 1
        self.step_cycles[s] = cycles
        self.cnt_cores[s] = counters[:C].sum(axis=0)
        self.cnt_host[s] = counters[C]
        self.cnt_core_total += counters
        self.busy_total += link_busy
        if self.busy is not None:
            self.busy[s] = counters[self.in_use] @ self.busy_vec
        if cycles > 0:
            self.peak_step_util = max(self.peak_step_util, float(link_busy.max(initial=0)) / cycles)


@dataclass
class ReplayResult:
    summary: dict
    tokens_rows: list[dict]
    run_info: dict
    trace: Any = None            #: nmsim.report.perfetto.Trace or None
    first_mismatch: Any = None   #: nmsim.replay.check.Mismatch or None
    record: RunRecord | None = None  #: the per-step counts the results were computed from
    steps_rows: list[dict] = field(default_factory=list)  #: ``steps.csv``, one row per step
    cores_rows: list[dict] = field(default_factory=list)  #: ``cores.csv`` (nmsim.replay.percore)
    links_rows: list[dict] = field(default_factory=list)  #: ``links.csv`` (nmsim.replay.percore)
    #: two passes: the compressed functional record's ``{"bytes", "steps", "chunk_steps"}``; one pass: ``None``
    functional_record: dict | None = None


def _r(x: float, nd: int = 6) -> float:
    """Stable rounding for JSON (the values are deterministic; this only trims float noise)."""
    return float(f"{x:.{nd}g}") if math.isfinite(x) else x


def step_owner(sched: Schedule) -> np.ndarray:
    """Token each step's quantities are attributed to (``docs/replay.md``).

    serial: the token whose steps they are (exact).  pipelined: step ``s`` -> the token that
    *enters* at ``s`` (``s < N``); the drain steps ``N .. N+L`` go to the last token.  Sums over
    tokens equal the run's totals."""
    own = np.empty(sched.n_steps, np.int64)
    if sched.mode == "serial":
        own[:] = np.arange(sched.n_steps) // sched.depth
    else:
        own[:] = np.minimum(np.arange(sched.n_steps), sched.n_tokens - 1)
    return own


def price(chip, rec: RunRecord):
    """The record's energy (:class:`nmsim.account.StepEnergy`) at the chip's costs, power states and
    timestep mode (its ``step_cycles`` are the steps under the mode)."""
    busy = rec.busy
    if busy is None and rec.in_use is not None and rec.in_use.size < chip.n_cores:
        busy = np.zeros((rec.step_cycles.shape[0], rec.in_use.size), np.int64)
    return price_steps_chip(rec.cnt_cores, rec.cnt_host, rec.step_cycles, chip, busy)


def time_and_power(chip, energy, n_in_use: int) -> dict:
    """The ``timestep`` and ``power`` sections of ``summary.json`` (``docs/power-and-time.md``)."""
    ts, ns = energy.timestep, 1e9 / chip.clock.frequency_hz
    ps, ops = chip.power_states, chip.operating_points
    return {
        "timestep": {"mode": ts.mode, "period_ns": _r(ts.period_cycles * ns) if ts.mode == "fixed" else None,
                     "overrun_policy": ts.overrun_policy if ts.mode == "fixed" else None,
                     "overrun_steps": ts.overrun_steps, "worst_overrun_ns": _r(ts.worst_overrun_cycles * ns),
                     "real_time_violations": ts.real_time_violations,
                     "shortest_period_ns": _r(ts.shortest_period_cycles * ns)},
        "power": {"unused_cores": ps.unused_cores, "idle_step_gating": ps.idle_step_gating,
                  "cores_in_use": int(n_in_use), "cores_unused": int(chip.n_cores - n_in_use),
                  "operating_point": None if ops is None else ops.selected,
                  "voltage_v": None if ops is None else ops.points[ops.selected].voltage_v,
                  "frequency_hz": chip.clock.frequency_hz},
    }


#: the dynamic energy categories (every category but ``static``, which ``tokens.csv`` splits into ``LINES``)
DYNAMIC_CATEGORIES = tuple(c for c in CATEGORIES if c != "static")


def dynamic_categories(energy) -> dict[str, np.ndarray]:
    """pJ per step of each dynamic energy category (:data:`nmsim.account.CATEGORY`)."""
    from nmsim.describe.actions import ACTIONS

    out = {c: np.zeros(energy.step_pj.shape[0]) for c in DYNAMIC_CATEGORIES}
    for i, name in enumerate(ACTIONS):
        out[CATEGORY[name]] += energy.dynamic_pj[:, i]
    return out


def packet_hops(flit_hops, host_in_hops, flits_per_packet: int, readout_flits_per_packet: int):
    """Router-to-router packet hops from the counted flit hops: ``flit_hops = F x spike-packet hops + RF x hops
    of packets to the host``, so ``hops = (flit_hops - RF x host_in_hops) / F + host_in_hops`` (``flit_hops /
    F`` when ``RF == F``).  Works on integers or integer arrays."""
    F, RF = max(int(flits_per_packet), 1), int(readout_flits_per_packet)
    if RF == F:
        return flit_hops // F
    return (flit_hops - RF * host_in_hops) // F + host_in_hops


def step_rows(rec: RunRecord, energy, owner: np.ndarray, flits_per_packet: int,
              readout_flits_per_packet: int | None = None) -> list[dict]:
    """``steps.csv``: per step its cycles, the token it is attributed to, traffic, synaptic ops and energy."""
    c, h = rec.cnt_cores, rec.cnt_host
    pk = c[:, A["packet_send"]] + rec.host_out
    fh = (c[:, A["flit_hop_east_west"]] + c[:, A["flit_hop_north_south"]] + h[:, A["flit_hop_east_west"]]
          + h[:, A["flit_hop_north_south"]])
    rf = flits_per_packet if readout_flits_per_packet is None else readout_flits_per_packet
    hops = packet_hops(fh, rec.host_in_hops, flits_per_packet, rf)
    return [{"step": s, "token": int(owner[s]), "cycles": int(rec.step_cycles[s]), "packets": int(pk[s]),
             "hops": int(hops[s]), "synaptic_ops": int(c[s, A["synaptic_op"]]),
             "events": int(c[s, A["spike"]] + h[s, A["spike"]]), "energy_nj": _r(float(energy.step_pj[s]) * 1e-3)}
            for s in range(rec.sched.n_steps)]


def assemble(mapped, tokens: np.ndarray, rec: RunRecord, checker, traces: list, sim_wall: float) -> ReplayResult:
    """Summary, per-token rows and trace of a finished replay."""
    from nmsim.lm.metrics import perplexity

    chip, cm, lm, sched = mapped.chip, mapped.model, mapped.lm, rec.sched
    N = len(tokens)
    cnt_cores, cnt_host, host_out = rec.cnt_cores, rec.cnt_host, rec.host_out
    hz = chip.clock.frequency_hz
    energy = price(chip, rec)
    step_cycles = energy.step_cycles  # the steps under the chip's timestep mode
    step_pj = energy.step_pj
    total_pj = float(step_pj.sum())
    total_ns = float(energy.latency_ns.sum())
    # per-token latency: the cycles of the token's steps (entry .. entry + depth - 1)
    csum = np.concatenate([[0], np.cumsum(step_cycles)])
    lat_cyc = csum[sched.entry + sched.depth] - csum[sched.entry]
    lat_ns = lat_cyc.astype(np.float64) / hz * 1e9
    # per-token attribution of step quantities
    owner = step_owner(sched)
    tok_pj = np.bincount(owner, weights=step_pj, minlength=N)
    tok_ops = np.bincount(owner, weights=cnt_cores[:, A["synaptic_op"]], minlength=N).astype(np.int64)
    tok_spk = np.bincount(owner, weights=cnt_cores[:, A["spike"]] + cnt_host[:, A["spike"]],
                          minlength=N).astype(np.int64)
    pk = cnt_cores[:, A["packet_send"]] + host_out
    tok_pk = np.bincount(owner, weights=pk, minlength=N).astype(np.int64)
    tok_cycles = np.bincount(owner, weights=step_cycles, minlength=N).astype(np.int64)
    tok_lines = {k: np.bincount(owner, weights=v, minlength=N) for k, v in energy.lines_step_pj.items()}
    tok_over = np.bincount(owner, weights=energy.timestep.overrun, minlength=N).astype(np.int64)
    lines = energy.lines_pj()
    tok_cat = {c: np.bincount(owner, weights=v, minlength=N) for c, v in dynamic_categories(energy).items()}

    tot = cnt_cores.sum(axis=0) + cnt_host.sum(axis=0)
    cats = energy.categories()
    packets = int(cnt_cores[:, A["packet_send"]].sum() + host_out.sum())
    host_in = int(cnt_host[:, A["io_packet"]].sum() - host_out.sum())
    F, RF = int(chip.flits_per_packet), int(chip.readout_flits_per_packet)
    flits = F * (packets - host_in) + RF * host_in  # packets to the host have the readout packets' flits
    hops = int(packet_hops(int(tot[A["flit_hop_east_west"]] + tot[A["flit_hop_north_south"]]),
                           int(rec.host_in_hops.sum()), F, RF))
    total_cycles = int(step_cycles.sum())
    max_util = float(rec.busy_total.max(initial=0)) / total_cycles if total_cycles else 0.0
    synops = int(tot[A["synaptic_op"]])
    events = int(tot[A["spike"]])
    widths = np.asarray(lm.hidden, np.float64)
    first = checker.first
    n_pred = checker.n_pred
    ppl = perplexity(checker.nll, n_pred) if n_pred else float("nan")
    ppl_gold = perplexity(checker.nll_golden, n_pred) if n_pred else float("nan")
    golden_ops = int(rec.g_ops.sum()) + (int(rec.g_dec_ops) if lm.readout else 0)
    dec_ops = rec.dec_ops

    summary = {
        "tokens": N,
        "predictions": int(n_pred),
        "perplexity": ppl,
        "golden_perplexity": ppl_gold,
        "bit_exact": first is None,
        "first_mismatch": None if first is None else first.to_dict(),
        "mismatched_tokens": len(checker.bad_tokens),
        "logits_sha256": checker.logits_sha256,
        "latency_ns": {"mean": _r(float(lat_ns.mean())), "p50": _r(float(np.percentile(lat_ns, 50))),
                       "p99": _r(float(np.percentile(lat_ns, 99))), "max": _r(float(lat_ns.max()))},
        "throughput_tokens_per_s": _r(N / (total_ns * 1e-9)) if total_ns else None,
        "simulated_time_ns": _r(total_ns),
        "steps": int(sched.n_steps),
        "energy_nj_per_token": {"total": _r(total_pj * 1e-3 / N),
                                **{c: _r(v * 1e-3 / N) for c, v in cats.items()},
                                "wake": _r(lines["wake"] * 1e-3 / N)},
        "static_nj_per_token": {k: _r(lines[k] * 1e-3 / N) for k in LINES if k != "wake"},
        **time_and_power(chip, energy, 0 if rec.in_use is None else rec.in_use.size),
        "energy_nj_total": _r(total_pj * 1e-3),
        "traffic": {"packets": packets, "flits": flits, "hops": hops,
                    "host_packets_out": int(host_out.sum()),
                    "host_packets_in": host_in,
                    "values_per_host_packet": int(chip.noc.readout_values_per_packet),
                    "max_link_utilization": _r(max_util), "peak_step_link_utilization": _r(rec.peak_step_util),
                    "packets_per_token": _r(packets / N)},
        "synaptic_ops_per_token": _r(synops / N),
        "decoder_synaptic_ops_per_token": _r(dec_ops / N),
        "layer_synaptic_ops_per_token": _r((synops - dec_ops) / N),
        "golden_synaptic_ops_per_token": _r(golden_ops / N),
        "events_per_token": _r(events / N),
        "activity": {p: _r(float(rec.layer_events[i]) / (N * widths[i])) for i, p in enumerate(lm.layer_pops)},
        "chip": chip.name,
        "model": mapped.golden.mf.header.get("name", Path(str(mapped.golden.mf.path)).stem),
        "mode": sched.mode,
        "placement": mapped.placement.strategy,
        "decoder": lm.decoder,
        "cores_used": int((mapped.placement.neurons > 0).sum()),
        "sim_wall_s": round(sim_wall, 3),
        "synaptic_events_per_s": round(synops / sim_wall, 1) if sim_wall > 0 else None,
    }
    rows = []
    for t in range(N):
        rows.append({"token": t, "id": int(tokens[t]), "latency_cycles": int(lat_cyc[t]),
                     "latency_ns": _r(float(lat_ns[t])), "energy_nj": _r(float(tok_pj[t]) * 1e-3),
                     "events": int(tok_spk[t]), "packets": int(tok_pk[t]), "synaptic_ops": int(tok_ops[t]),
                     "step_cycles": int(tok_cycles[t]), "overrun_steps": int(tok_over[t]),
                     **{f"{k}_nj": _r(float(tok_lines[k][t]) * 1e-3) for k in LINES},
                     **{f"{c}_nj": _r(float(tok_cat[c][t]) * 1e-3) for c in DYNAMIC_CATEGORIES}})
    trace = None
    if traces:
        from nmsim.report.replay_trace import replay_trace

        trace = replay_trace(cm, hz, traces, step_cycles)
    from nmsim.replay.neurobench import neurobench_block
    from nmsim.replay.percore import critical_core, link_rows

    from nmsim.replay.system_metrics import system_block

    board = system_block(cm, tot, energy, packets, int(chip.flits_per_packet))
    if board is not None:
        summary["system"] = board
    summary["neurobench"] = neurobench_block(mapped.golden, lm, rec, N, int(mapped.placement.bytes.sum()))
    cores_rows = [] if rec.cores is None else rec.cores.rows(cm, mapped.placement, list(cm.meta["populations"]))
    summary["critical_core"] = critical_core(cores_rows)
    return ReplayResult(summary=summary, tokens_rows=rows, run_info={}, trace=trace, first_mismatch=first,
                        record=rec, steps_rows=step_rows(rec, energy, owner, F, RF),
                        cores_rows=cores_rows, links_rows=link_rows(cm, rec.busy_total, total_cycles))
