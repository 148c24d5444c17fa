"""The SimPy oracle against hand-computed cycles and counts, and against the spec's rules.

Every expected number here is derived by hand from ``docs/engine-model.md``
(the derivation is in the comments), so the oracle is checked against
something that does not come from the oracle.  ``check_trace`` re-checks every
rule of section 2 on the oracle's per-packet records of random cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.compile.compiled import PORT_E, PORT_N, PORT_S, PORT_W, T
from nmsim.describe.actions import A, N_ACTIONS
from nmsim.oracle import build_model, oracle_run, oracle_step, random_case, xy_path


def step_of(model, fired_neurons, active_neurons=()):
    """``oracle_step`` with the given neuron indices firing / active."""
    N = model.n_neurons
    fired, active = np.zeros(N, bool), np.zeros(N, bool)
    fired[list(fired_neurons)] = True
    active[list(active_neurons)] = True
    return oracle_step(model, fired, active)


def counts(**by_action):
    row = np.zeros(N_ACTIONS, dtype=np.int64)
    for name, n in by_action.items():
        row[A[name]] = n
    return row


# --------------------------------------------------------------------------- one packet, k hops

HOPS_TIMING = dict(
    neuron_update_active_cycles=2, neuron_update_idle_cycles=1, spike_send_cycles=3,
    hop_east_west_cycles=2, hop_north_south_cycles=5, local_delivery_cycles=4, flits_per_packet=2,
    packet_receive_cycles=1, synapse_read_cycles=2, synapses_per_read=2, router_buffer_packets=1,
    barrier_cycles=7,
)


def one_packet_model(src_xy, dst_xy, width=4, height=3):
    """Neuron 0 on core 0 at ``src_xy``; it feeds neurons 1..3 on core 1 at ``dst_xy`` (one row, 3 synapses)."""
    r = lambda x, y: y * width + x  # noqa: E731
    return build_model(
        width=width, height=height, core_router=[r(*src_xy), r(*dst_xy)], io_router=0,
        neurons_per_core=[1, 3], edges=[(0, 1, 1), (0, 2, 1), (0, 3, 1)], timing=HOPS_TIMING,
    )


@pytest.mark.parametrize(
    "src, dst",
    [((0, 0), (0, 0)), ((0, 0), (3, 0)), ((0, 0), (3, 2)), ((3, 2), (0, 0)), ((2, 0), (0, 2)), ((1, 2), (1, 0))],
)
def test_one_packet_crossing_k_hops_arrives_exactly(src, dst):
    """An uncontended packet: f + send + n_ew*(2+2-1) + n_ns*(5+2-1) + (4+2-1), then 1 + 2 reads*2 cycles."""
    model = one_packet_model(src, dst)
    n_ew, n_ns = abs(dst[0] - src[0]), abs(dst[1] - src[1])
    st = step_of(model, fired_neurons=[0], active_neurons=[0])

    (p,) = st.packets
    f = 2  # one active neuron before it
    arrival = f + 3 + 3 * n_ew + 6 * n_ns + 5
    assert p.arrival == arrival
    assert (p.syn_start, p.syn_end) == (arrival, arrival + 1 + 2 * 2)  # ceil(3/2) = 2 reads
    # grants: injection at f, then every link as soon as requested
    want_grants = [f] + [f + 3 + 3 * i for i in range(n_ew)] + [f + 3 + 3 * n_ew + 6 * j for j in range(n_ns)]
    want_grants.append(f + 3 + 3 * n_ew + 6 * n_ns)
    assert p.grants == want_grants
    assert len(p.links) == n_ew + n_ns + 2
    assert st.step_cycles == max(arrival + 5, 3) + 7  # core 1 spends 3 idle updates

    host = model.n_cores
    assert (st.counters[0] == counts(neuron_update_active=1, spike=1, packet_send=1,
                                     flit_hop_east_west=2 * n_ew, flit_hop_north_south=2 * n_ns)).all()
    assert (st.counters[1] == counts(neuron_update_idle=3, local_delivery=1, packet_receive=1,
                                     synapse_read=2, synaptic_op=3)).all()
    assert (st.counters[host] == counts(barrier=1)).all()
    busy = np.zeros(model.n_links, np.int64)
    busy[list(p.links)] = 2
    busy[p.links[0]] = 3  # injection: spike_send_cycles
    assert (st.link_busy == busy).all()


def test_xy_path_goes_x_first_then_y():
    """From (2, 0) to (0, 2) on a 4x3 mesh: west, west, north, north."""
    model = one_packet_model((2, 0), (0, 2))
    R = model.n_routers
    injection, ejection = 4 * R + 0, 4 * R + 3 + 1
    assert xy_path(model, 0, 1) == (injection, 4 * 2 + PORT_W, 4 * 1 + PORT_W, 4 * 0 + PORT_N, 4 * 4 + PORT_N, ejection)
    model = one_packet_model((3, 2), (1, 0))
    assert xy_path(model, 0, 1)[1:-1] == (4 * 11 + PORT_W, 4 * 10 + PORT_W, 4 * 9 + PORT_S, 4 * 5 + PORT_S)


# --------------------------------------------------------------------------- N packets on one link

def converging_model(n_src, timing):
    """Cores 0..n-1 on router 0 each hold one neuron feeding neuron n on core n (router 1)."""
    return build_model(
        width=2, height=1, core_router=[0] * n_src + [1], io_router=1,
        neurons_per_core=[1] * (n_src + 1), edges=[(i, n_src, 1) for i in range(n_src)], timing=timing,
    )


@pytest.mark.parametrize("n_src", [1, 2, 3, 5])
def test_n_packets_converging_on_one_link_serialize_by_occupancy(n_src):
    """All request the east link of router 0 at f + send = 3; it grants one every F = 3 cycles, by source core."""
    timing = dict(neuron_update_active_cycles=2, neuron_update_idle_cycles=1, spike_send_cycles=1,
                  hop_east_west_cycles=1, local_delivery_cycles=1, flits_per_packet=3, router_buffer_packets=5,
                  packet_receive_cycles=1, synapse_read_cycles=1, synapses_per_read=1)
    model = converging_model(n_src, timing)
    st = step_of(model, fired_neurons=range(n_src), active_neurons=range(n_src))
    east = 4 * 0 + PORT_E
    for i, p in enumerate(st.packets):  # seq order = source core order
        assert p.src_core == i
        assert p.grants == [2, 3 + 3 * i, 6 + 3 * i]  # injection, east (lat 1+3-1 = 3), ejection
        assert p.arrival == 9 + 3 * i  # ejection lat 1 + 3 - 1 = 3
        assert (p.syn_start, p.syn_end) == (9 + 3 * i, 11 + 3 * i)
    assert st.link_busy[east] == 3 * n_src
    assert st.step_cycles == 11 + 3 * (n_src - 1)


def test_synapse_unit_serializes_when_slower_than_the_link():
    """Same convergence, cost 1 + 2 reads * 2 = 5 > F = 3: starts at 9, 14, 19 (arrivals 9, 12, 15)."""
    timing = dict(neuron_update_active_cycles=2, spike_send_cycles=1, hop_east_west_cycles=1,
                  local_delivery_cycles=1, flits_per_packet=3, router_buffer_packets=5,
                  packet_receive_cycles=1, synapse_read_cycles=2, synapses_per_read=1)
    model = build_model(width=2, height=1, core_router=[0, 0, 0, 1], io_router=1, neurons_per_core=[1, 1, 1, 2],
                        edges=[(i, t, 1) for i in range(3) for t in (3, 4)], timing=timing)
    st = step_of(model, fired_neurons=[0, 1, 2], active_neurons=[0, 1, 2])
    assert [p.arrival for p in st.packets] == [9, 12, 15]
    assert [(p.syn_start, p.syn_end) for p in st.packets] == [(9, 14), (14, 19), (19, 24)]
    assert st.step_cycles == 24


# --------------------------------------------------------------------------- smallest seq, and a depth-1 buffer

def priority_model(buffer_packets):
    """3x1 mesh: n0 on core 0 (router 0) -> core 2; n1 on core 1 (router 1) -> cores 2 and 3 (router 2).

    Packets: p1 = (2, 0, 0, 0) from n0; p2a = (2, 1, 1, 1) and p2b = (2, 1, 1, 2) from n1.
    """
    timing = dict(neuron_update_active_cycles=2, neuron_update_idle_cycles=1, spike_send_cycles=1,
                  hop_east_west_cycles=1, local_delivery_cycles=1, flits_per_packet=2,
                  router_buffer_packets=buffer_packets, packet_receive_cycles=1, synapse_read_cycles=1)
    return build_model(width=3, height=1, core_router=[0, 1, 2, 2], io_router=0, neurons_per_core=[1, 1, 1, 1],
                       edges=[(0, 2, 1), (1, 2, 1), (1, 3, 1)], timing=timing)


def test_smallest_seq_wins_over_earlier_request():
    """Buffers of 3.  East(r1) grants p2a at 3 (busy to 5); p2b waits from 4, p1 from 5: p1 wins at 5, p2b at 7.

    injection(0): p1 @2 -> east(r0) @3 -> east(r1) requested 5.  injection(1): p2a @2, p2b @3 (occ 1);
    p2a east(r1) @3; ejections: p2a @5, p1 @7 (core 2); p2b @9 (core 3); arrivals +2.
    """
    st = step_of(priority_model(3), fired_neurons=[0, 1], active_neurons=[0, 1])
    p1, p2a, p2b = st.packets
    assert (p1.src_core, p2a.dst_core, p2b.dst_core) == (0, 2, 3)
    assert p1.grants == [2, 3, 5, 7]
    assert p2a.grants == [2, 3, 5]
    assert p2b.grants == [3, 7, 9]
    assert [p.arrival for p in st.packets] == [9, 7, 11]
    assert [(p.syn_start, p.syn_end) for p in st.packets] == [(9, 11), (7, 9), (11, 13)]
    assert st.step_cycles == 13


def test_depth_one_buffer_stalls_the_sender():
    """Buffers of 1: a slot freed by a grant at s' is usable from s' + 1.

    injection(1): p2a @2; p2b waits for the injection buffer: p2a leaves it at 3, slot back at 4 -> p2b @4.
    east(r1): p2a @3; at 5 p1 and p2b wait, link free but the buffer at router 2 still holds p2a
    (ejected at 5, slot back 6) -> p1 @6; p1 ejected @8 (slot back 9) -> p2b @9, ejected @11.
    """
    st = step_of(priority_model(1), fired_neurons=[0, 1], active_neurons=[0, 1])
    p1, p2a, p2b = st.packets
    assert p1.grants == [2, 3, 6, 8]
    assert p2a.grants == [2, 3, 5]
    assert p2b.grants == [4, 9, 11]
    assert [p.arrival for p in st.packets] == [10, 7, 13]
    assert st.step_cycles == 15


def test_chain_of_depth_one_buffers_stalls_mesh_link_and_send_unit():
    """Three neurons of core 0 (router 0, f = 0) each feed core 1 (router 1); F = 3, buffers of 1.

    inj: occ/lat 1; east: occ 3, lat 1 + 3 - 1 = 3; ejection: occ 3, lat 1 + 3 - 1 = 3.
    p0: inj @0, east @1 (busy to 4), ejection @4 -> arrives 7; leaves the injection buffer at 1 (slot
    back 2) and the east buffer at 4 (back 5).
    p1: inj @2 (buffer), east requested 3: busy to 4, buffer full at 4 -> @5; ejection requested 8 -> @8 -> 11.
    p2: inj waits for p1 to leave the injection buffer (at 5, back 6) -> @6; east requested 7: busy to 8,
    buffer holds p1 until 8 (back 9) -> @9; ejection @12 -> 15.
    """
    timing = dict(neuron_update_active_cycles=0, neuron_update_idle_cycles=0, spike_send_cycles=1,
                  hop_east_west_cycles=1, local_delivery_cycles=1, flits_per_packet=3,
                  router_buffer_packets=1, packet_receive_cycles=0, synapse_read_cycles=0)
    model = build_model(width=2, height=1, core_router=[0, 1], io_router=0, neurons_per_core=[3, 1],
                        edges=[(0, 3, 1), (1, 3, 1), (2, 3, 1)], timing=timing)
    st = step_of(model, fired_neurons=[0, 1, 2])
    assert [p.grants for p in st.packets] == [[0, 1, 4], [2, 5, 8], [6, 9, 12]]
    assert [p.arrival for p in st.packets] == [7, 11, 15]
    assert st.step_cycles == 15


# --------------------------------------------------------------------------- rows, host, counters

@pytest.mark.parametrize("nnz", [1, 2, 3, 4, 5, 8, 9])
@pytest.mark.parametrize("spr", [1, 2, 3, 4])
def test_row_of_n_nonzeros_costs_receive_plus_reads(nnz, spr):
    """One packet on the same router, all latencies 1: arrives at 0 + 1 + 1 = 2; costs 3 + ceil(nnz/spr) * 2."""
    timing = dict(neuron_update_active_cycles=0, neuron_update_idle_cycles=0, spike_send_cycles=1,
                  local_delivery_cycles=1, flits_per_packet=1, packet_receive_cycles=3, synapse_read_cycles=2,
                  synapses_per_read=spr)
    model = build_model(width=1, height=1, core_router=[0, 0], io_router=0, neurons_per_core=[1, nnz],
                        edges=[(0, 1 + j, j - 2) for j in range(nnz)], timing=timing)
    st = step_of(model, fired_neurons=[0])
    (p,) = st.packets
    n_reads = -(-nnz // spr)
    assert (p.arrival, p.syn_start, p.syn_end) == (2, 2, 2 + 3 + 2 * n_reads)
    assert st.counters[1, A["synapse_read"]] == n_reads
    assert st.counters[1, A["synaptic_op"]] == nnz


def test_counters_of_a_small_case_by_hand():
    """2x2 mesh; core 0 @ r0 (neurons 0, 1), core 1 @ r3 (neurons 2, 3), host @ io_router r1 (neurons 4, 5).

    Firing: 0 (routes: cores 0 and 1), 2 (route: core 0), 4 (host -> core 1), 5 (host -> cores 0, 1).
    Active: 0, 3.  F = 2.  Hops: r0->r3 = 1 E + 1 N; r3->r0 = 1 W + 1 S; r1->r3: 1 N; r1->r0: 1 W.
    """
    timing = dict(flits_per_packet=2, synapses_per_read=2)
    edges = [(0, 1, 1), (0, 2, 1), (0, 3, 1),  # row (0, core 0): 1 syn; row (0, core 1): 2 syn
             (2, 0, 1), (2, 1, 1), (2, 1, 2),  # row (2, core 0): 3 syn (a duplicate)
             (4, 3, 5),  # row (4, core 1): 1 syn
             (5, 0, 1), (5, 2, 1), (5, 3, 1)]  # rows (5, core 0): 1 syn; (5, core 1): 2 syn
    model = build_model(width=2, height=2, core_router=[0, 3], io_router=1, neurons_per_core=[2, 2], n_host=2,
                        edges=edges, timing=timing)
    st = step_of(model, fired_neurons=[0, 2, 4, 5], active_neurons=[0, 3])
    want = np.zeros((3, N_ACTIONS), np.int64)
    want[0] = counts(neuron_update_active=1, neuron_update_idle=1, spike=1, packet_send=2,
                     flit_hop_east_west=2, flit_hop_north_south=2,  # neuron 0 -> core 1
                     local_delivery=3, packet_receive=3,  # from 0, 2, 5
                     synapse_read=1 + 2 + 1, synaptic_op=1 + 3 + 1)
    want[1] = counts(neuron_update_active=1, neuron_update_idle=1, spike=1, packet_send=1,
                     flit_hop_east_west=2, flit_hop_north_south=2,  # neuron 2 -> core 0
                     local_delivery=3, packet_receive=3,  # from 0, 4, 5
                     synapse_read=1 + 1 + 1, synaptic_op=2 + 1 + 2)
    want[2] = counts(spike=2, io_packet=3, flit_hop_east_west=2, flit_hop_north_south=2 * 2, barrier=1)
    assert (st.counters == want).all(), st.counters - want
    # seq: host packets (f = 0, core 2), then neuron 2 (idle, f = 1, core 1), then neuron 0 (active, f = 2)
    keys = [p.key for p in st.packets]
    assert keys == sorted(keys)
    assert [(p.neuron, p.dst_core) for p in st.packets] == [(4, 1), (5, 0), (5, 1), (2, 0), (0, 0), (0, 1)]


def test_host_packets_use_io_packet_cycles_and_go_last_among_equal_f():
    """Host and core 0 both emit at f = 0 onto the same east link; the core's packet has the smaller seq."""
    timing = dict(neuron_update_active_cycles=0, neuron_update_idle_cycles=0, spike_send_cycles=1,
                  io_packet_cycles=1, hop_east_west_cycles=1, local_delivery_cycles=1, flits_per_packet=2)
    model = build_model(width=2, height=1, core_router=[0, 1], io_router=0, neurons_per_core=[1, 1], n_host=1,
                        edges=[(0, 1, 1), (2, 1, 1)], timing=timing)
    st = step_of(model, fired_neurons=[0, 2])
    core_p, host_p = st.packets
    assert (core_p.src_core, host_p.src_core) == (0, 2)
    assert core_p.grants == [0, 1, 3]  # east lat 1 + 2 - 1 = 2
    assert host_p.grants == [0, 3, 5]  # east busy 1..2 (occ 2)
    assert st.counters[2, A["io_packet"]] == 1 and st.counters[2, A["packet_send"]] == 0


def test_zero_latencies_cross_several_links_in_one_cycle():
    """Reading R1: with every latency 0 a packet is granted on all its links at f and arrives at f."""
    timing = dict(neuron_update_active_cycles=3, neuron_update_idle_cycles=0, spike_send_cycles=0,
                  hop_east_west_cycles=0, hop_north_south_cycles=0, local_delivery_cycles=0, flits_per_packet=1,
                  packet_receive_cycles=0, synapse_read_cycles=0)
    model = build_model(width=3, height=3, core_router=[0, 8, 8], io_router=0, neurons_per_core=[2, 1, 1],
                        edges=[(0, 2, 1), (0, 3, 1), (1, 2, 1)], timing=timing)
    st = step_of(model, fired_neurons=[0, 1], active_neurons=[0, 1])
    a, b, c = st.packets  # neuron 0 -> cores 1, 2 at f = 3; neuron 1 -> core 1 at f = 6
    assert a.grants == [3] * 6 and a.arrival == 3
    # the injection link (occ 0) grants one packet per cycle: b follows one cycle behind
    assert b.grants == [4] * 6 and b.arrival == 4
    assert c.grants == [6] * 6
    assert st.step_cycles == 6


def test_idle_chip_costs_only_neuron_updates_and_barrier():
    timing = dict(neuron_update_idle_cycles=2, barrier_cycles=11)
    model = build_model(width=1, height=1, core_router=[0, 0], io_router=0, neurons_per_core=[3, 1],
                        edges=[(0, 3, 1)], timing=timing)
    st = step_of(model, fired_neurons=[])
    assert st.step_cycles == 3 * 2 + 11
    assert st.link_busy.sum() == 0 and not st.packets
    assert st.counters[:, A["neuron_update_idle"]].tolist() == [3, 1, 0]


# --------------------------------------------------------------------------- functional part (spec section 1)

def test_lif_integer_arithmetic_and_one_step_delay():
    """Neuron 0 (host-driven) feeds neuron 1 with weight 7; neuron 1 has decay 2048, threshold 4.

    step 0: host payload 3 -> acc of neuron 1 = 21, read at step 1.  v(0): -5 -> -5 - floor(-10240/4096 = -2.5)
    = -5 + 3 = -2 (arithmetic shift), no input yet.  step 1: v = -2 - floor(-1) + 21 = 20 > 4 -> fires,
    v = 20 - 4 = 16 (subtract).  step 2: v = 16 - 8 + 0 = 8 > 4 -> fires, v = 4.  step 3: 4 - 2 = 2, no fire.
    """
    lif = [[4, 2048, 0, 0, -100, 100]]
    model = build_model(width=1, height=1, core_router=[0], io_router=0, neurons_per_core=[1], n_host=1,
                        edges=[(1, 0, 7)], lif_params=lif, v0=[-5])
    res = oracle_run(model, 4, np.array([[3], [0], [0], [0]]))
    assert res.fired[:, 0].tolist() == [0, 1, 1, 0]
    assert res.fired[:, 1].tolist() == [1, 0, 0, 0]
    assert res.payload[:, 1].tolist() == [3, 0, 0, 0]
    assert res.payload[:, 0].tolist() == [0, 1, 1, 0]
    assert res.final_state[0, 0] == 2
    # active = u != 0 or v_before != 0 or bias != 0: v_before -5, -2, 16, 8 -> always active
    assert res.counters[:, 0, A["neuron_update_active"]].tolist() == [1, 1, 1, 1]


def test_lif_saturation_reset_to_zero_and_idle():
    """Neuron 0: u = 50 clipped to v_max 10 > 9 -> fires, reset to 0 (mode 1); idle at steps 0 and 2.

    Neuron 1: u = -50 clipped to v_min -3; then decay 4096 takes v to -3 - (-3) = 0 (active: v_before != 0).
    """
    lif = [[9, 0, 0, 1, -3, 10], [100, 4096, 0, 0, -3, 200]]
    model = build_model(width=1, height=1, core_router=[0], io_router=0, neurons_per_core=[2], n_host=1,
                        edges=[(2, 0, 25), (2, 1, -25)], lif_params=lif)
    res = oracle_run(model, 3, np.array([[2], [0], [0]]))
    assert res.fired[:, 0].tolist() == [0, 1, 0]
    assert res.final_state[:2, 0].tolist() == [0, 0]
    assert res.counters[:, 0, A["neuron_update_idle"]].tolist() == [2, 0, 1]


# --------------------------------------------------------------------------- every rule of section 2 on random traces

def link_occ_lat(model, link):
    tm, R, C, F = model.timing, model.n_routers, model.n_cores, int(model.timing[T["flits_per_packet"]])
    if link < 4 * R:
        hop = tm[T["hop_east_west_cycles"]] if link % 4 in (PORT_E, PORT_W) else tm[T["hop_north_south_cycles"]]
        return F, int(hop) + F - 1
    if link < 4 * R + C:
        return int(tm[T["spike_send_cycles"]]), int(tm[T["spike_send_cycles"]])
    if link == 4 * R + C:
        return int(tm[T["io_packet_cycles"]]), int(tm[T["io_packet_cycles"]])
    return F, int(tm[T["local_delivery_cycles"]]) + F - 1


def check_trace(model, st):
    """Assert the per-packet record obeys spec section 2 (requests, arbitration, buffers, synapse order)."""
    B = int(model.timing[T["router_buffer_packets"]])
    uses = {}  # link -> list of (request, grant, leave, key): leave = grant on the next link (None for ejection)
    for p in st.packets:
        req = p.key[0]
        for i, (l, s) in enumerate(zip(p.links, p.grants)):
            assert s >= req
            leave = p.grants[i + 1] if i + 1 < len(p.links) else None
            uses.setdefault(l, []).append((req, s, leave, p.key))
            req = s + link_occ_lat(model, l)[1]
        assert p.arrival == req
    for l, us in uses.items():
        occ = link_occ_lat(model, l)[0]
        by_grant = {s: key for _, s, _, key in us}
        assert len(by_grant) == len(us), f"link {l} grants twice in a cycle"
        assert st.link_busy[l] == occ * len(us)
        buffered = l < 4 * model.n_routers + model.n_cores + 1
        last = None
        for s in range(min(u[0] for u in us), max(u[1] for u in us) + 1):
            waiting = [key for r, g, _, key in us if r <= s <= g]
            free = last is None or s >= last + occ
            held = sum(1 for _, g, leave, _ in us if g < s <= leave) if buffered else 0
            assert held <= B
            if waiting and free and held < B:
                assert by_grant.get(s) == min(waiting), f"link {l} cycle {s}: should grant {min(waiting)}"
                last = s
            else:
                assert s not in by_grant, f"link {l} cycle {s}: granted while blocked"
    tm = model.timing
    for core in range(model.n_cores):
        free = 0
        for p in sorted((p for p in st.packets if p.dst_core == core), key=lambda p: (p.arrival, p.key)):
            cost = int(tm[T["packet_receive_cycles"]] + model.row_n_reads[p.row] * tm[T["synapse_read_cycles"]])
            assert p.syn_start == max(p.arrival, free) and p.syn_end == p.syn_start + cost
            free = p.syn_end


@pytest.mark.parametrize("seed", range(60))
def test_random_traces_obey_every_rule(seed):
    case = random_case(seed)
    res = oracle_run(case.model, case.n_steps, case.host_payloads)
    for st in res.steps:
        check_trace(case.model, st)
        t_end = max(st.neuron_end.max(), st.synapse_free.max())
        assert st.step_cycles == t_end + case.model.timing[T["barrier_cycles"]]


# --------------------------------------------------------------------------- generator and comparison tooling

def test_random_case_is_valid_and_deterministic():
    for seed in range(20):
        a, b = random_case(seed), random_case(seed)
        a.model.check()
        assert a.n_steps == b.n_steps and (a.host_payloads == b.host_payloads).all()
        for name in ("route_ptr", "route_core", "route_row", "row_ptr", "syn_target", "syn_weight", "timing"):
            assert (getattr(a.model, name) == getattr(b.model, name)).all()
        m = a.model
        assert 1 <= m.width <= 4 and 1 <= m.height <= 4 and m.n_neurons <= 48
        assert 1 <= m.timing[T["flits_per_packet"]] <= 3 and 1 <= m.timing[T["router_buffer_packets"]] <= 3


def test_shrink_finds_a_small_reproducer_for_a_fake_engine():
    """A fake engine that is one cycle late on every step with a north/south hop is caught and shrunk."""
    from nmsim.oracle.compare import check_case, reproducer_source, shrink

    def fake_simulate(model, n_steps, host_payloads):
        res = oracle_run(model, n_steps, host_payloads)
        for t, st in enumerate(res.steps):
            res.step_cycles[t] += any(l < 4 * model.n_routers and l % 4 in (PORT_N, PORT_S)
                                      for p in st.packets for l in p.links)
        return res

    case = next(c for c in map(random_case, range(100)) if check_case(c, fake_simulate))
    small = shrink(case, lambda c: bool(check_case(c, fake_simulate)))
    assert check_case(small, fake_simulate)
    assert small.n_steps == 1 and len(small.build["edges"]) == 1
    compile(reproducer_source(small), "repro.py", "exec")
