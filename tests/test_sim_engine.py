"""Engine API: determinism, step-wise use, inputs, recording."""

import numpy as np
import pytest

from nmsim.describe.actions import A
from nmsim.sim import Engine, simulate
from sim_helpers import lif_params, make_model


def busy_model(seed=0, **timing):
    rng = np.random.default_rng(seed)
    n_lif, n_host = 40, 6
    edges = [(int(s), int(t), int(rng.integers(-3, 8))) for s, t in
             zip(rng.integers(0, n_lif + n_host, 400), rng.integers(0, n_lif, 400))]
    lif = lif_params(n_lif, threshold=rng.integers(2, 10, n_lif), bias=rng.integers(0, 3, n_lif), decay=256)
    return make_model(width=3, height=2, core_router=[0, 1, 2, 3, 4, 5, 5], neuron_core=rng.integers(0, 7, n_lif),
                      n_host=n_host, edges=edges, lif=lif, io_router=2,
                      timing={"router_buffer_packets": 1, "flits_per_packet": 2, "hop_east_west_cycles": 3, **timing})


def host_input(n_steps, seed=1):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n_steps, 6)) < 0.5, rng.integers(1, 4, (n_steps, 6)), 0)


def test_two_runs_are_byte_identical():
    m = busy_model()
    runs = [simulate(m, 8, host_input(8), record=("fired", "payload", "link_busy", "trace")) for _ in range(2)]
    a, b = runs
    assert a.counters[:, :, A["packet_send"]].sum() > 50
    for f in ("fired", "payload", "counters", "step_cycles", "link_busy", "final_state"):
        assert getattr(a, f).tobytes() == getattr(b, f).tobytes(), f
    for f in ("grant", "link", "link_ptr", "arrival", "syn_start", "syn_end", "src_neuron"):
        assert getattr(a.trace, f).tobytes() == getattr(b.trace, f).tobytes(), f


def test_engine_steps_equal_simulate_and_reset_restarts():
    m = busy_model()
    host = host_input(5)
    ref = simulate(m, 5, host)
    eng = Engine(m)
    for _ in range(2):
        steps = [eng.step(host[t]) for t in range(5)]
        assert np.array_equal(np.array([s.fired for s in steps]), ref.fired)
        assert np.array_equal(np.array([s.counters for s in steps]), ref.counters)
        assert [s.step_cycles for s in steps] == ref.step_cycles.tolist()
        assert np.array_equal(np.array([s.link_busy for s in steps]), ref.link_busy)
        assert np.array_equal(eng.state, ref.final_state)
        eng.reset()


def test_counters_are_consistent_with_trace_and_fired():
    m = busy_model()
    r = simulate(m, 6, host_input(6), record=("fired", "trace", "link_busy"))
    C = m.n_cores
    core_of = np.repeat(np.arange(C + 1), np.diff(m.core_neuron_ptr))
    spikes = np.array([np.bincount(core_of[f == 1], minlength=C + 1) for f in r.fired])
    assert np.array_equal(r.counters[:, :, A["spike"]], spikes)
    n_pk = r.counters[:, :C, A["packet_send"]].sum() + r.counters[:, C, A["io_packet"]].sum()
    assert n_pk == r.trace.n_packets == r.counters[:, :, A["packet_receive"]].sum()
    assert r.counters[:, C, A["barrier"]].tolist() == [1] * 6
    # link_busy = occupancy x grants, per link
    occ = np.full(m.n_links, 2)
    occ[4 * m.n_routers: 4 * m.n_routers + C + 1] = [1] * C + [1]  # spike_send = io_packet = 1
    grants = np.bincount(r.trace.link, minlength=m.n_links)
    assert np.array_equal(r.link_busy.sum(axis=0), grants * occ)
    # the step ends with the last synapse job (or neuron phase) plus the barrier (0)
    for s in range(6):
        sel = r.trace.step == s
        if sel.any():
            assert r.step_cycles[s] >= r.trace.syn_end[sel].max()


def test_inputs_by_population_index_name_or_array_agree():
    m = busy_model()
    host = host_input(4)
    base = simulate(m, 4, host)
    for inputs in ({1: host}, {"input": host}):
        r = simulate(m, 4, inputs)
        assert r.fired.tobytes() == base.fired.tobytes()
        assert r.counters.tobytes() == base.counters.tobytes()
    with pytest.raises(ValueError, match="unknown"):
        simulate(m, 4, {"nope": host})
    with pytest.raises(ValueError, match="shape"):
        simulate(m, 4, host[:, :3])


def test_record_selects_outputs():
    m = busy_model()
    r = simulate(m, 3, host_input(3), record=())
    assert r.fired is None and r.payload is None and r.link_busy is None and r.trace is None
    assert r.counters.shape == (3, m.n_cores + 1, len(A)) and r.step_cycles.shape == (3,)
    with pytest.raises(ValueError, match="choices"):
        simulate(m, 3, record=("spikes",))


def test_zero_latency_and_occupancy_run_deterministically():
    """Degenerate timing (all latencies 0) still terminates and is deterministic."""
    m = busy_model(spike_send_cycles=0, io_packet_cycles=0, hop_east_west_cycles=0, hop_north_south_cycles=0,
                   local_delivery_cycles=0, flits_per_packet=1, neuron_update_active_cycles=0,
                   neuron_update_idle_cycles=0, packet_receive_cycles=0, synapse_read_cycles=0)
    a, b = (simulate(m, 5, host_input(5), record=("trace",)) for _ in range(2))
    assert a.step_cycles.tobytes() == b.step_cycles.tobytes()
    assert a.trace.grant.tobytes() == b.trace.grant.tobytes()


def test_workspace_grows_when_a_step_needs_more():
    """A tiny event pool / waiting heap is grown and the step's timing rerun: same result."""
    m = busy_model()
    host = host_input(4)
    ref = simulate(m, 4, host)
    eng = Engine(m)
    eng._ws = eng._ws._replace(ev_next=np.zeros(2, np.int64), ev_link=np.zeros(2, np.int64),
                               ev_pk=np.zeros(2, np.int64), wq=np.zeros(m.n_links, np.int64))
    eng._alloc_packets(1)
    cyc = [eng.step(host[t]).step_cycles for t in range(4)]
    assert cyc == ref.step_cycles.tolist()
    assert eng._ws.ev_next.shape[0] > 2 and eng._ws.wq.shape[0] > m.n_links  # both were grown


def test_event_errors_are_named():
    from nmsim.sim.events import EventError, grow_workspace, new_workspace

    ws = new_workspace(10, 1, 1, 1, 4)
    assert EventError(0) is EventError.OK and EventError.WAIT_HEAP.message == "a link's waiting heap is full"
    assert grow_workspace(ws, EventError.EVENT_POOL).ev_pk.shape[0] == 2 * ws.ev_pk.shape[0]
    assert grow_workspace(ws, EventError.WAIT_HEAP).wq.shape[0] == 2 * ws.wq.shape[0]
    with pytest.raises(ValueError):
        grow_workspace(ws, EventError.OK)


def test_input_neurons_must_be_the_hosts():
    m = busy_model()
    m.neuron_model[0] = 0  # an input neuron on a core
    with pytest.raises(ValueError, match="host"):
        Engine(m)


def test_timing_kernels_python_path_equals_jit(monkeypatch):
    """``build_packets`` and ``run_events`` run as plain Python (``py_func``) give the same step results."""
    import warnings

    from nmsim.sim import events as ev
    from nmsim.sim import timing as tm

    m = busy_model()
    host = host_input(3)
    ref = simulate(m, 3, host, record=("link_busy", "trace"))
    monkeypatch.setattr(tm, "build_packets", tm.build_packets.py_func)
    monkeypatch.setattr(ev, "run_events", ev.run_events.py_func)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the dirty bitmap
        py = simulate(m, 3, host, record=("link_busy", "trace"))
    for f in ("counters", "step_cycles", "link_busy"):
        assert np.array_equal(getattr(py, f), getattr(ref, f)), f
    assert np.array_equal(py.trace.grant, ref.trace.grant)
