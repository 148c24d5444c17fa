"""Per-core and per-link view (cores.csv, links.csv): values against per-packet traces and hand counts."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.describe.actions import A, N_ACTIONS
from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from nmsim.replay.percore import CoreStats
from replay_helpers import tiny_golden, tokens


def _traced_run(monkeypatch, decoder: str, n: int = 12):
    """A replay on test-2x2 with every step traced; returns (result, mapped, [(PacketTrace, core_end)])."""
    import nmsim.report.replay_trace as rt

    captured = []
    real = rt.replay_trace

    def spy(cm, hz, traces, step_cycles):
        captured.extend(traces)
        return real(cm, hz, traces, step_cycles)

    monkeypatch.setattr(rt, "replay_trace", spy)
    g = tiny_golden("egru")
    m = build_replay(g, load_replay_chip("test-2x2"), "snake", decoder)
    cfg = ReplayConfig(chip="test-2x2", decoder=decoder, trace=True, trace_steps=10**6)
    res = replay(cfg, mapped=m, tokens=tokens(n))
    assert len(captured) == res.summary["steps"]
    return res, m, captured


def _hand_per_step(m, res, traces):
    """Per step and core (host last): neuron-phase cycles from the enabled units (every enabled unit is active:
    docs/replay.md), synapse-unit busy cycles, last completion and synaptic ops from the packet trace."""
    cm, sched = m.model, res.record.sched
    C = cm.n_cores
    ta = int(m.chip.timing.neuron_update_active_cycles)
    core_of = np.repeat(np.arange(C + 1), np.diff(cm.core_neuron_ptr))
    nnz = np.diff(cm.row_ptr)
    out = []
    for s, (pt, core_end) in enumerate(traces):
        enabled = np.zeros(cm.n_neurons, bool)
        for st, idx in enumerate(m.stage_index):
            if st > 0 and sched.stage_on[s, st]:
                enabled[idx] = True
        neuron = ta * np.bincount(core_of[enabled], minlength=C + 1)
        neuron[C] = 0
        assert (neuron[:C] == core_end[:C]).all(), s
        busy, free, ops = (np.zeros(C + 1, np.int64) for _ in range(3))
        for i in range(pt.n_packets):
            d = int(pt.dst_core[i])
            free[d] = max(free[d], int(pt.arrival[i]) if d == C else int(pt.syn_end[i]))
            if d < C:
                busy[d] += int(pt.syn_end[i] - pt.syn_start[i])
                ops[d] += int(nnz[cm.route_row[pt.route[i]]])
        end = np.maximum(neuron, free)
        crit = int(np.flatnonzero(end == end.max())[0]) if end.max() > 0 else -1
        out.append((neuron, busy, ops, crit))
    return out


@pytest.mark.parametrize("decoder", ["chip", "host"])
def test_cores_match_the_packet_trace(monkeypatch, decoder):
    res, m, traces = _traced_run(monkeypatch, decoder)
    hand = _hand_per_step(m, res, traces)
    S = len(hand)
    rows = res.cores_rows
    C = m.model.n_cores
    assert len(rows) == C + 1 and rows[-1]["core"] == "host"
    crit = np.bincount([h[3] for h in hand if h[3] >= 0], minlength=C + 1)
    for c, r in enumerate(rows):
        for col, k in (("neuron_cycles", 0), ("synapse_busy_cycles", 1), ("synaptic_ops", 2)):
            per = np.array([h[k][c] for h in hand])
            assert r[f"{col}_mean"] == pytest.approx(per.sum() / S, rel=1e-12), (c, col)
            assert r[f"{col}_max"] == per.max(), (c, col)
        assert r["critical_share"] == pytest.approx(crit[c] / S, rel=1e-12), c
        assert r["busy_cycles_total"] == sum(h[0][c] + h[1][c] for h in hand)
    assert sum(r["critical_share"] for r in rows) == pytest.approx(1.0)  # no idle step in a replay
    top = int(np.argmax(crit))
    cc = res.summary["critical_core"]
    assert cc["core"] == (top if top < C else "host") and cc["share"] == pytest.approx(crit[top] / S)
    # the per-core synaptic ops add up to the summary's
    total = sum(r["synaptic_ops_mean"] for r in rows) * S
    assert round(total) == res.record.cnt_cores[:, A["synaptic_op"]].sum()
    assert total == pytest.approx(res.summary["synaptic_ops_per_token"] * res.summary["tokens"], rel=1e-5)
    pl = m.placement
    assert [r["neurons"] for r in rows[:C]] == [int(x) for x in pl.neurons]
    assert [r["bytes"] for r in rows[:C]] == [int(x) for x in pl.bytes]
    assert [r["synapses"] for r in rows[:C]] == [int(x) for x in pl.synapses]
    assert rows[-1]["populations"] == "emb" and rows[-1]["neurons"] == m.lm.emb_dim


def test_links_add_up_to_the_counted_hops():
    g = tiny_golden("egru")
    m = build_replay(g, load_replay_chip("test-2x2"))
    res = replay(ReplayConfig(chip="test-2x2"), mapped=m, tokens=tokens(12))
    rec, L = res.record, res.links_rows
    tot = rec.cnt_cores.sum(axis=0) + rec.cnt_host.sum(axis=0)
    busy = {d: sum(r["busy_cycles"] for r in L if r["direction"] in d) for d in (("E", "W"), ("N", "S"))}
    # a mesh link is busy flits_per_packet cycles per packet, and a hop counts flits_per_packet flits
    assert busy[("E", "W")] == tot[A["flit_hop_east_west"]]
    assert busy[("N", "S")] == tot[A["flit_hop_north_south"]]
    tim = m.chip.timing
    inj = {r["core"]: r["busy_cycles"] for r in L if r["direction"] == "inject"}
    sent = rec.cnt_core_total[:, A["packet_send"]]
    assert all(inj[c] == sent[c] * tim.spike_send_cycles for c in range(m.model.n_cores))
    assert inj["host"] == rec.host_out.sum() * tim.io_packet_cycles
    util = max(r["utilization"] for r in L)
    assert util == pytest.approx(res.summary["traffic"]["max_link_utilization"], rel=1e-5)
    assert all(0 <= r["x"] < 2 and 0 <= r["y"] < 2 for r in L)
    assert {r["direction"] for r in L} == {"E", "W", "N", "S", "inject", "eject"}
    assert len([r for r in L if r["direction"] in "EWNS"]) == 8  # 2x2 mesh: 2 neighbours per router


def test_critical_core_rule_by_hand():
    """The critical core ends last (max of neuron phase and synapse unit); ties go to the lowest index;
    the host counts when its last arrival ends the step; an idle step has none."""
    timing = np.zeros(32, np.int64)
    st = CoreStats(3, timing)  # cores 0..2, host = 3
    cnt = np.zeros((4, N_ACTIONS), np.int64)

    def step(core_end, syn_free, ops=(0, 0, 0, 0)):
        cnt[:] = 0
        cnt[:, A["synaptic_op"]] = ops
        st.add(cnt, np.array(core_end, np.int64), np.array(syn_free, np.int64))

    step([5, 9, 2, 0], [0, 0, 9, 0], ops=(1, 2, 3, 0))  # tie 9 between core 1 (neuron) and 2 (synapse): 1
    step([5, 1, 2, 0], [7, 0, 0, 0], ops=(4, 0, 0, 0))   # core 0's synapse unit ends last
    step([5, 1, 2, 0], [0, 0, 0, 11])                    # the host's last arrival
    step([0, 0, 0, 0], [0, 0, 0, 0])                     # idle
    assert st.critical.tolist() == [1, 1, 0, 1] and st.idle_steps == 1 and st.steps == 4
    assert st.synops_sum.tolist() == [5, 2, 3, 0] and st.synops_max.tolist() == [4, 2, 3, 0]
    assert st.neuron_max.tolist() == [5, 9, 2, 0]
