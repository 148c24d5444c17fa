"""Running sweeps: store, resume, export determinism, CLI errors."""

import sqlite3
import subprocess
import sys
import time

import pytest

from nmsim.cli import main
from nmsim.errors import SweepError
from nmsim.sweep import export_csv, parse_spec_text, run_sweep
from nmsim.sweep.store import ResultStore

SPEC = """
schema_version = 1
name = "small"
kind = "synthetic"
[base]
tokens = 4
neurons = 128
[grid]
cores = [4, 16]
sparsity = [0.5, 0.9, 0.99]
"""


def write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_inline_run_resume_and_export(tmp_path):
    spec = write(tmp_path, SPEC)
    out = tmp_path / "out"
    s1 = run_sweep(spec, out, workers=0)
    assert (s1.planned, s1.skipped, s1.ran, s1.failed) == (6, 0, 6, 0)
    s2 = run_sweep(spec, out, workers=0)
    assert (s2.planned, s2.skipped, s2.ran) == (6, 6, 0)
    n = export_csv(out, tmp_path / "a.csv")
    assert n == 6
    lines = (tmp_path / "a.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["config_hash", "point_index", "kind", "nmsim_version"]
    assert "cores" in header and "energy_per_token_nj" in header and "wall_s" not in header
    assert [line.split(",")[1] for line in lines[1:]] == [str(i) for i in range(6)]
    export_csv(out, tmp_path / "t.csv", with_timing=True)
    assert (tmp_path / "t.csv").read_text().splitlines()[0].endswith(",wall_s,worker,finished_at")


def test_export_identical_for_any_worker_count(tmp_path):
    spec = write(tmp_path, SPEC)
    outputs = []
    for workers in (0, 1, 2):
        out = tmp_path / f"w{workers}"
        run_sweep(spec, out, workers=workers)
        export_csv(out, tmp_path / f"w{workers}.csv")
        outputs.append((tmp_path / f"w{workers}.csv").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_partial_runs_and_extended_spec(tmp_path):
    spec = write(tmp_path, SPEC)
    out = tmp_path / "out"
    s = run_sweep(spec, out, workers=0, max_points=2)
    assert s.ran == 2
    s = run_sweep(spec, out, workers=0, max_points=1)
    assert (s.skipped, s.ran) == (2, 1)
    run_sweep(spec, out, workers=0)
    export_csv(out, tmp_path / "full.csv")
    ref = tmp_path / "ref"
    run_sweep(spec, ref, workers=0)
    export_csv(ref, tmp_path / "ref.csv")
    assert (tmp_path / "full.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    # extend the grid: the 6 finished points are found by hash, 3 new ones run
    bigger = write(tmp_path, SPEC.replace("cores = [4, 16]", "cores = [2, 4, 16]"), "bigger.toml")
    s = run_sweep(bigger, out, workers=0)
    assert (s.planned, s.skipped, s.ran) == (9, 6, 3)
    assert export_csv(out, tmp_path / "big.csv") == 9
    # shrink it again: rows are kept, only the plan's points are exported
    assert run_sweep(spec, out, workers=0).ran == 0
    assert export_csv(out, tmp_path / "again.csv") == 6
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()


def test_failed_points_are_recorded_and_retried(tmp_path, capsys):
    text = SPEC + "fail = [false, true]\n"
    spec = write(tmp_path, text)
    out = tmp_path / "out"
    rc = main(["sweep", "run", str(spec), "--out", str(out), "--workers", "0", "-q"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "point 1 failed: SweepError: synthetic point configured to fail" in err
    with ResultStore.open_existing(out) as store:
        assert len(store.rows()) == 6 and len(store.failures()) == 6
    s = run_sweep(spec, out, workers=0)
    assert (s.skipped, s.ran, s.failed) == (6, 0, 6)
    assert export_csv(out, tmp_path / "x.csv") == 6


def test_store_never_duplicates_and_locks(tmp_path):
    with ResultStore.open_for_run(tmp_path / "d") as store:
        assert store.add_result("h", "synthetic", "{}", {"m": 1.0}, "0") is True
        assert store.add_result("h", "synthetic", "{}", {"m": 2.0}, "0") is False
        with pytest.raises(SweepError, match="another nmsim sweep is running"):
            with ResultStore.open_for_run(tmp_path / "d"):
                pass
    conn = sqlite3.connect(tmp_path / "d" / "results.sqlite")
    assert conn.execute("SELECT count(*), max(metrics) FROM results").fetchone() == (1, '{"m":1.0}')
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_short_form_and_cli_actions(tmp_path, capsys):
    spec = write(tmp_path, SPEC)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "0", "-q"]) == 0
    assert "6 points, 0 already done, 6 run" in capsys.readouterr().out
    assert main(["sweep", "export", str(out), "--csv", str(tmp_path / "o.csv")]) == 0
    assert main(["sweep", "report", str(out)]) == 0
    assert (out / "report" / "report.md").is_file()


@pytest.mark.parametrize(
    "text,message",
    [
        ("schema_version = 1\nkind = [\n", "not valid TOML"),
        ('schema_version = 1\nkind = "synthetic"\n[grid]\ncores_per_router = [1, 2]\n',
         "unknown parameter 'cores_per_router'"),
        ('schema_version = 1\nkind = "replay"\n[base]\nchip = "loihi"\nmodel = "m"\ndataset = "ptb"\ntokens = 5\n'
         '"chip.timing.hop_east_wst_cycles" = 3\n', "parameter chip.timing.hop_east_wst_cycles=3: unknown key"),
    ],
)
def test_cli_input_errors_exit_2_with_one_line(tmp_path, capsys, text, message):
    spec = write(tmp_path, text)
    rc = main(["sweep", str(spec), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("nmsim: error: ") and message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_cli_missing_files(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert main(["sweep", "export", str(tmp_path), "--csv", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "is not a sweep directory" in err


def test_unreachable_scheduler_fails_fast(tmp_path, capsys):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = write(tmp_path, SPEC)
    t0 = time.monotonic()
    rc = main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}",
               "--connect-timeout", "1", "-q"])
    elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith(f"nmsim: error: cannot reach Dask scheduler at tcp://127.0.0.1:{port} within 1 s")
    assert err.count("\n") == 1
    assert elapsed < 15
    assert not (tmp_path / "out").exists()


def test_real_process_exit_status(tmp_path):
    spec = write(tmp_path, 'schema_version = 1\nkind = "synthetic"\n[grid]\nbogus = [1]\n')
    proc = subprocess.run([sys.executable, "-m", "nmsim", "sweep", str(spec), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"nmsim: error: {spec}: unknown parameter 'bogus' for point kind 'synthetic' "
        "(allowed: clock_mhz, cores, fail, fan_out, hop_cycles, hop_pj, link_width_bits, model, neurons, seed, "
        "sparsity, static_mw_per_core, synop_pj, tokens, work_ms)"
    ]


def test_local_workers_run_one_thread_each():
    import concurrent.futures as cf
    import functools
    import multiprocessing
    import os

    import numba

    from nmsim.sweep.executors import THREAD_ENV, LocalExecutor, _init_local_worker

    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_init_local_worker,
                                initargs=("synthetic", os.getpid())) as pool:
        for var in THREAD_ENV:
            assert pool.submit(functools.partial(os.getenv, var)).result() == "1"
        assert pool.submit(numba.get_num_threads).result() == 1
    before = {k: os.environ.get(k) for k in THREAD_ENV}
    ex = LocalExecutor(2)
    ex.start("synthetic")
    ex.close()
    assert {k: os.environ.get(k) for k in THREAD_ENV} == before


def test_a_bug_in_a_point_stops_the_sweep_and_keeps_rows(tmp_path):
    from nmsim.sweep.points import _KINDS, PointKind, get_kind, register_point_kind

    synthetic = get_kind("synthetic")

    def run(params):
        if params["cores"] == 16:
            raise RuntimeError("bug")
        return synthetic.run(params)

    register_point_kind(PointKind("buggy-test-kind", run=run, validate=synthetic.validate))
    try:
        spec = parse_spec_text(SPEC.replace('kind = "synthetic"', 'kind = "buggy-test-kind"'))
        with pytest.raises(RuntimeError, match="bug"):
            run_sweep(spec, tmp_path / "out", workers=0)
        with ResultStore.open_existing(tmp_path / "out") as store:
            assert len(store.rows()) == 3  # the cores = 4 points, before the first cores = 16 one
    finally:
        del _KINDS["buggy-test-kind"]


def test_scheduler_without_dask_installed(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    monkeypatch.delitem(sys.modules, "nmsim.sweep._dask", raising=False)
    spec = write(tmp_path, SPEC)
    rc = main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:8786"])
    assert rc == 2
    assert capsys.readouterr().err == (
        "nmsim: error: --scheduler needs dask.distributed: install the optional extra with "
        "pip install 'nmsim[dask]'\n"
    )


def test_sweep_package_imports_nothing_heavy():
    # workers import nmsim.sweep before they cap their thread pools
    code = ("import sys, nmsim.sweep, nmsim.sweep.executors, nmsim.commands.sweep; "
            "print(sorted(m for m in ('numpy', 'numba', 'matplotlib', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
