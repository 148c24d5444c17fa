"""Fixed-tick timesteps: the engine's steps under :mod:`nmsim.account.timestep` agree with the SimPy oracle,
which ends each step on a tick process of its own (``nmsim.oracle.simpy_chip``), on every random case.

For each seed the case is :func:`nmsim.oracle.random_case`'s; the period is drawn from the same seed
(1 .. 1.5 x the case's longest step, so that about half the cases overrun), as is the overrun policy.
Step lengths, overrun flags and counters must be identical.  ``NMSIM_ORACLE_CASES`` (default 200)
sets the number of seeds (a quarter of them run here: the barrier-mode file covers the rest).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from nmsim.account.timestep import apply_timestep
from nmsim.oracle import random_case
from nmsim.oracle.functional_oracle import oracle_run

engine = pytest.importorskip("nmsim.sim.engine")

pytestmark = pytest.mark.oracle

N_CASES = max(1, int(os.environ.get("NMSIM_ORACLE_CASES", "200")) // 4)
SIZES = dict(max_lif=60, max_host=10, max_steps=6)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fixed_tick_matches_oracle(seed):
    case = random_case(20_000 + seed, **SIZES)
    got = engine.simulate(case.model, case.n_steps, case.host_payloads, record=())
    rng = np.random.default_rng(seed)
    # the period comes from the seed and the oracle's own barrier-mode steps, never from the engine's
    work = oracle_run(case.model, case.n_steps, case.host_payloads).step_cycles
    period = int(rng.integers(1, max(2, int(1.5 * work.max(initial=1))) + 1))
    policy = str(rng.choice(["stretch", "violation"]))
    want = oracle_run(case.model, case.n_steps, case.host_payloads, tick_cycles=period, overrun=policy)
    ts = apply_timestep(got.step_cycles, "fixed", period, policy)
    assert ts.step_cycles.tolist() == want.step_cycles.tolist(), f"seed {seed}: period {period}, {policy}"
    assert ts.overrun.tolist() == want.overrun.tolist()
    assert ts.overrun_steps == int(want.overrun.sum())
    assert np.array_equal(got.counters, want.counters)
    # the shortest period that would have held: no overrun at it, an overrun one cycle below it
    short = ts.shortest_period_cycles
    assert not oracle_run(case.model, case.n_steps, case.host_payloads, tick_cycles=max(short, 1)).overrun.any()
    if short > 1:
        assert oracle_run(case.model, case.n_steps, case.host_payloads, tick_cycles=short - 1).overrun.any()
