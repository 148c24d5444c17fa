"""The Numba engine and the SimPy oracle agree exactly on random small chips under multicast routing.

The cases of ``tests/test_oracle_agreement.py`` (``nmsim.oracle.random_case``) with
``CompiledModel.multicast = True``: every step's ``step_cycles``, every counter (replications and
routing-table look-ups included), ``link_busy``, ``fired``, ``payload``, the final state and, per
delivery, the grant cycle of every link of its root-to-leaf path, arrival and synapse service must be
identical.  ``NMSIM_ORACLE_CASES`` (default 200) sets the number of seeds.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from nmsim.describe.actions import A
from nmsim.oracle import random_case
from nmsim.oracle.compare import disagreements, trace_disagreements
from nmsim.oracle.functional_oracle import oracle_run
from nmsim.sim import engine

pytestmark = pytest.mark.oracle

N_CASES = int(os.environ.get("NMSIM_ORACLE_CASES", "200"))
SIZES = dict(max_lif=80, max_host=12, max_steps=6)


def simulate(model, n_steps, host_payloads):
    return engine.simulate(model, n_steps, host_payloads, record=("fired", "payload", "link_busy", "trace"))


def check(case) -> list[str]:
    """Every result field and every delivery's trace (``check_case`` looks at traces only on a mismatch)."""
    want = oracle_run(case.model, case.n_steps, case.host_payloads)
    got = simulate(case.model, case.n_steps, case.host_payloads)
    return disagreements(got, want) + trace_disagreements(got.trace, want)


def multicast_case(seed, **kw):
    case = random_case(seed, **SIZES, **kw)
    return dataclasses.replace(case, model=dataclasses.replace(case.model, multicast=True))


@pytest.mark.parametrize("seed", range(N_CASES))
def test_engine_matches_oracle_multicast(seed):
    problems = check(multicast_case(seed))
    assert not problems, f"seed {seed} (multicast): engine and oracle disagree\n" + "\n".join(problems)


@pytest.mark.parametrize("seed", range(0, N_CASES, 10))
def test_engine_matches_oracle_multicast_without_zero_latencies(seed):
    problems = check(multicast_case(10_000 + seed, zero_latency=False))
    assert not problems, f"seed {10_000 + seed} (multicast, no zero latencies)\n" + "\n".join(problems)


def test_random_cases_replicate():
    """The random cases exercise branching trees (else the agreement above would not test replication)."""
    n = 0
    for seed in range(20):
        case = multicast_case(seed)
        n += int(simulate(case.model, case.n_steps, case.host_payloads).counters[..., A["multicast_replication"]].sum())
    assert n > 100
