"""Multicast routing (``docs/engine-model.md`` §2.6) against hand-computed trees on an idle mesh.

Every expected number is derived by hand in the comments from the timing below:
injection ``occ = lat = 3``; east-west hop ``occ = 2`` (flits), ``lat = 2 + 2 - 1 = 3``; north-south hop
``occ = 2``, ``lat = 5 + 2 - 1 = 6``; ejection ``occ = 2``, ``lat = 4 + 2 - 1 = 5``; a one-synapse row costs
``1 + 1 * 2 = 3`` synapse-unit cycles; an active update 2 cycles, an idle one 1; barrier 7.
Both the engine and the SimPy oracle are checked against the same hand values.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nmsim.compile.compiled import PORT_E, PORT_N
from nmsim.compile.multicast import build_trees, check_table_capacity, table_entries
from nmsim.describe.actions import A
from nmsim.errors import MappingError
from nmsim.oracle import build_model, oracle_run
from nmsim.sim import engine

TIMING = dict(
    neuron_update_active_cycles=2, neuron_update_idle_cycles=1, spike_send_cycles=3,
    hop_east_west_cycles=2, hop_north_south_cycles=5, local_delivery_cycles=4, flits_per_packet=2,
    packet_receive_cycles=1, synapse_read_cycles=2, synapses_per_read=2, router_buffer_packets=1,
    barrier_cycles=7,
)
W = 3


def r(x, y):
    return y * W + x


def mesh(x, y, port):
    return 4 * r(x, y) + port


def tree_model():
    """3x3 mesh.  Core 0 at (0,0) holds neuron 0 (v0 = 1: fires in step 0); it feeds one neuron on each of
    core 1 at (2,0), core 2 at (2,1), core 3 at (1,1)."""
    m = build_model(width=W, height=3, core_router=[r(0, 0), r(2, 0), r(2, 1), r(1, 1)], io_router=0,
                    neurons_per_core=[1, 1, 1, 1], edges=[(0, 1, 1), (0, 2, 1), (0, 3, 1)], timing=TIMING,
                    v0=np.array([1, 0, 0, 0]))
    return dataclasses.replace(m, multicast=True)


def run_both(model, n_steps=1):
    got = engine.simulate(model, n_steps, np.zeros((n_steps, 0), np.int64),
                          record=("fired", "payload", "link_busy", "trace"))
    want = oracle_run(model, n_steps, np.zeros((n_steps, 0), np.int64))
    return got, want


def deliveries(trace):
    """``{dst core: (links, grants, arrival, syn_start, syn_end)}`` from an engine trace."""
    out = {}
    for i in range(trace.n_packets):
        a, b = trace.link_ptr[i], trace.link_ptr[i + 1]
        out[int(trace.dst_core[i])] = (trace.link[a:b].tolist(), trace.grant[a:b].tolist(), int(trace.arrival[i]),
                                       int(trace.syn_start[i]), int(trace.syn_end[i]))
    return out


def test_tree_of_three_destinations():
    m = tree_model()
    R, C = m.n_routers, m.n_cores
    inj, ej = 4 * R + 0, lambda c: 4 * R + C + 1 + c  # noqa: E731
    # XY paths: to (2,0): E(0,0) E(1,0); to (2,1): E(0,0) E(1,0) N(2,0); to (1,1): E(0,0) N(1,0).
    # Tree nodes in first-reached order; parents as local indices.
    t = build_trees(m)
    g0, g1 = t.tree_ptr[0], t.tree_ptr[1]
    assert t.node_link[g0:g1].tolist() == [inj, mesh(0, 0, PORT_E), mesh(1, 0, PORT_E), ej(1), mesh(2, 0, PORT_N),
                                           ej(2), mesh(1, 0, PORT_N), ej(3)]
    assert t.node_parent[g0:g1].tolist() == [-1, 0, 1, 2, 2, 4, 1, 6]

    # timing: f = 2 (one active update); inj granted 2 -> E(0,0) at 5 -> router (1,0) at 8: E(1,0) and N(1,0)
    # both granted at 8 (one copy each).  E(1,0) -> router (2,0) at 11: ej(1) and N(2,0) granted at 11;
    # ej(1) arrives 11 + 5 = 16, served 16..19.  N(2,0) -> (2,1) at 17: ej(2) at 17, arrives 22, 22..25.
    # N(1,0) -> (1,1) at 14: ej(3) at 14, arrives 19, 19..22.
    want = {1: ([inj, mesh(0, 0, PORT_E), mesh(1, 0, PORT_E), ej(1)], [2, 5, 8, 11], 16, 16, 19),
            2: ([inj, mesh(0, 0, PORT_E), mesh(1, 0, PORT_E), mesh(2, 0, PORT_N), ej(2)], [2, 5, 8, 11, 17], 22, 22, 25),
            3: ([inj, mesh(0, 0, PORT_E), mesh(1, 0, PORT_N), ej(3)], [2, 5, 8, 14], 19, 19, 22)}
    got, oracle = run_both(m)
    assert deliveries(got.trace) == want
    ora = {p.dst_core: (list(p.links), p.grants, p.arrival, p.syn_start, p.syn_end) for p in oracle.steps[0].packets}
    assert ora == want
    # the last synapse job ends at 25; + barrier 7
    assert got.step_cycles.tolist() == oracle.step_cycles.tolist() == [32]

    # counts: 1 packet; 4 mesh links x 2 flits (2 east-west, 2 north-south) = 8 flit-hops (unicast: 3 packets,
    # 5 east-west + 2 north-south links = 14); routers entered: (0,0) (1,0) (2,0) (1,1) (2,1) = 5 look-ups;
    # branches: 2 children at (1,0) and at (2,0) = 2 replications.
    for res in (got, oracle):
        c0 = res.counters[0, 0]
        assert c0[A["packet_send"]] == 1
        assert c0[A["flit_hop_east_west"]] == 4 and c0[A["flit_hop_north_south"]] == 4
        assert c0[A["routing_table_lookup"]] == 5 and c0[A["multicast_replication"]] == 2
        for d in (1, 2, 3):
            assert res.counters[0, d, A["local_delivery"]] == 1 and res.counters[0, d, A["packet_receive"]] == 1
    uni = engine.simulate(dataclasses.replace(m, multicast=False), 1, np.zeros((1, 0), np.int64))
    assert uni.counters[0, 0, A["packet_send"]] == 3
    assert uni.counters[0, 0, A["flit_hop_east_west"]] + uni.counters[0, 0, A["flit_hop_north_south"]] == 14
    assert uni.counters[0, 0, A["routing_table_lookup"]] == uni.counters[0, 0, A["multicast_replication"]] == 0
    # link busy: each tree link granted once, occ 3 (injection) or 2
    busy = got.link_busy[0]
    assert busy[inj] == 3 and busy[mesh(0, 0, PORT_E)] == 2 and busy.sum() == 3 + 2 * 7


def test_two_packets_through_one_buffer_slot():
    """Depth-1 buffers.  Core 0 at (0,0) has neurons 0 and 1 (both fire, f = 2 and 4), each sending to core 1
    at (1,0) and core 2 at (2,0): tree inj -> E(0,0) -> router (1,0) -> {ej(1), E(1,0) -> ej(2)}.

    P0: inj 2; E(0,0) 5 (its injection-buffer slot is usable again from 6); at (1,0) at 8: ej(1) and E(1,0)
    granted 8 (the slot of E(0,0)'s buffer returns after the last copy: from 9); ej(2) 11.
    P1: inj at max(5 link free, 6 slot back) = 6; E(0,0) at 9 (link free 7, slot free 9); at (1,0) at 12:
    ej(1) 12 (free 10), E(1,0) 12 (free 10; its buffer slot is back from 12); ej(2) at 15 (free 13).
    Arrivals: core 1 13 (13..16) and 17 (17..20); core 2 16 (16..19) and 20 (20..23).  Step: 23 + 7 = 30."""
    R = W * 1
    m = build_model(width=W, height=1, core_router=[0, 1, 2], io_router=0, neurons_per_core=[2, 1, 1],
                    edges=[(0, 2, 1), (0, 3, 1), (1, 2, 1), (1, 3, 1)], timing=TIMING, v0=np.array([1, 1, 0, 0]))
    m = dataclasses.replace(m, multicast=True)
    C = m.n_cores
    inj, ej = 4 * R, lambda c: 4 * R + C + 1 + c  # noqa: E731
    got, oracle = run_both(m)
    tr = got.trace
    rows = [(int(tr.seq[i]), int(tr.dst_core[i]), tr.grant[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist(),
             int(tr.arrival[i]), int(tr.syn_start[i]), int(tr.syn_end[i])) for i in range(tr.n_packets)]
    want = [(0, 1, [2, 5, 8], 13, 13, 16), (0, 2, [2, 5, 8, 11], 16, 16, 19),
            (1, 1, [6, 9, 12], 17, 17, 20), (1, 2, [6, 9, 12, 15], 20, 20, 23)]
    assert rows == want
    assert [(p.seq, p.dst_core, p.grants, p.arrival, p.syn_start, p.syn_end) for p in oracle.steps[0].packets] == want
    assert tr.link[tr.link_ptr[1]:tr.link_ptr[2]].tolist() == [inj, mesh(0, 0, PORT_E), mesh(1, 0, PORT_E), ej(2)]
    assert got.step_cycles.tolist() == oracle.step_cycles.tolist() == [30]
    # per packet 2 mesh links (4 flit-hops), 2 routers + the source router = 3 look-ups, 1 replication
    c0 = got.counters[0, 0]
    assert (c0[A["flit_hop_east_west"]], c0[A["routing_table_lookup"]], c0[A["multicast_replication"]]) == (8, 6, 2)
    assert (oracle.counters[0, 0] == c0).all()


def test_slot_is_held_until_the_last_copy_leaves():
    """Depth-1 buffers, 3x1 mesh.  Core 0 at (0,0): neurons 0, 1 (fire at f = 2, 4), each to core 1 at (1,0)
    and core 2 at (2,0).  Core 3, also at (1,0): neuron 4 (f = 2) to core 2 (packet Q).  seq: P0 < Q < P1.

    2: inj(0) grants P0, inj(3) grants Q.  5: E(0,0) grants P0, E(1,0) grants Q.  P1: inj(0) at 6 (slot back).
    8: P0 at (1,0) asks ej(1) and E(1,0); ej(1) grants it (8), but E(1,0)'s downstream slot holds Q, which
    leaves on ej(2) at 8, so the slot is back at 9: E(1,0) grants P0's second copy at 9, and only then does
    P0 free its slot at (1,0), usable from 10.  P1 asks E(0,0) at 9 and waits until 10 (it would get 9 if the
    slot went back with the first copy).  P0: ej(2) at 12 (free since 10).  P1 at (1,0) at 13: ej(1) 13,
    E(1,0) 13 (free 11, slot back 13), ej(2) 16.  Arrivals (+5) and one-synapse jobs (3 cycles):
    core 1: P0 13..16, P1 18..21; core 2: Q 13..16, P0 17..20, P1 21..24.  Step 24 + 7 = 31."""
    m = build_model(width=W, height=1, core_router=[0, 1, 2, 1], io_router=0, neurons_per_core=[2, 1, 1, 1],
                    edges=[(0, 2, 1), (0, 3, 1), (1, 2, 1), (1, 3, 1), (4, 3, 1)], timing=TIMING,
                    v0=np.array([1, 1, 0, 0, 1]))
    m = dataclasses.replace(m, multicast=True)
    got, oracle = run_both(m)
    tr = got.trace
    rows = [(int(tr.seq[i]), int(tr.dst_core[i]), tr.grant[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist(),
             int(tr.arrival[i]), int(tr.syn_start[i]), int(tr.syn_end[i])) for i in range(tr.n_packets)]
    want = [(0, 1, [2, 5, 8], 13, 13, 16), (0, 2, [2, 5, 9, 12], 17, 17, 20), (1, 2, [2, 5, 8], 13, 13, 16),
            (2, 1, [6, 10, 13], 18, 18, 21), (2, 2, [6, 10, 13, 16], 21, 21, 24)]
    assert rows == want
    assert [(p.seq, p.dst_core, p.grants, p.arrival, p.syn_start, p.syn_end) for p in oracle.steps[0].packets] == want
    assert got.step_cycles.tolist() == oracle.step_cycles.tolist() == [31]


def test_routing_table_entries_and_capacity_error():
    """Tree of ``tree_model`` enters routers (0,0) (1,0) (2,0) (1,1) (2,1): one entry each."""
    m = tree_model()
    need = table_entries(m)
    want = np.zeros(m.n_routers, np.int64)
    want[[r(0, 0), r(1, 0), r(2, 0), r(1, 1), r(2, 1)]] = 1
    assert need.tolist() == want.tolist()
    assert check_table_capacity(m, 1).tolist() == want.tolist()


def test_shared_entry_for_same_destination_set():
    """Two neurons of one core with the same destinations share one entry; a third with another set adds one."""
    m = build_model(width=W, height=1, core_router=[0, 2], io_router=0, neurons_per_core=[3, 2],
                    edges=[(0, 3, 1), (1, 4, 1), (2, 3, 1), (2, 4, 1)], timing=TIMING)
    # neurons 0, 1, 2 all send to core 1 only: one entry at routers 0, 1, 2
    assert table_entries(m).tolist() == [1, 1, 1]
    m2 = build_model(width=W, height=1, core_router=[0, 1, 2], io_router=0, neurons_per_core=[2, 1, 1],
                     edges=[(0, 2, 1), (1, 2, 1), (1, 3, 1)], timing=TIMING)
    # neuron 0 -> {core 1}: routers 0, 1; neuron 1 -> {core 1, core 2}: routers 0, 1, 2
    assert table_entries(m2).tolist() == [2, 2, 1]
    with pytest.raises(MappingError) as e:
        check_table_capacity(m2, 1)
    assert str(e.value) == ("router (0, 0): multicast routing needs 2 routing-table entries, the chip has 1 per "
                            "router (noc.routing_table_entries)")
    assert check_table_capacity(m2, 0).tolist() == [2, 2, 1]  # 0 = no limit
