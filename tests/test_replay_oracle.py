"""The engine and the SimPy oracle agree on replay steps of tiny random language models
(recurrent cells, graded payloads, enable masks, routes to the host)."""

from __future__ import annotations

import os

import pytest

from nmsim.oracle import random_lm_case
from nmsim.oracle.compare import check_lm_case
from nmsim.sim.engine import simulate

N_CASES = int(os.environ.get("NMSIM_ORACLE_LM_CASES", "30"))


def _sim(model, n_steps, host, enable=None):
    return simulate(model, n_steps, host, record=("fired", "payload", "link_busy", "trace"), enable=enable)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_engine_matches_oracle_on_lm_steps(seed):
    case = random_lm_case(seed)
    problems = check_lm_case(case, _sim)
    assert not problems, f"seed {seed} {case.info}:\n" + "\n".join(problems)


def test_cases_cover_every_feature():
    infos = [random_lm_case(s).info for s in range(N_CASES)]
    assert {i["kind"] for i in infos} == {"egru", "gru", "lstm"}
    assert {i["decoder"] for i in infos} == {"chip", "host"}
    assert {i["mode"] for i in infos} == {"pipelined", "serial"}
