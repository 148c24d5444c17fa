"""Functional semantics (spec §1): LIF spikes against an independent NumPy reference, on several placements,
and the pure-Python path of the small kernels (``kernel.py_func``, as PySDM does)."""

import numpy as np
import pytest

from nmsim.compile.compiled import MODEL_INPUT, MODEL_LIF
from nmsim.sim import functional as fn
from nmsim.sim import simulate
from nmsim.sim import events as ev
from nmsim.sim import timing as tm
from sim_helpers import lif_params, lif_reference, make_model


def random_network(rng, n_lif, n_host, density=0.25):
    edges = []
    for s in range(n_lif + n_host):
        for t in np.flatnonzero(rng.random(n_lif) < density):
            edges.append((s, int(t), int(rng.integers(-6, 10))))
    lif = lif_params(n_lif, threshold=rng.integers(0, 15, n_lif), decay=rng.choice([0, 512, 4096, 1000], n_lif),
                     bias=np.where(rng.random(n_lif) < 0.5, 0, rng.integers(-2, 5, n_lif)),
                     reset_mode=rng.integers(0, 2, n_lif), v_min=rng.integers(-30, 0, n_lif),
                     v_max=rng.integers(20, 60, n_lif))
    v0 = rng.integers(-5, 15, n_lif)
    return edges, lif, v0


@pytest.mark.parametrize("seed", range(6))
def test_lif_spikes_match_numpy_reference_on_any_placement(seed):
    """Same network, four placements (cores, routers, timing): identical spikes, payloads and final v."""
    rng = np.random.default_rng(seed)
    n_lif, n_host, n_steps = int(rng.integers(5, 30)), int(rng.integers(0, 5)), 12
    edges, lif, v0 = random_network(rng, n_lif, n_host)
    host = np.where(rng.random((n_steps, n_host)) < 0.4, rng.integers(-3, 6, (n_steps, n_host)), 0)
    ref_fired, ref_v = lif_reference(lif, v0, edges, n_lif, host, n_steps)
    assert ref_fired.any()
    for placement in range(4):
        prng = np.random.default_rng(100 * seed + placement)
        n_cores = int(prng.integers(1, 6))
        w, h = int(prng.integers(1, 4)), int(prng.integers(1, 4))
        m = make_model(width=w, height=h, core_router=prng.integers(0, w * h, n_cores).tolist(),
                       neuron_core=prng.integers(0, n_cores, n_lif), n_host=n_host, edges=edges, lif=lif, v0=v0,
                       io_router=int(prng.integers(0, w * h)),
                       timing={"router_buffer_packets": int(prng.integers(1, 4)), "flits_per_packet": 2,
                               "spike_send_cycles": int(prng.integers(0, 3))})
        r = simulate(m, n_steps, inputs=host)
        net = np.concatenate([m.neuron_local[:n_lif], n_lif + np.arange(n_host)])  # compiled -> network id
        fired = np.zeros_like(ref_fired)
        fired[:, net] = r.fired
        assert np.array_equal(fired, ref_fired)
        payload = np.zeros(ref_fired.shape, np.int64)
        payload[:, net] = r.payload
        assert np.array_equal(payload[:, :n_lif], ref_fired[:, :n_lif].astype(np.int64))
        assert np.array_equal(payload[:, n_lif:], host)
        v = np.zeros(n_lif, np.int64)
        v[net[:n_lif]] = r.final_state[:n_lif, 0]
        assert np.array_equal(v, ref_v)


def test_events_reach_targets_one_step_later_with_weight_times_payload():
    """A host event of payload 3 through weight 4 gives u = 12 at the next step (threshold 11: fires at t+1)."""
    m = make_model(width=1, height=1, core_router=[0], neuron_core=[0], n_host=1, edges=[(1, 0, 4)],
                   lif=lif_params(1, threshold=11, reset_mode=1))
    r = simulate(m, 3, inputs={1: np.array([[3], [0], [0]])})
    assert r.fired[:, 0].tolist() == [0, 1, 0]
    assert r.payload[:, 1].tolist() == [3, 0, 0]


def _random_update_inputs(rng, N, host_start):
    state = np.zeros((N, 4), np.int64)
    state[:, 0] = rng.integers(-50, 50, N)
    acc = rng.integers(-20, 20, (N, 2)).astype(np.int64)
    param = np.zeros((N, 8), np.int64)
    param[:, :6] = lif_params(N, threshold=rng.integers(0, 20, N), decay=rng.integers(0, 4097, N),
                              bias=rng.integers(-3, 3, N), reset_mode=rng.integers(0, 2, N), v_min=-40, v_max=40)
    model = np.where(np.arange(N) < host_start, MODEL_LIF, MODEL_INPUT).astype(np.int8)
    host = rng.integers(-2, 3, N - host_start).astype(np.int64)
    return state, acc, param, model, host


@pytest.mark.parametrize("seed", range(3))
def test_update_neurons_python_path_equals_jit(seed):
    rng = np.random.default_rng(seed)
    N, host_start = 40, 33
    outs = []
    for kernel in (fn.update_neurons, fn.update_neurons.py_func):
        state, acc, param, model, host = _random_update_inputs(np.random.default_rng(seed), N, host_start)
        fired, payload, active = np.zeros(N, np.uint8), np.zeros(N, np.int64), np.zeros(N, np.uint8)
        kernel(fired, payload, active, state, acc, param, model, host, host_start)
        assert not acc.any()
        outs.append((fired, payload, active, state))
    for a, b in zip(*outs):
        assert np.array_equal(a, b)
    assert rng is not None


def test_accumulate_and_list_fired_python_path_equal_jit():
    rng = np.random.default_rng(7)
    edges = [(int(s), int(t), int(rng.integers(-5, 6))) for s, t in rng.integers(0, 12, (60, 2))]
    m = make_model(width=2, height=1, core_router=[0, 1], neuron_core=rng.integers(0, 2, 12), edges=edges)
    fired = (rng.random(12) < 0.5).astype(np.uint8)
    payload = fired.astype(np.int64) * rng.integers(1, 4, 12)
    res = []
    for lf, ac in ((fn.list_fired, fn.accumulate), (fn.list_fired.py_func, fn.accumulate.py_func)):
        lst, n = np.zeros(12, np.int64), np.zeros(2, np.int64)
        lf(lst, n, fired, m.route_ptr)
        acc = np.zeros((12, 1), np.int64)
        ac(acc, lst, int(n[0]), payload, m.route_ptr, m.route_row, m.row_ptr, m.syn_target, m.syn_acc, m.syn_weight)
        res.append((lst[: n[0]].copy(), n.copy(), acc))
    for a, b in zip(*res):
        assert np.array_equal(a, b)
    assert res[0][1][1] == m.route_ptr[1:][fired == 1].sum() - m.route_ptr[:-1][fired == 1].sum()


@pytest.mark.parametrize("kernel", ["jit", "py_func"])
def test_heap_pops_in_sorted_order(kernel):
    push, pop = (ev.heap_push, ev.heap_pop) if kernel == "jit" else (ev.heap_push.py_func, ev.heap_pop.py_func)
    rng = np.random.default_rng(1)
    vals = rng.integers(-100, 100, 50)
    h = np.zeros(60, np.int64)
    n = 0
    for v in vals:
        n = push(h, 0, n, np.int64(v))
    out = []
    while n:
        out.append(pop(h, 0, n))
        n -= 1
    assert out == sorted(vals.tolist())


def test_neuron_phase_python_path_equals_jit():
    rng = np.random.default_rng(3)
    ptr = np.array([0, 4, 4, 9, 12], np.int64)  # 3 cores (one empty) + host
    fired, active = (rng.random(12) < 0.5).astype(np.uint8), (rng.random(12) < 0.5).astype(np.uint8)
    timing = np.array([5, 2] + [1] * 11, np.int64)
    res = []
    for k in (tm.neuron_phase, tm.neuron_phase.py_func):
        fin, end, cnt = np.zeros(12, np.int64), np.zeros(4, np.int64), np.zeros((4, 12), np.int64)
        k(fin, end, cnt, fired, active, ptr, timing)
        res.append((fin, end, cnt))
    for a, b in zip(*res):
        assert np.array_equal(a, b)
    fin, end, _ = res[0]
    assert end[0] == fin[3] == (5 * active[:4] + 2 * (1 - active[:4])).sum() and end[1] == 0 and end[3] == 0
