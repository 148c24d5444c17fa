"""Side by side with SANA-FE (skips where the optional ``sanafe`` package is not installed, e.g. CI)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("yaml")

from nmsim.validate import sanafe_compare as sc  # noqa: E402


def test_study_skipped_without_sanafe(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sanafe", None)
    st = sc.run_study(tmp_path)
    assert st.skipped == "skipped: install nmsim[compare] (the optional package sanafe==2.2.9)"
    assert st.comparisons == []


def _assert_same(c):
    assert (c.nm.fired == c.sf.fired).all(), (c.nm.fired, c.sf.fired)
    assert c.nm.spikes == c.sf.spikes
    assert (c.nm.packets == c.sf.packets).all() and (c.nm.hops == c.sf.hops).all()
    assert c.nm.synaptic_events == c.sf.synaptic_events
    for cat in ("synapse", "dendrite", "network"):
        assert c.nm.energy[cat] == pytest.approx(c.sf.energy[cat], rel=1e-9, abs=1e-18), cat
    assert abs(c.energy_rel()) <= 0.02
    # the only soma-energy difference: SANA-FE updates neurons whose inputs cancel to 0
    assert (c.nm.updates + c.detail["cancelled_updates"] == c.sf.updates).all()
    extra = c.detail["cancelled_updates"].sum() * c.detail["update_pj"] * 1e-12
    assert c.sf.energy["soma"] - c.nm.energy["soma"] == pytest.approx(extra, abs=1e-15)
    assert c.ok


def test_side_by_side(tmp_path):
    pytest.importorskip("sanafe")
    ex = sc.sanafe_example_files()
    nets = [("small-chain", "", sc.examples_dir() / "mesh_arch.yaml", sc.examples_dir() / "small_snn.yaml", 10)]
    if ex is not None:  # SANA-FE's own shipped example, loaded from the installed wheel
        nets.append(("sanafe-example", "", ex[0], ex[1], 3))
    mesh = sc.examples_dir() / "mesh_arch.yaml"
    snn = sc.write_random_snn(tmp_path / "r.yaml", mesh, n_in=16, n_lif=60, density=0.08, n_steps=12, p_in=0.3,
                              seed=5)
    nets.append(("random", "", mesh, snn, 12))
    for net in nets:
        c = sc.compare(*net)
        _assert_same(c)
        assert c.nm.fired.sum() > 0
    # without its spike-out latency, SANA-FE's time for the small chain matches nmsim's (its detailed times jitter ~1%)
    c = sc.compare(*nets[0], workdir=tmp_path / "v")
    t0 = c.detail["sanafe_step_time_no_spike_out"].sum()
    assert abs(c.nm.step_time.sum() / t0 - 1) < 0.02
    assert np.all(c.nm.step_time > 0)
