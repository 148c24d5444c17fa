"""Multicast routing across chips (docs/systems.md, "Multicast on a board"): one tree per source along the board
routes, replicated at branch routers, chip-to-chip hops counted apart.  A hand-computed tree on an idle
2 x 1 board, and engine-oracle agreement on random multicast boards (rows/columns, 2-D, with empty positions)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from nmsim.describe.actions import A
from nmsim.oracle import random_case
from nmsim.oracle.compare import disagreements, trace_disagreements
from nmsim.oracle.functional_oracle import oracle_run
from nmsim.sim import engine
from sim_helpers import lif_params, make_model
from test_system import GEOM, TIM

E, N, S = 0, 2, 3  # ports (nmsim.compile.compiled)


def two_chip_tree():
    """Board of 2 x 1 chips of 3 x 2 routers (6 x 2 board routers; E/W ports on router row 1, N/S on column 1).
    Core 0 on router 0 = (0,0) holds neuron 0 (bias 1, threshold 0: fires in step 0).  It feeds one neuron on
    each of core 1 on router 8 = (2,1) (chip 0, the east port router), core 2 on router 9 = (3,1) (chip 1, its
    west port router) and core 3 on router 4 = (4,0) (chip 1)."""
    lif = lif_params(4, threshold=0, bias=[1, 0, 0, 0])
    m = make_model(width=6, height=2, core_router=[0, 8, 9, 4], neuron_core=[0, 1, 2, 3],
                   edges=[(0, 1, 1), (0, 2, 1), (0, 3, 1)], timing=TIM, lif=lif, io_router=0)
    m = dataclasses.replace(m, multicast=True)
    m.meta["system"] = {**GEOM, "chips_x": 2, "chips_y": 1}
    return m


def test_tree_across_two_chips_hand_computed():
    """Paths (XY to the east port (2,1), across, XY inside chip 1): to core 1: E(0) E(1) N(2); to core 2: the
    same, then the chip link E(8); to core 3: the same, then E(9) S(10).  One tree:
    inj -> E(0) -> E(1) -> N(2) -> {ej 1, E(8) -> {ej 2, E(9) -> S(10) -> ej 3}}.

    Timing (tests/test_system.py TIM): the neuron's update 3 cycles, so f = 3 and the injection (occupancy =
    latency = 4) is granted at 3; E-W hop latency 5 + 2 - 1 = 6, N-S 7 + 2 - 1 = 8, chip link 20 + 4 - 1 = 23,
    ejection 6 + 2 - 1 = 7.  Grants: inj 3, E(0) 7, E(1) 13, N(2) 19; at router 8 (27) both copies are granted
    at once: ej 1 at 27 (arrival 34) and the chip link at 27; at router 9 (27 + 23 = 50): ej 2 at 50 (arrival
    57) and E(9) at 50; S(10) at 56; ej 3 at 64 (arrival 71)."""
    m = two_chip_tree()
    R, C = m.n_routers, m.n_cores
    inj, ej = 4 * R + 0, (lambda c: 4 * R + C + 1 + c)  # noqa: E731
    for run in (lambda: engine.simulate(m, 1, np.zeros((1, 0), np.int64), record=("trace",)).trace, None):
        if run is None:  # the SimPy oracle, against the same hand values
            st = oracle_run(m, 1, np.zeros((1, 0), np.int64)).steps[0]
            got = {p.dst_core: (list(p.links), p.grants, p.arrival) for p in st.packets}
            counters = st.counters
        else:
            tr = run()
            got = {int(tr.dst_core[i]): (tr.link[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist(),
                                         tr.grant[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist(), int(tr.arrival[i]))
                   for i in range(tr.n_packets)}
            counters = engine.simulate(m, 1, np.zeros((1, 0), np.int64)).counters[0]
        trunk = [inj, 4 * 0 + E, 4 * 1 + E, 4 * 2 + N]
        assert got[1] == (trunk + [ej(1)], [3, 7, 13, 19, 27], 34)
        assert got[2] == (trunk + [4 * 8 + E, ej(2)], [3, 7, 13, 19, 27, 50], 57)
        assert got[3] == (trunk + [4 * 8 + E, 4 * 9 + E, 4 * 10 + S, ej(3)], [3, 7, 13, 19, 27, 50, 56, 64], 71)
        c = counters[0]
        fl = TIM["flits_per_packet"]
        # one packet; mesh hops of the tree: E-W E(0) E(1) E(9), N-S N(2) S(10), chip E(8) (unicast: 2 chip hops)
        assert (c[A["packet_send"]], c[A["flit_hop_east_west"]], c[A["flit_hop_north_south"]],
                c[A["flit_hop_chip"]]) == (1, 3 * fl, 2 * fl, 1 * fl)
        # a look-up in every router the packet enters (0, 1, 2, 8, 9, 10, 4), one extra copy at 8 and at 9
        assert (c[A["routing_table_lookup"]], c[A["multicast_replication"]]) == (7, 2)


SIZES = dict(max_lif=80, max_host=8, max_steps=4)
N_CASES = int(os.environ.get("NMSIM_ORACLE_CASES", "40"))
KINDS = {"row-or-column": dict(board=True), "2-D": dict(board=True, two_d=True),
         "holes": dict(board=True, two_d=True, holes=True)}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("seed", range(N_CASES))
def test_engine_matches_oracle_multicast_boards(kind, seed):
    """Random multicast boards: every step's cycles, counters (flit_hop_chip, replications, look-ups),
    link_busy, fired, payload, final state and every delivery's grants agree with the SimPy oracle (its own
    trees from board_path, the smallest virtual channel of the routes sharing a link)."""
    case = random_case(50_000 + seed, **SIZES, **KINDS[kind])
    case = dataclasses.replace(case, model=dataclasses.replace(case.model, multicast=True))
    want = oracle_run(case.model, case.n_steps, case.host_payloads)
    got = engine.simulate(case.model, case.n_steps, case.host_payloads,
                          record=("fired", "payload", "link_busy", "trace"))
    problems = disagreements(got, want) + trace_disagreements(got.trace, want)
    assert not problems, f"seed {seed} ({kind}): " + "\n".join(problems)


def test_random_multicast_boards_replicate_and_cross_chips_on_both_vcs():
    """The random cases branch across chips and use virtual channel 1 (else the agreement tests little)."""
    from nmsim.compile.multicast import build_trees

    repl = chip = vc1 = 0
    for seed in range(10):
        case = random_case(50_000 + seed, **SIZES, **KINDS["2-D"])
        m = dataclasses.replace(case.model, multicast=True)
        r = engine.simulate(m, case.n_steps, case.host_payloads)
        repl += int(r.counters[..., A["multicast_replication"]].sum())
        chip += int(r.counters[..., A["flit_hop_chip"]].sum())
        vc1 += int((build_trees(m).node_link >= m.n_links).sum())
    assert repl > 50 and chip > 50 and vc1 > 50


@pytest.mark.slow
def test_same_logits_on_one_multicast_chip_and_on_spinnaker2_48(tmp_path):
    """ptb-egru-small-s90 on one spinnaker2 chip and on spinnaker2-48 (both multicast), layer L2 pinned to cores
    28-139: the first router row of chips (1,0)..(4,0) (28 cores each), so its trees cross chips.  Identical
    logits_sha256, bit-exact; the board reports chip-to-chip flits."""
    import json
    import subprocess
    import sys

    from nmsim.paths import models_dir, project_root

    def run(*where, out):
        cmd = [sys.executable, "-m", "nmsim", "run", "--model", models_dir() / "ptb-egru-small-s90.nmm", *where,
               "--tokens", "3", "--placement", "snake", "--no-progress", "--no-figures", "--out", out]
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900,
                           env={**os.environ, "PYTHONPATH": str(project_root())})
        assert p.returncode == 0, p.stderr
        return json.loads((out / "summary.json").read_text())

    one = run("--chip", "spinnaker2", out=tmp_path / "one")
    board = run("--system", "spinnaker2-48", "--set", "map.L2.cores=28-139", out=tmp_path / "board")
    assert one["bit_exact"] and board["bit_exact"]
    assert one["logits_sha256"] == board["logits_sha256"]
    assert board["system"]["chips"] == 48 and board["system"]["off_chip_flits"] > 0
