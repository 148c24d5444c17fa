"""The Numba engine and the SimPy oracle agree exactly on random small chips.

For each seed, :func:`nmsim.oracle.random_case` draws a chip (mesh up to 4x4,
1..3 cores per router), a network (up to 80 LIF + 12 host neurons), timing
and host input; every step's ``step_cycles``, every counter, ``link_busy``,
``fired``, ``payload`` and the final neuron state must be identical.
``NMSIM_ORACLE_CASES`` (default 200) sets the number of seeds.  A failing
case is shrunk (``nmsim.oracle.compare.shrink``) and written as a standalone
reproducer script whose path is in the failure message; decide against
``docs/engine-model.md`` which side is wrong.
"""

from __future__ import annotations

import os

import pytest

from nmsim.oracle import random_case
from nmsim.oracle.compare import check_case, reproducer_source, shrink
from nmsim.sim import engine

pytestmark = pytest.mark.oracle

N_CASES = int(os.environ.get("NMSIM_ORACLE_CASES", "200"))
SIZES = dict(max_lif=80, max_host=12, max_steps=6)


def simulate(model, n_steps, host_payloads):
    """``engine.simulate`` recording every optional output (the packet trace locates a disagreement)."""
    return engine.simulate(model, n_steps, host_payloads, record=("fired", "payload", "link_busy", "trace"))


def assert_agrees(case, tmp_path, label):
    problems = check_case(case, simulate)
    if problems:
        small = shrink(case, lambda c: bool(check_case(c, simulate)))
        path = tmp_path / f"repro_seed{case.seed}.py"
        path.write_text(reproducer_source(small, label))
        pytest.fail(f"{label}: engine and oracle disagree; shrunk reproducer: {path}\n" + "\n".join(problems))


@pytest.mark.parametrize("seed", range(N_CASES))
def test_engine_matches_oracle(seed, tmp_path):
    assert_agrees(random_case(seed, **SIZES), tmp_path, f"seed {seed}")


@pytest.mark.parametrize("seed", range(0, N_CASES, 10))
def test_engine_matches_oracle_without_zero_latencies(seed, tmp_path):
    """Every link latency >= 1, so the oracle's reading R1 (same-cycle hops) plays no part."""
    case = random_case(10_000 + seed, zero_latency=False, **SIZES)
    assert_agrees(case, tmp_path, f"seed {10_000 + seed}, zero_latency=False")
