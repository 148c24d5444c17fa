"""A sweep killed with SIGKILL half way resumes with no point lost or duplicated."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from nmsim.sweep import export_csv, run_sweep

N = 16
SPEC = f"""
schema_version = 1
name = "killme"
kind = "synthetic"
[base]
tokens = 4
neurons = 128
work_ms = 100
[grid]
cores = [2, 4, 8, 16]
seed = [1, 2, 3, 4]
"""


def count_rows(db):
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM results").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def sweep_cmd(spec, out):
    return [sys.executable, "-m", "nmsim", "sweep", "run", str(spec), "--out", str(out), "--workers", "2", "-q"]


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    db = out / "results.sqlite"
    proc = subprocess.Popen(sweep_cmd(spec, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    workers = []
    try:
        deadline = time.monotonic() + 90
        while count_rows(db) < 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "sweep made no progress"
            time.sleep(0.05)
        try:
            import psutil

            workers = psutil.Process(proc.pid).children(recursive=True)
        except ImportError:  # pragma: no cover - psutil is in the test extra
            pass
        os.kill(proc.pid, signal.SIGKILL)  # the driver only; its workers must notice and exit
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # orphaned workers exit on their own (they watch their parent)
        deadline = time.monotonic() + 15
        while any(w.is_running() and w.status() != "zombie" for w in workers):
            assert time.monotonic() < deadline, "worker processes outlived the killed driver"
            time.sleep(0.1)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # clean up whatever is left
        except ProcessLookupError:
            pass
        proc.communicate()

    done = count_rows(db)
    assert 4 <= done < N, f"kill did not land half way ({done} of {N})"

    again = subprocess.run(sweep_cmd(spec, out), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{N} points, {done} already done, {N - done} run, 0 failed" in again.stdout

    conn = sqlite3.connect(db)
    total, distinct = conn.execute("SELECT count(*), count(DISTINCT config_hash) FROM results").fetchone()
    conn.close()
    assert total == distinct == N

    # identical values to an uninterrupted run
    ref = tmp_path / "ref"
    run_sweep(spec, ref, workers=0)
    export_csv(out, tmp_path / "resumed.csv")
    export_csv(ref, tmp_path / "ref.csv")
    assert (tmp_path / "resumed.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    assert len((tmp_path / "ref.csv").read_text().splitlines()) == N + 1
