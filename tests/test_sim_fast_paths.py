"""The engine's faster kernels against their plain forms and an independent reference.

- ``timing.build_packets_tab`` (untraced steps: per-route tables, counting sort) against
  ``timing.build_packets`` (traced steps), on random placements, and its fallback sort;
- the accumulation's synapses in source order, in narrow arrays (``uint16`` slots, ``int8``/``int16``/``int32``
  weights): the order by hand, and the spikes against the plain-NumPy LIF reference
  (``sim_helpers.lif_reference``), with weights of every width.
"""

import numpy as np
import pytest

from nmsim.sim import Engine, simulate
from nmsim.sim import timing as tm
from sim_helpers import lif_params, lif_reference, make_model


def random_model(seed, weight_max=10):
    rng = np.random.default_rng(seed)
    n_lif, n_host = int(rng.integers(10, 60)), int(rng.integers(1, 6))
    edges = [(s, int(t), int(rng.integers(-weight_max, weight_max + 1)) or 1) for s in range(n_lif + n_host)
             for t in np.flatnonzero(rng.random(n_lif) < 0.3)]
    lif = lif_params(n_lif, threshold=rng.integers(0, 12, n_lif) * max(1, weight_max // 10),
                     bias=rng.integers(0, 3, n_lif), decay=rng.choice([0, 512, 4096], n_lif),
                     v_min=np.full(n_lif, -4 * weight_max - 30), v_max=np.full(n_lif, 4 * weight_max + 60))
    n_cores = int(rng.integers(1, 7))
    w, h = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    m = make_model(width=w, height=h, core_router=rng.integers(0, w * h, n_cores).tolist(),
                   neuron_core=rng.integers(0, n_cores, n_lif), n_host=n_host, edges=edges, lif=lif,
                   io_router=int(rng.integers(0, w * h)),
                   timing={"router_buffer_packets": int(rng.integers(1, 4)), "flits_per_packet": int(rng.integers(1, 3)),
                           "hop_east_west_cycles": int(rng.integers(0, 4)), "spike_send_cycles": int(rng.integers(0, 3))})
    host = np.where(rng.random((10, n_host)) < 0.5, rng.integers(1, 4, (10, n_host)), 0)
    return m, host, (edges, lif, n_lif)


@pytest.mark.parametrize("seed", range(8))
def test_untraced_steps_equal_traced_steps(seed):
    """An untraced step (build_packets_tab) and a traced one (build_packets): the same counters, cycles and
    link busy cycles, step by step."""
    m, host, _ = random_model(seed)
    plain = simulate(m, len(host), host, record=("link_busy",))
    traced = simulate(m, len(host), host, record=("link_busy", "trace"))
    assert plain.counters.sum() > 0
    for f in ("counters", "step_cycles", "link_busy"):
        assert np.array_equal(getattr(plain, f), getattr(traced, f)), f


@pytest.mark.parametrize("spread", [0, 10**7])  # small finish cycles: counting sort; huge: the merge of runs
def test_build_packets_tab_equals_build_packets(spread):
    """Direct calls on random fired sets and finish cycles (sorted within each core, as the neuron phase gives
    them): the same packets in the same order, the same injection queues and counters."""
    from nmsim.describe.actions import N_ACTIONS

    for seed in range(6):
        m, _, _ = random_model(seed)
        eng = Engine(m)
        rng = np.random.default_rng(seed)
        N, C = m.n_neurons, m.n_cores
        fired = np.flatnonzero(rng.random(N) < 0.5)
        finish = np.zeros(N, np.int64)
        for c in range(C):
            lo, hi = m.core_neuron_ptr[c], m.core_neuron_ptr[c + 1]
            finish[lo:hi] = np.cumsum(rng.integers(0, 3, hi - lo)) + rng.integers(0, spread + 1)
        n_pk = int((m.route_ptr[fired + 1] - m.route_ptr[fired]).sum())
        lt = eng.lt
        out = []
        for tab in (False, True):
            cnt = np.zeros((C + 1, N_ACTIONS), np.int64)
            pk, ptr, lst = np.zeros((max(n_pk, 1), 3), np.int64), np.zeros(C + 2, np.int64), np.zeros(max(n_pk, 1), np.int64)
            if tab:
                rt = tm.route_tables(m.route_ptr, m.route_core, m.route_row, m.row_ptr, m.row_n_reads, eng.neuron_core,
                                     m.core_router, lt["hops_x"], lt["hops_y"], lt["hops_c"], m.timing, C)
                tm.build_packets_tab(cnt, pk, ptr, lst, fired, len(fired), finish, eng.neuron_core, m.route_ptr,
                                     m.route_core, *rt)
            else:
                one = np.zeros(1, np.int64)
                tm.build_packets(cnt, pk, ptr, lst, one, one, one, fired, len(fired), finish, eng.neuron_core,
                                 m.route_ptr, m.route_core, m.route_row, m.row_ptr, m.row_n_reads, m.core_router,
                                 lt["hops_x"], lt["hops_y"], lt["hops_c"], m.timing, False)
            out.append((cnt, pk[:n_pk], ptr, lst[:n_pk]))
        for a, b in zip(*out):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("weight_max,dtype", [(10, np.int8), (300, np.int16), (70000, np.int32)])
def test_narrow_synapse_arrays_give_the_reference_spikes(weight_max, dtype):
    """Weights that need 8, 16 and 32 bits: the engine narrows slots and weights, and the spikes and
    membrane potentials are still those of the plain-NumPy reference."""
    for seed in range(3):
        m, host, (edges, lif, n_lif) = random_model(seed, weight_max)
        eng = Engine(m)
        ptr, slot, w = eng._syn_arrays()
        assert slot.dtype == np.uint16 and w.dtype == dtype
        # source order by hand: neuron g's synapses are the rows of its routes, in route order
        rows = [r for g in range(m.n_neurons) for r in m.route_row[m.route_ptr[g]:m.route_ptr[g + 1]] if r >= 0]
        syn = np.concatenate([np.arange(m.row_ptr[r], m.row_ptr[r + 1]) for r in rows]).astype(np.int64)
        assert np.array_equal(w, m.syn_weight[syn])
        assert np.array_equal(slot, (m.syn_target * m.n_accumulators + m.syn_acc)[syn])
        n_syn = [sum(m.row_ptr[r + 1] - m.row_ptr[r] for r in m.route_row[m.route_ptr[g]:m.route_ptr[g + 1]] if r >= 0)
                 for g in range(m.n_neurons)]
        assert np.array_equal(np.diff(ptr), n_syn)
        r = simulate(m, len(host), inputs=host)
        ref_fired, _ = lif_reference(lif, np.zeros(n_lif, np.int64), edges, n_lif, host, len(host))
        n_host = host.shape[1]
        net = np.concatenate([m.neuron_local[:n_lif], n_lif + np.arange(n_host)])
        fired = np.zeros_like(ref_fired)
        fired[:, net] = r.fired
        assert np.array_equal(fired, ref_fired)
        assert ref_fired[:, :n_lif].any()
