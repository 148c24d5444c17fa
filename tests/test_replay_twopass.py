"""Two-pass replay (nmsim.replay.twopass): the same summary.json and tokens.csv as the one-pass engine at
any worker count, on local processes and on a Dask LocalCluster; the compressed record round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from nmsim.describe.actions import A
from nmsim.replay import twopass
from nmsim.replay.outputs import WALL_CLOCK_KEYS, strict_summary, tokens_csv
from replay_helpers import tiny_golden, tokens


def _drop_wall(d):
    if isinstance(d, dict):
        return {k: _drop_wall(v) for k, v in d.items() if k not in WALL_CLOCK_KEYS}
    return d


def _outputs(res):
    return (json.dumps(_drop_wall(strict_summary(res.summary)), sort_keys=True), tokens_csv(res.tokens_rows),
            [r for r in res.steps_rows], res.cores_rows, res.links_rows)


@pytest.fixture(scope="module")
def setup():
    g = tiny_golden("egru")
    m = build_replay(g, load_replay_chip("test-2x2"), "snake", "chip")
    return m, tokens(40)


@pytest.fixture(scope="module")
def one_pass(setup):
    m, toks = setup
    return _outputs(replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks))


@pytest.mark.parametrize("workers", [1, 2])
def test_local_workers_match_one_pass(setup, one_pass, workers, monkeypatch):
    monkeypatch.setattr(twopass, "CHUNK_STEPS", 7)  # several chunks, uneven last one
    m, toks = setup
    res = replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks, workers=workers)
    assert _outputs(res) == one_pass


def test_dask_local_cluster_matches_one_pass(setup, one_pass, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(twopass, "CHUNK_STEPS", 9)
    m, toks = setup
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        with distributed.Client(lc) as client:
            res = replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks, scheduler=client)
    assert _outputs(res) == one_pass


def test_record_round_trip(tmp_path, setup, one_pass):
    m, toks = setup
    path = tmp_path / "rec.npz"
    replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks, workers=1, record_path=path)
    rec = twopass.FunctionalRecord.load(path)
    assert rec.fired.shape[0] == len(rec.enable_id) and rec.enables.shape[1] == m.model.n_neurons
    assert set(np.unique(rec.enables).tolist()) <= {0, 1}
    # the loaded record, timed again, gives every step's cycles and packets of the one-pass engine
    chunks = list(twopass.time_steps(m.model, rec, workers=1))
    cycles = np.concatenate([c[1] for c in chunks]).tolist()
    counters = np.concatenate([c[2] for c in chunks])
    steps = one_pass[2]
    assert cycles == [r["cycles"] for r in steps]
    assert counters[:, :, A["synaptic_op"]].sum(axis=1).tolist() == [r["synaptic_ops"] for r in steps]


def test_multicast_chip_two_passes_match_one_pass(monkeypatch):
    monkeypatch.setattr(twopass, "CHUNK_STEPS", 5)
    g = tiny_golden("egru")
    over = {"noc.routing": "multicast"}
    cfg = ReplayConfig(chip="test-2x2", placement="snake", chip_overrides=over)
    m = build_replay(g, load_replay_chip("test-2x2", over), "snake", "chip")
    assert m.model.multicast
    one = _outputs(replay(cfg, mapped=m, tokens=tokens(25)))
    m2 = build_replay(g, load_replay_chip("test-2x2", over), "snake", "chip")
    assert _outputs(replay(cfg, mapped=m2, tokens=tokens(25), workers=2)) == one


def test_cli_workers_give_the_same_files(tmp_path):
    import subprocess
    import sys

    def run(*extra):
        out = tmp_path / ("w" + "-".join(extra or ("none",)))
        subprocess.run([sys.executable, "-m", "nmsim", "run", "--tokens", "30", "--no-progress", "--no-figures",
                        "--out", str(out), *extra], check=True, capture_output=True)
        s = json.loads((out / "summary.json").read_text())
        return (json.dumps(_drop_wall(s), sort_keys=True), (out / "tokens.csv").read_bytes(),
                {k: v for k, v in json.loads((out / "run.json").read_text()).items() if k != "command"},
                (out / "cores.csv").read_bytes(), (out / "steps.csv").read_bytes())

    base = run()
    assert run("--workers", "1") == base
    assert run("--workers", "2") == base
