"""The engine's faster kernels against their plain forms and an independent reference.

- untraced steps against traced ones (``timing.build_packets`` with and without the trace), on random
  placements, and the packet order (counting sort, and its fallback) against NumPy's stable argsort;
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
    """An untraced step and a traced one: the same counters, cycles and
    link busy cycles, step by step."""
    m, host, _ = random_model(seed)
    plain = simulate(m, len(host), host, record=("link_busy",))
    traced = simulate(m, len(host), host, record=("link_busy", "trace"))
    assert plain.counters.sum() > 0
    for f in ("counters", "step_cycles", "link_busy"):
        assert np.array_equal(getattr(plain, f), getattr(traced, f)), f


@pytest.mark.parametrize("spread", [0, 10**7])  # small finish cycles: counting sort; huge: the merge of runs
def test_packet_order_is_numpy_stable_argsort(spread):
    """``timing._stable_order`` (counting sort, or the merge of runs when the values spread wide) against
    NumPy's stable argsort, on finish cycles sorted within each core as the neuron phase gives them, and on
    arbitrary values."""
    rng = np.random.default_rng(spread)
    for _ in range(40):
        n_cores, per = int(rng.integers(1, 9)), int(rng.integers(0, 50))
        runs = [np.cumsum(rng.integers(0, 3, per)) + rng.integers(0, spread + 1) for _ in range(n_cores)]
        for f in (np.concatenate(runs).astype(np.int64), rng.integers(0, spread + 5, n_cores * per)):
            assert np.array_equal(tm._stable_order(f), np.argsort(f, kind="stable"))


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


@pytest.mark.parametrize("seed", range(4))
def test_timing_trace_of_a_recorded_step_is_the_one_pass_trace(seed):
    """``Engine.timing_trace`` (a step timed alone from its fired/active flags, as the timing pass does) gives
    the packet trace and cycles of the one-pass traced step, step by step; an untraced engine refuses it."""
    from nmsim.describe.actions import N_ACTIONS

    m, host, _ = random_model(seed)
    one = Engine(m, trace=True)
    alone = Engine(m, trace=True)
    enable = np.ones(m.n_neurons, np.uint8)
    n_packets = 0
    for s in range(len(host)):
        r = one.step(host[s])
        cnt = np.zeros((m.n_cores + 1, N_ACTIONS), np.int64)
        busy = np.zeros(m.n_links, np.int64)
        cycles, tr = alone.timing_trace(r.fired, one._active, enable, cnt, busy)
        assert cycles == r.step_cycles and np.array_equal(cnt, r.counters) and np.array_equal(busy, r.link_busy)
        for f in ("seq", "src_neuron", "route", "src_core", "dst_core", "link_ptr", "link", "grant", "arrival",
                  "syn_start", "syn_end"):
            assert np.array_equal(getattr(tr, f), getattr(r.trace, f)), (s, f)
        n_packets += len(tr.seq)
    assert n_packets > 0
    with pytest.raises(ValueError, match="trace=True"):
        Engine(m).timing_trace(r.fired, one._active, enable, cnt, busy)
