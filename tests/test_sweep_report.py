"""Pareto fronts and the markdown/PNG report."""

import math

import pytest

from nmsim.errors import SweepError
from nmsim.sweep import pareto_front, run_sweep, write_report
from nmsim.sweep.store import ResultStore


def brute_front(xs, ys):
    pts = [i for i in range(len(xs)) if math.isfinite(xs[i]) and math.isfinite(ys[i])]
    return sorted(
        (i for i in pts if not any(xs[j] <= xs[i] and ys[j] <= ys[i] and (xs[j] < xs[i] or ys[j] < ys[i])
                                   for j in pts)),
        key=lambda i: (xs[i], ys[i], i),
    )


def test_pareto_front_small_cases():
    assert pareto_front([], []) == []
    assert pareto_front([1.0], [1.0]) == [0]
    #      0    1    2    3    4
    xs = [1.0, 2.0, 3.0, 2.0, 0.5]
    ys = [5.0, 2.0, 1.0, 3.0, 9.0]
    assert pareto_front(xs, ys) == [4, 0, 1, 2]
    assert pareto_front([1.0, 1.0, 2.0], [1.0, 1.0, 0.5]) == [0, 1, 2]  # duplicates kept
    assert pareto_front([1.0, 1.0], [2.0, 1.0]) == [1]  # same x, larger y is dominated
    assert pareto_front([1.0, math.nan, 0.1], [1.0, 0.0, math.inf]) == [0]


def test_pareto_front_matches_brute_force():
    import random

    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 30)
        xs = [float(rng.randint(0, 8)) for _ in range(n)]
        ys = [float(rng.randint(0, 8)) for _ in range(n)]
        assert pareto_front(xs, ys) == brute_front(xs, ys)


def test_report_files(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'schema_version = 1\nname = "rep"\nkind = "synthetic"\n[base]\ntokens = 4\nneurons = 128\n'
        '[grid]\ncores = [4, 16]\nsparsity = [0.5, 0.9, 0.99]\nmodel = ["egru", "lstm"]\n'
        "fail = [false, true]\n"
    )
    out = tmp_path / "out"
    run_sweep(spec, out, workers=0)
    md = write_report(out)
    assert md == out / "report" / "report.md"
    text = md.read_text()
    for name in ("pareto_energy_latency.png", "pareto_energy_quality.png", "sensitivity.png"):
        data = (out / "report" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
        assert f"]({name})" in text
    assert "# Sweep report: rep" in text
    assert "24 planned, 12 finished, 12 failed, 0 not run" in text
    assert "| `cores` |" in text and "| `sparsity` |" in text
    assert "## Failed points" in text
    # the front in the table is really non-dominated
    with ResultStore.open_existing(out) as store:
        rows = store.rows()
    xs = [r["metrics"]["latency_per_token_us"] for r in rows]
    ys = [r["metrics"]["energy_per_token_nj"] for r in rows]
    front = pareto_front(xs, ys)
    assert f"Pareto-optimal points ({len(front)} of 12)" in text


def test_report_custom_axes_and_missing_metric(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'schema_version = 1\nkind = "synthetic"\n[base]\ntokens = 4\nneurons = 64\n[grid]\ncores = [4, 16]\n'
        '[report]\nlatency = "cycles_per_token"\nquality = "no_such_metric"\n'
    )
    run_sweep(spec, tmp_path / "out", workers=0)
    text = write_report(tmp_path / "out", tmp_path / "rep").read_text()
    assert "by `cycles_per_token`" in text
    assert "Not plotted: metric `no_such_metric` is not in the results." in text
    assert (tmp_path / "rep" / "pareto_energy_latency.png").is_file()
    assert not (tmp_path / "rep" / "pareto_energy_quality.png").exists()


def test_report_needs_finished_points(tmp_path):
    with pytest.raises(SweepError, match="not a sweep directory"):
        write_report(tmp_path)
