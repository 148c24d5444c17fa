"""The same sweep on a real dask.distributed LocalCluster gives the same rows."""

import logging

import pytest

from nmsim.sweep import export_csv, run_sweep
from nmsim.sweep.store import ResultStore

distributed = pytest.importorskip("distributed")

SPEC = """
schema_version = 1
name = "dask"
kind = "synthetic"
[base]
tokens = 4
neurons = 128
work_ms = 20
[grid]
cores = [4, 16]
sparsity = [0.5, 0.9, 0.99]
[[zip]]
link_width_bits = [16, 64]
hop_pj = [2.0, 6.0]
"""


@pytest.mark.slow
def test_dask_local_cluster_matches_local_executor(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        summary = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
        assert (summary.planned, summary.ran, summary.failed) == (12, 12, 0)
        assert "2 workers, 2 threads" in summary.executor
        # resuming on the cluster finds everything done
        assert run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address).ran == 0
    run_sweep(spec, tmp_path / "local", workers=2)
    export_csv(tmp_path / "dask", tmp_path / "dask.csv")
    export_csv(tmp_path / "local", tmp_path / "local.csv")
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    with ResultStore.open_existing(tmp_path / "dask") as store:
        rows = store.rows()
    # points really ran in the cluster's worker processes (two of them)
    assert len({r["worker"] for r in rows}) == 2
