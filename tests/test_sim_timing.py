"""Hand-computed timing cases of ``docs/engine-model.md`` §2-3 (exact cycles and counts)."""

import numpy as np
import pytest

from nmsim.describe.actions import A
from nmsim.sim import simulate
from sim_helpers import lif_params, make_model

# cycles; every test states which of these matter
TIM = {"neuron_update_active_cycles": 3, "neuron_update_idle_cycles": 2, "spike_send_cycles": 4,
       "hop_east_west_cycles": 5, "hop_north_south_cycles": 7, "local_delivery_cycles": 6,
       "flits_per_packet": 3, "packet_receive_cycles": 2, "synapse_read_cycles": 9, "barrier_cycles": 10,
       "router_buffer_packets": 8}

FIRE = (0, 0, 1)  # threshold 0, decay 0, bias 1: fires at step 0 and is active
QUIET = (0, 0, 0)  # never fires on its own, idle at step 0


def lif_of(kinds):
    return lif_params(len(kinds), threshold=[k[0] for k in kinds], decay=[k[1] for k in kinds], bias=[k[2] for k in kinds])


def packets(r):
    """Per packet (seq order): (links, grants, arrival, syn_start, syn_end) of a traced run."""
    tr = r.trace
    return [(tr.link[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist(), tr.grant[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist(),
             int(tr.arrival[i]), int(tr.syn_start[i]), int(tr.syn_end[i])) for i in range(tr.n_packets)]


def one_hop_chain(k, direction):
    """Core 0 (one firing neuron) and core 1 (its target) ``k`` hops apart in ``direction``."""
    if direction in "EW":
        w, h = k + 1, 1
    else:
        w, h = 1, k + 1
    a, b = (0, k) if direction in "EN" else (k, 0)
    return make_model(width=w, height=h, core_router=[a, b], neuron_core=[0, 1], edges=[(0, 1, 1)],
                      timing=TIM, lif=lif_of([FIRE, QUIET]), io_router=0)


@pytest.mark.parametrize("direction", ["E", "W", "N", "S"])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_single_packet_latency_is_sum_of_hops_plus_pipeline(k, direction):
    """An idle mesh: arrival = f + spike_send + k (hop + flits - 1) + (local_delivery + flits - 1)."""
    m = one_hop_chain(k, direction)
    r = simulate(m, 1, record=("trace", "link_busy"))
    hop = TIM["hop_east_west_cycles"] if direction in "EW" else TIM["hop_north_south_cycles"]
    flits = TIM["flits_per_packet"]
    f = TIM["neuron_update_active_cycles"]
    arrival = f + TIM["spike_send_cycles"] + k * (hop + flits - 1) + TIM["local_delivery_cycles"] + flits - 1
    (links, grants, arr, s0, s1), = packets(r)
    assert arr == arrival
    assert grants == [f] + [f + 4 + i * (hop + 2) for i in range(k + 1)]
    assert (s0, s1) == (arrival, arrival + 2 + 9)
    assert r.step_cycles.tolist() == [arrival + 11 + TIM["barrier_cycles"]]
    # counters: hops charged to the source core, delivery to the destination
    c = r.counters[0]
    col = A["flit_hop_east_west"] if direction in "EW" else A["flit_hop_north_south"]
    other = A["flit_hop_north_south"] if direction in "EW" else A["flit_hop_east_west"]
    assert (c[0, col], c[0, other], c[0, A["packet_send"]], c[0, A["spike"]]) == (k * flits, 0, 1, 1)
    assert (c[1, A["local_delivery"]], c[1, A["packet_receive"]], c[1, A["synapse_read"]], c[1, A["synaptic_op"]]) == (1, 1, 1, 1)
    assert (c[0, A["neuron_update_active"]], c[1, A["neuron_update_idle"]], c[2, A["barrier"]]) == (1, 1, 1)
    # link_busy: occupancy per grant, on exactly the links of the path
    busy = np.zeros(m.n_links, np.int64)
    busy[links[0]] = TIM["spike_send_cycles"]
    busy[links[1:]] = flits
    assert np.array_equal(r.link_busy[0], busy)
    assert links[0] == 4 * m.n_routers + 0 and links[-1] == 4 * m.n_routers + (m.n_cores + 1) + 1


def test_east_west_and_north_south_hops_differ():
    """Same distance, different dimension: the N-S path is k * (7 - 5) cycles later."""
    ew = simulate(one_hop_chain(3, "E"), 1, record=("trace",))
    ns = simulate(one_hop_chain(3, "N"), 1, record=("trace",))
    assert packets(ns)[0][2] - packets(ew)[0][2] == 3 * (7 - 5)


def converging(fire_after_idle=()):
    """Cores 0..2 on router 0 each send one packet to core 3 on router 1 (1x2 mesh).

    A core listed in ``fire_after_idle`` has a quiet neuron updated before its firing one (``f`` = 2 + 3).
    """
    kinds, cores, edges = [], [], []
    for c in range(3):
        if c in fire_after_idle:
            kinds.append(QUIET)
            cores.append(c)
        kinds.append(FIRE)
        cores.append(c)
    target = len(kinds)
    kinds.append(QUIET)
    cores.append(3)
    edges = [(i, target, 1) for i, k in enumerate(kinds[:-1]) if k == FIRE]
    return make_model(width=2, height=1, core_router=[0, 0, 0, 1], neuron_core=cores, edges=edges, timing=TIM,
                      lif=lif_of(kinds))


def test_converging_packets_serialize_by_flits_in_seq_order():
    """Three packets request the same mesh link at cycle 7: granted at 7, 10, 13 (flits = 3), core order."""
    m = converging()
    r = simulate(m, 1, record=("trace", "link_busy"))
    pk = packets(r)
    east0 = 4 * 0 + 0
    assert [p[0][1] for p in pk] == [east0] * 3
    assert [p[1] for p in pk] == [[3, 7, 14], [3, 10, 17], [3, 13, 20]]
    assert r.trace.src_core.tolist() == [0, 1, 2]
    arrivals = [p[2] for p in pk]
    assert arrivals == [22, 25, 28]
    # one synapse unit: 11 cycles per packet, back to back from the first arrival
    assert [(p[3], p[4]) for p in pk] == [(22, 33), (33, 44), (44, 55)]
    assert r.step_cycles[0] == 55 + 10
    assert r.link_busy[0, east0] == 9


def test_converging_packets_follow_seq_not_core_index():
    """Core 0 fires later (f = 5 > 3), so its packet comes last although its core index is smallest."""
    r = simulate(converging(fire_after_idle=(0,)), 1, record=("trace",))
    assert r.trace.src_core.tolist() == [1, 2, 0]
    assert [p[1] for p in packets(r)] == [[3, 7, 14], [3, 10, 17], [5, 13, 20]]


@pytest.mark.parametrize("n,spr", [(1, 1), (5, 1), (5, 2), (8, 3), (8, 4), (9, 4)])
def test_csr_row_costs_receive_plus_reads(n, spr):
    """A row of n synapses costs packet_receive + ceil(n / spr) * synapse_read in the synapse unit."""
    kinds = [FIRE] + [QUIET] * n
    m = make_model(width=1, height=1, core_router=[0, 0], neuron_core=[0] + [1] * n,
                   edges=[(0, 1 + i, 1) for i in range(n)], timing={**TIM, "synapses_per_read": spr},
                   lif=lif_of(kinds))
    r = simulate(m, 1, record=("trace",))
    (_, _, a, s0, s1), = packets(r)
    reads = -(-n // spr)
    assert s1 - s0 == 2 + reads * 9
    c = r.counters[0, 1]
    assert (c[A["synapse_read"]], c[A["synaptic_op"]], c[A["packet_receive"]]) == (reads, n, 1)
    e_dst = n * 2  # idle targets
    assert r.step_cycles[0] == max(e_dst, s1) + 10


def test_full_buffer_stalls_the_sender():
    """Depth 1: B waits on mesh link E0 until A, in E0's downstream buffer, is granted E1 (+1 credit cycle).

    1x3 mesh; A (core 0) and B (core 1) on router 0 both fire at f = 2 towards core 2 on router 2.
    flits 2, hop 5 -> lat 6; spike_send 1.  A: inject 2, E0 3, E1 9, eject 15.  B: E0 free at 5 but its
    buffer holds A until 9, so E0 grants B at 10; B requests E1 at 16, the cycle A's slot there returns
    (A left it at 15), so E1 grants at 16, eject 22.
    """
    tim = {**TIM, "neuron_update_active_cycles": 2, "spike_send_cycles": 1, "flits_per_packet": 2,
           "hop_east_west_cycles": 5, "local_delivery_cycles": 1, "router_buffer_packets": 1}
    m = make_model(width=3, height=1, core_router=[0, 0, 2], neuron_core=[0, 1, 2],
                   edges=[(0, 2, 1), (1, 2, 1)], timing=tim, lif=lif_of([FIRE, FIRE, QUIET]))
    r = simulate(m, 1, record=("trace",))
    (la, ga, *_), (lb, gb, *_) = packets(r)
    assert la[1:3] == lb[1:3] == [4 * 0 + 0, 4 * 1 + 0]
    assert ga == [2, 3, 9, 15]
    assert gb == [2, 10, 16, 22]
    # with deeper buffers B only waits for the link itself (occupancy 2)
    deep = make_model(width=3, height=1, core_router=[0, 0, 2], neuron_core=[0, 1, 2],
                      edges=[(0, 2, 1), (1, 2, 1)], timing={**tim, "router_buffer_packets": 2},
                      lif=lif_of([FIRE, FIRE, QUIET]))
    assert packets(simulate(deep, 1, record=("trace",)))[1][1] == [2, 5, 11, 17]


def test_full_injection_buffer_stalls_the_send_unit():
    """Depth 1: a neuron with routes to two cores on the next router.  P1: inject 2, E0 3 (lat 5+3-1 = 7),
    eject 10.  P2 may leave the core only once P1 left the injection buffer (at 3) plus one cycle: inject 4,
    request E0 at 5; E0 is free at 6 but its buffer holds P1 until its ejection at 10: E0 at 11, eject 18."""
    tim = {**TIM, "neuron_update_active_cycles": 2, "spike_send_cycles": 1, "router_buffer_packets": 1}
    m = make_model(width=2, height=1, core_router=[0, 1, 1], neuron_core=[0, 1, 2],
                   edges=[(0, 1, 1), (0, 2, 1)], timing=tim, lif=lif_of([FIRE, QUIET, QUIET]))
    pk = packets(simulate(m, 1, record=("trace",)))
    assert [p[1] for p in pk] == [[2, 3, 10], [4, 11, 18]]


def test_zero_latency_crosses_the_chip_in_the_creation_cycle():
    """spike_send = hop = local_delivery = 0, flits = 1: every link grants in cycle f (spec §2.3, lat 0)."""
    tim = {**TIM, "spike_send_cycles": 0, "hop_east_west_cycles": 0, "hop_north_south_cycles": 0,
           "local_delivery_cycles": 0, "flits_per_packet": 1}
    m = make_model(width=3, height=3, core_router=[0, 0, 8], neuron_core=[0, 1, 2],
                   edges=[(0, 2, 1), (1, 2, 1)], timing=tim, lif=lif_of([FIRE, FIRE, QUIET]))
    pk = packets(simulate(m, 1, record=("trace",)))
    assert pk[0][1] == [3] * 6 and pk[0][2] == 3  # inject, E, E, N, N, eject
    # the second packet is one cycle behind on the shared links (occupancy 1, one grant per cycle)
    assert pk[1][1] == [3] + [4] * 5 and pk[1][2] == 4


def test_host_packets_use_the_io_port():
    """Host input events: injection occupancy io_packet_cycles, counted as io_packet in the host column."""
    tim = {**TIM, "io_packet_cycles": 7}
    m = make_model(width=2, height=1, core_router=[1], neuron_core=[0], n_host=2, edges=[(1, 0, 3), (2, 0, 5)],
                   timing=tim, io_router=0)
    r = simulate(m, 1, inputs=np.array([[2, -1]]), record=("trace",))
    pk = packets(r)
    assert [p[1][:2] for p in pk] == [[0, 7], [7, 14]]
    c = r.counters[0]
    assert (c[1, A["io_packet"]], c[1, A["spike"]], c[1, A["packet_send"]], c[1, A["flit_hop_east_west"]]) == (2, 2, 0, 6)
    assert c[1, A["neuron_update_active"]] + c[1, A["neuron_update_idle"]] == 0


def test_idle_chip_costs_neuron_phase_plus_barrier():
    """No event: the step is the longest neuron phase plus the barrier."""
    m = make_model(width=2, height=1, core_router=[0, 1], neuron_core=[0, 0, 1], timing=TIM)
    r = simulate(m, 2)
    assert r.step_cycles.tolist() == [2 * 2 + 10] * 2
    assert r.counters[:, :, A["barrier"]].tolist() == [[0, 0, 1]] * 2
