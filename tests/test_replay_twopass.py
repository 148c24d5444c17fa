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


def test_record_file_round_trips_compressed_and_deterministic(tmp_path, monkeypatch):
    """The on-disk record gives back exactly the flags put in (packed by hand here), chunk by chunk; the same
    record gives the same bytes; sparse flags compress below their packed size; abort leaves no file."""
    monkeypatch.setattr(twopass, "CHUNK_STEPS", 7)
    rng = np.random.default_rng(3)
    S, N = 20, 37  # an uneven last chunk (20 = 7 + 7 + 6), N not a multiple of 8
    fired = (rng.random((S, N)) < 0.05).astype(np.uint8)
    active = (rng.random((S, N)) < 0.1).astype(np.uint8)
    eid = rng.integers(0, 3, S)
    enables = (rng.random((3, N)) < 0.5).astype(np.uint8)

    def write(path):
        w = twopass.RecordWriter(path, N)
        for s in range(S):
            w.put(s, fired[s], active[s], int(eid[s]))
        return w.close(enables)

    size = write(tmp_path / "a.npz")
    assert size == (tmp_path / "a.npz").stat().st_size == write(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with twopass.RecordFile(tmp_path / "a.npz") as f:
        assert (f.n_steps, f.n_neurons, f.chunk_steps) == (S, N, 7)
        assert f.bounds() == [(0, 7), (7, 14), (14, 20)]
        for lo, hi in f.bounds():
            c_lo, c_n, fb, ab, e, en = f.chunk(lo, hi)
            assert (c_lo, c_n) == (lo, N)
            for j, s in enumerate(range(lo, hi)):  # bit s of a row: MSB first, as np.packbits
                assert [(fb[j][b // 8] >> (7 - b % 8)) & 1 for b in range(N)] == fired[s].tolist()
                assert [(ab[j][b // 8] >> (7 - b % 8)) & 1 for b in range(N)] == active[s].tolist()
            assert e.tolist() == eid[lo:hi].tolist()
            assert (en == enables).all()
    mem = twopass.FunctionalRecord.load(tmp_path / "a.npz")
    assert (np.unpackbits(mem.fired, axis=1, count=N) == fired).all() and mem.enable_id.tolist() == eid.tolist()
    S2, N2 = 1024, 1000  # no activity: deflate shrinks the flags well below their packed size
    packed = 2 * S2 * (N2 // 8) + 8 * S2 + N2
    w = twopass.RecordWriter(tmp_path / "c.npz", N2, chunk_steps=512)
    for s in range(S2):
        w.put(s, np.zeros(N2, np.uint8), np.zeros(N2, np.uint8), 0)
    assert w.close(np.ones((1, N2), np.uint8)) < packed / 50
    w = twopass.RecordWriter(tmp_path / "d.npz", N)
    w.put(0, fired[0], active[0], 0)
    w.abort()
    assert not (tmp_path / "d.npz").exists()


def test_replay_removes_a_temporary_record(tmp_path, setup, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    m, toks = setup
    res = replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks, workers=1)
    assert res.functional_record["steps"] == len(res.steps_rows) and res.functional_record["bytes"] > 0
    assert list(tmp_path.iterdir()) == []
    assert replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks).functional_record is None


def test_default_workers_are_the_usable_cores(monkeypatch):
    import os

    from nmsim.cli import build_parser
    from nmsim.commands.run import timing_executor

    args = build_parser("run").parse_args(["run"])
    assert (args.workers, args.scheduler) == (None, None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert timing_executor(args) == (3, None)
    assert timing_executor(build_parser("run").parse_args(["run", "--workers", "7"])) == (7, None)


def test_cli_workers_and_dask_give_the_same_files(tmp_path):
    """``--workers 1``, the default (all usable cores), and ``--scheduler`` (a Dask cluster): the same files,
    and the same record size; the record is kept only with ``--keep-record``."""
    import logging
    import subprocess
    import sys

    runs = tmp_path / "runs"

    def run(*extra):
        out = runs / ("w" + "-".join(extra or ("none",))).replace(":", "").replace("/", "")
        p = subprocess.run([sys.executable, "-m", "nmsim", "run", "--tokens", "30", "--no-progress", "--no-figures",
                            "--out", str(out), *extra], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        s = json.loads((out / "summary.json").read_text())
        info = json.loads((out / "run.json").read_text())
        rec = info.pop("functional_record")
        kept = out / "record.npz"
        assert rec.pop("kept") == kept.exists() == ("--keep-record" in extra)
        if kept.exists():
            assert rec["bytes"] == kept.stat().st_size  # the size reported is the file's
            with twopass.RecordFile(kept) as f:
                assert f.n_steps == rec["steps"] == len((out / "steps.csv").read_text().splitlines()) - 1
        assert f"record          {rec['bytes']} bytes compressed" in p.stdout
        return (json.dumps(_drop_wall(s), sort_keys=True), (out / "tokens.csv").read_bytes(),
                {k: v for k, v in info.items() if k != "command"}, (out / "cores.csv").read_bytes(),
                (out / "steps.csv").read_bytes(), rec)

    base = run("--workers", "1")
    assert run("--keep-record") == base
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR) as lc:
        assert run("--scheduler", lc.scheduler_address) == base
    # no record left behind next to the outputs
    assert len(list(runs.iterdir())) == 3 and not [p for p in runs.iterdir() if p.name.startswith(".")]


def test_progress_covers_both_passes(setup, monkeypatch):
    """Two passes report 2 x steps in all (the functional pass's steps every 16 steps, plus the timing pass's,
    chunk by chunk, as chunks are merged beside the functional pass); one pass reports the steps once.  The
    CLI's bar shows the same count, with the pass's name."""
    import io

    from nmsim.commands.run import ProgressBar

    monkeypatch.setattr(twopass, "CHUNK_STEPS", 7)
    m, toks = setup
    calls = []
    res = replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks, workers=2,
                 progress=lambda d, t: calls.append((d, t)))
    S = len(res.steps_rows)  # 40 tokens, pipelined over host + 3 layers + readout (5 stages): 40 + 5 - 1 steps
    assert S == 44
    assert {t for _, t in calls} == {2 * S}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == 2 * S
    steps = sorted(np.diff([0] + done).tolist())
    # one call per 16 functional steps (16, 16, 12) and one per timed chunk of 7 steps (6 x 7, then 2)
    assert steps == sorted([16, 16, 12] + [7] * 6 + [2])
    one = []
    replay(ReplayConfig(chip="test-2x2", placement="snake"), mapped=m, tokens=toks, progress=lambda d, t: one.append((d, t)))
    assert one[-1] == (S, S) and {t for _, t in one} == {S}

    buf = io.StringIO()
    bar = ProgressBar("x", two_passes=True, file=buf)
    for d, t in calls:
        bar.update(d, t)
    assert (bar.bar.n, bar.bar.total) == (2 * S, 2 * S) and "timing pass" in str(bar.bar)
    bar.close()


def test_stale_records_of_killed_runs_are_removed(tmp_path):
    import os
    import subprocess
    import sys

    from nmsim.commands.run import record_tmp_path, remove_stale_records

    out = tmp_path / "run"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a process that has exited
    stale = record_tmp_path(out, int(dead))
    live = record_tmp_path(out, os.getpid())  # a run in progress (this process)
    other = tmp_path / ".run2.record-1.npz.tmp"  # another --out's
    for p in (stale, live, other):
        p.write_bytes(b"x")
    assert remove_stale_records(out) == [stale]
    assert not stale.exists() and live.exists() and other.exists()
