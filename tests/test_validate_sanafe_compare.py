"""Side by side with SANA-FE (skips where the optional ``sanafe`` package is not installed, e.g. CI)."""

from __future__ import annotations

import re
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
    # SANA-FE updates every neuron a spike reaches, even when the weights are 0 or cancel; the importer's LIF
    # neurons have update_on_event 1, so the update counts (SANA-FE's perf trace) and every energy category
    # agree with no correction
    assert (c.nm.updates == c.sf.updates).all(), (c.nm.updates, c.sf.updates)
    for cat in ("synapse", "dendrite", "soma", "network", "total"):
        assert c.nm.energy[cat] == pytest.approx(c.sf.energy[cat], rel=1e-9, abs=1e-18), cat
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


def test_random_zero_weights_and_repeated_edges(tmp_path):
    """Random integer LIF networks as a SANA-FE user writes them (zero weights, repeated edges): nmsim
    matches SANA-FE step by step on fired neurons, packets, hops, synaptic events, and energy by category."""
    pytest.importorskip("sanafe")
    mesh = sc.examples_dir() / "mesh_arch.yaml"
    for seed in (11, 12):
        snn = sc.write_random_snn(tmp_path / f"z{seed}.yaml", mesh, n_in=16, n_lif=80, density=0.07, n_steps=10,
                                  p_in=0.3, seed=seed, weights=(-3, -2, -1, 0, 1, 2, 3, 4, 5), zero_frac=0.2,
                                  dup_frac=0.1)
        c = sc.compare("z", "", mesh, snn, 10)
        assert any("weight 0" in x for x in c.notes) and any("repeat" in x for x in c.notes)
        _assert_same(c)
        assert c.nm.fired.sum() > 50
        # the rule matters here: with update_on_event 0 nmsim's LIF would count fewer active updates (neurons
        # at rest whose events sum to 0) and SANA-FE's soma energy would differ
        off = _without_update_on_event(c, mesh, snn)
        assert (off.nm.updates <= c.sf.updates).all() and off.nm.updates.sum() < c.sf.updates.sum()
        assert off.nm.energy["soma"] < c.sf.energy["soma"] * (1 - 1e-6)


def _without_update_on_event(c, arch, snn):
    """``c`` rerun with the imported LIF neurons' ``update_on_event`` set to 0 (nmsim side only)."""
    from dataclasses import replace
    from types import MappingProxyType

    from nmsim.validate.sanafe_import import import_snn

    snet = import_snn(snn, arch)
    pops = snet.network.populations
    for name, pop in list(pops.items()):
        if "update_on_event" in pop.params:
            pops[name] = replace(pop, params=MappingProxyType({**pop.params, "update_on_event": np.zeros(pop.n, np.int64)}))
    nm, _ = sc.run_nmsim(snet, c.n_steps)
    return sc.Comparison(c.name, "", c.arch, c.snn, c.n_steps, c.n_neurons, c.n_synapses, nm, c.sf, {}, [])


def test_sanafe_simple_timing_reproduced(tmp_path):
    """``timing="sanafe-simple"``: SANA-FE's analytic simple model from nmsim's counts, against SANA-FE's own
    simple model, per step (the option promises 1%; it is exact up to rounding)."""
    pytest.importorskip("sanafe")
    mesh = sc.examples_dir() / "mesh_arch.yaml"  # (SANA-FE's loihi.yaml takes it ~15 s to load: not here)
    cases = [(mesh, dict(n_in=16, n_lif=60, density=0.08, tiles=None)), (mesh, dict(n_in=8, n_lif=150,
                                                                                    density=0.03, tiles=2))]
    for i, (arch, kw) in enumerate(cases):
        snn = sc.write_random_snn(tmp_path / f"t{i}.yaml", arch, n_steps=8, p_in=0.3, seed=20 + i, zero_frac=0.1,
                                  dup_frac=0.05, **kw)
        c = sc.compare("t", "", arch, snn, 8, timing="sanafe-simple")
        assert c.detail["timing"] == "sanafe-simple"
        assert np.allclose(c.nm.step_time, c.sf.step_time, rtol=0.01, atol=0)
        assert abs(c.time_rel) <= 0.01
        assert not np.allclose(c.nm.step_time, c.detail["nmsim_step_time"], rtol=1e-3)  # a different model


def test_compare_needs_steps_without_inputs(tmp_path):
    from nmsim.validate import report

    a, n = tmp_path / "a.yaml", tmp_path / "n.yaml"
    a.write_text(report.arch_text())
    n.write_text(report.snn_text())
    with pytest.raises(ValueError, match="no input neurons"):
        sc.compare("x", "", a, n)


def test_cli_states_the_default_steps(capsys):
    pytest.importorskip("sanafe")
    from nmsim.cli import main

    ex = sc.examples_dir()
    assert main(["validate", "--sanafe", str(ex / "mesh_arch.yaml"), str(ex / "small_snn.yaml")]) == 0
    out = capsys.readouterr().out
    assert "steps: 8 (default: the longest input spike list)" in out and "time diff" in out
    assert main(["validate", "--sanafe", str(ex / "mesh_arch.yaml"), str(ex / "small_snn.yaml"), "--steps", "5",
                 "--timing", "sanafe-simple"]) == 0
    out = capsys.readouterr().out
    assert "steps: 5\n" in out and re.search(r"SANA-FE side simple; time diff [+-]0\.000%", out)
