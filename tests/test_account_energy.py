"""Accounting: energy = counts x pJ table (+ static), a pure function of the counters."""

from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.account import HOST_CHARGED, account
from nmsim.describe.actions import A, ACTIONS, N_ACTIONS
from nmsim.sim import simulate
from sim_helpers import lif_params, make_model

COST = np.array([81.0, 52.0, 5.0, 111.0, 7.0, 23.6, 1.5, 3.0, 4.0, 1.7, 50.0, 1000.0, 6.0, 2.5, 9.0])  # pJ, order of ACTIONS


def test_energy_is_hand_sum_of_counts_times_costs_plus_static():
    """Two steps, two cores + host, hand-chosen counts."""
    counters = np.zeros((2, 3, N_ACTIONS), np.int64)
    counters[0, 0, A["neuron_update_active"]] = 3
    counters[0, 1, A["synaptic_op"]] = 10
    counters[1, 0, A["flit_hop_east_west"]] = 4
    counters[0, 2, A["spike"]] = 7  # host spike: not charged
    counters[0, 2, A["io_packet"]] = 2
    counters[1, 2, A["flit_hop_north_south"]] = 5
    counters[:, 2, A["barrier"]] = 1
    counters[1, 0, A["multicast_replication"]] = 2
    counters[1, 2, A["routing_table_lookup"]] = 3  # a host-sent multicast packet: charged
    res = SimpleNamespace(counters=counters, step_cycles=np.array([100, 300], np.int64))
    rep = account(res, COST, static_mw_per_core=2.0, n_cores=2, clock_hz=1e9)
    dyn0 = 3 * 81.0 + 10 * 1.5 + 2 * 50.0 + 1000.0
    dyn1 = 4 * 3.0 + 5 * 4.0 + 1000.0 + 2 * 6.0 + 3 * 2.5
    # static: 2 mW x 2 cores x 100 ns = 400 pJ (mW x ns = pJ); 1200 pJ for 300 ns
    assert rep.static_pj_per_step.tolist() == [400.0, 1200.0]
    assert rep.step_pj.tolist() == [dyn0 + 400.0, dyn1 + 1200.0]
    assert rep.total_pj == dyn0 + dyn1 + 1600.0
    assert rep.total_nj == pytest.approx((dyn0 + dyn1 + 1600.0) / 1000)
    assert rep.dynamic_total_pj == dyn0 + dyn1 and rep.static_total_pj == 1600.0
    assert rep.latency_cycles.tolist() == [100, 300] and rep.latency_ns.tolist() == [100.0, 300.0]
    assert rep.time_ns == 400.0
    assert rep.core_pj.tolist() == [3 * 81.0 + 4 * 3.0 + 2 * 6.0, 10 * 1.5, 2 * 50.0 + 5 * 4.0 + 2000.0 + 3 * 2.5]
    assert rep.by_action()["spike"] == 0.0 and rep.by_action()["barrier"] == 2000.0
    assert rep.action_pj.sum() == rep.dynamic_total_pj


def test_host_column_charges_only_io_hops_and_barrier():
    counters = np.ones((1, 2, N_ACTIONS), np.int64)
    rep = account(SimpleNamespace(counters=counters, step_cycles=np.array([0])), COST, 0.0, 1, 1e9)
    host = {a for a in ACTIONS if rep.dynamic_pj[0, 1, A[a]] != 0}
    assert host == set(HOST_CHARGED)
    assert rep.dynamic_pj[0, 0].tolist() == COST.tolist()


def test_account_of_a_simulation_and_repricing_needs_no_rerun():
    m = make_model(width=2, height=1, core_router=[0, 1], neuron_core=[0, 1], n_host=1,
                   edges=[(2, 0, 5), (0, 1, 3)], lif=lif_params(2, threshold=1))
    r = simulate(m, 3, inputs=np.array([[1], [0], [1]]))
    rep = account(r, COST, 1.0, m.n_cores, 2e8)
    charged = r.counters.astype(float) * COST
    charged[:, -1, :] *= np.isin(ACTIONS, HOST_CHARGED)
    ns = r.step_cycles / 2e8 * 1e9
    assert rep.total_pj == pytest.approx(charged.sum() + (1.0 * 2 * ns).sum(), rel=1e-12)
    doubled = account(r, 2 * COST, 0.0, m.n_cores, 2e8)
    assert doubled.dynamic_total_pj == pytest.approx(2 * rep.dynamic_total_pj)


def test_bad_tables_fail_early_naming_the_value():
    res = SimpleNamespace(counters=np.zeros((1, 2, N_ACTIONS), np.int64), step_cycles=np.zeros(1, np.int64))
    with pytest.raises(ValueError, match="energy_pj shape"):
        account(res, COST[:5], 0.0, 1, 1e9)
    with pytest.raises(ValueError, match="clock_hz"):
        account(res, COST, 0.0, 1, 0)
