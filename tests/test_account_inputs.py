"""nmsim.account's input contract: which shapes it refuses (and how it says so), which dtypes it accepts, and
what it returns for them; every expected value is a hand calculation written out here."""

from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.account import account, by_category, price_steps, static_pj
from nmsim.describe.actions import A, ACTIONS, N_ACTIONS

INT_COST = list(range(1, N_ACTIONS + 1))   # pJ: action i costs i + 1 (a plain integer table)


def _res(counters, cycles):
    return SimpleNamespace(counters=np.asarray(counters), step_cycles=np.asarray(cycles))


@pytest.mark.parametrize("shape, cycles", [
    ((2, N_ACTIONS), [1, 1]),              # no core axis
    ((2, 3, N_ACTIONS - 1), [1, 1]),       # one action short
    ((2, 3, N_ACTIONS), [1, 1, 1]),        # three step lengths for two steps
])
def test_account_refuses_each_mismatched_shape_alone(shape, cycles):
    with pytest.raises(ValueError, match=r"^counters shape .* does not match \(n_steps=%d, n_cores\+1, %d\)$"
                       % (len(cycles), N_ACTIONS)):
        account(_res(np.zeros(shape, np.int64), cycles), INT_COST, 0.0, 2, 1e9)


@pytest.mark.parametrize("core_shape, host_shape, n_steps", [
    ((2, N_ACTIONS), (1, N_ACTIONS), 2),   # host rows differ from core rows
    ((3, N_ACTIONS), (3, N_ACTIONS), 2),   # both agree, but not with the step count
])
def test_price_steps_refuses_each_mismatched_shape_alone(core_shape, host_shape, n_steps):
    with pytest.raises(ValueError, match=r"^core/host counts .* do not match \(n_steps=%d, %d\)$"
                       % (n_steps, N_ACTIONS)):
        price_steps(np.zeros(core_shape, np.int64), np.zeros(host_shape, np.int64), np.ones(n_steps, np.int64),
                    INT_COST, 0.0, 1, 1e9)


def test_integer_cost_table_and_narrow_cycle_dtype():
    """An int pJ table and uint32 step lengths (what a counter file may hold) are priced like floats."""
    counters = np.zeros((1, 2, N_ACTIONS), np.int64)
    counters[0, 0, A["spike"]] = 2          # core: 2 spikes
    counters[0, 1, A["io_packet"]] = 3      # host: 3 I/O packets (charged)
    counters[0, 1, A["spike"]] = 5          # host spikes: free
    rep = account(_res(counters, np.array([7], np.uint32)), INT_COST, 0.0, 1, 1e9)
    spike_pj, io_pj = A["spike"] + 1, A["io_packet"] + 1
    assert rep.dynamic_total_pj == 2 * spike_pj + 3 * io_pj
    assert rep.dynamic_pj.dtype == np.float64
    assert rep.latency_cycles.dtype == np.int64 and rep.latency_cycles.tolist() == [7]
    assert rep.by_action()["io_packet"] == 3.0 * io_pj and rep.by_action()["spike"] == 2.0 * spike_pj


def test_a_one_hertz_clock_is_valid():
    """clock_hz only has to be positive: at 1 Hz a cycle is 1e9 ns; at 0.5 Hz it is 2e9 ns."""
    res = _res(np.zeros((1, 2, N_ACTIONS), np.int64), [3])
    assert account(res, INT_COST, 0.0, 1, 1.0).latency_ns.tolist() == [3e9]
    assert account(res, INT_COST, 0.0, 1, 0.5).latency_ns.tolist() == [6e9]
    with pytest.raises(ValueError, match=r"^clock_hz=-1.0 must be > 0$"):
        account(res, INT_COST, 0.0, 1, -1.0)


def test_static_energy_is_float64_for_any_latency_dtype():
    """mW x ns = pJ, computed in float64 even from a float32 latency (0.1 is not exact in float32)."""
    lat = np.array([0.1], np.float32)
    got = static_pj(lat, 3.0, 2)
    assert got.dtype == np.float64
    assert got.tolist() == [3.0 * 2 * float(np.float32(0.1))]


def test_categories_sum_over_every_leading_axis():
    """by_category accepts ``[steps, cores, actions]`` and sums the steps and cores."""
    a = np.zeros((2, 3, N_ACTIONS))
    a[0, 0, A["synaptic_op"]] = 1.5
    a[1, 2, A["packet_receive"]] = 2.0
    a[1, 1, A["local_delivery"]] = 0.25
    a[0, 2, A["barrier"]] = 4.0
    assert by_category(a, 7.0) == {"synapse": 3.5, "neuron": 0.0, "noc": 0.25, "io": 0.0, "barrier": 4.0,
                                   "static": 7.0}
    assert list(by_category(a, 0.0)) == ["synapse", "neuron", "noc", "io", "barrier", "static"]


def test_step_energy_total_and_categories():
    core = np.zeros((2, N_ACTIONS), np.int64)
    host = np.zeros((2, N_ACTIONS), np.int64)
    core[0, A["neuron_update_idle"]] = 4    # 4 x 2 pJ (INT_COST: index + 1)
    host[1, A["barrier"]] = 1               # host's barrier is charged
    e = price_steps(core, host, [1, 2], INT_COST, 0.5, 2, 1e9)   # static: 0.5 mW x 2 cores x (1, 2) ns
    idle_pj, barrier_pj = 4 * (A["neuron_update_idle"] + 1), A["barrier"] + 1
    assert e.static_pj.tolist() == [1.0, 2.0]
    assert e.step_pj.tolist() == [idle_pj + 1.0, barrier_pj + 2.0]
    assert e.total_pj == idle_pj + barrier_pj + 3.0
    assert e.categories() == {"synapse": 0.0, "neuron": float(idle_pj), "noc": 0.0, "io": 0.0,
                              "barrier": float(barrier_pj), "static": 3.0}
    assert ACTIONS[A["barrier"]] == "barrier"


def test_categories_sum_in_float64_even_from_float32():
    """2**24 + 1 is not a float32: a float32 sum would lose the 1 pJ."""
    a = np.zeros((2, N_ACTIONS), np.float32)
    a[0, A["spike"]] = 2.0**24
    a[1, A["spike"]] = 1.0
    assert by_category(a, 0.0)["neuron"] == 2.0**24 + 1
