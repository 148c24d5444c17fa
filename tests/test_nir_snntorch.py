"""A NIR graph exported by snnTorch: nmsim's spikes against snnTorch's own simulation, on two presets."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nir", reason="needs the nir package (test extra)")
pytest.importorskip("snntorch", reason="needs snntorch==1.0.0 (test extra)")
pytest.importorskip("nirtorch", reason="snnTorch's NIR export needs nirtorch (test extra)")

from nir_helpers import export, snntorch_net, snntorch_run  # noqa: E402

from nmsim.commands.nir import simulate_snn  # noqa: E402
from nmsim.nir import import_nir  # noqa: E402

T = 60


def _run(tmp_path, beta, dt, chip, seed=0):
    net = snntorch_net(seed, beta=beta)
    export(net, 6, tmp_path / "g.nir")
    x = (np.random.default_rng(seed + 3).random((T, 6)) < 0.4).astype(np.int64)
    ref = snntorch_run(net, x)
    nm, rep = import_nir(tmp_path / "g.nir", 8, dt=dt)
    spikes, _, _, dep = simulate_snn(nm, chip, {"input": x}, T)
    return [spikes[k] for k in spikes], ref, rep, dep


def test_integer_network_identical_to_snntorch_on_two_presets(tmp_path):
    """beta = 1 (IF dynamics), integer weights, biases and thresholds: exactly representable."""
    a, ref, rep, dep = _run(tmp_path, 1.0, None, "loihi")
    b, _, _, _ = _run(tmp_path, 1.0, None, "spinnaker2")
    assert rep.exact and all(p["scale"] == 1.0 for p in rep.populations)
    assert list(dep.values()) == [0, 1, 2]
    assert sum(int(s.sum()) for s in ref) > 50  # the network is active
    for mine, theirs, other in zip(a, ref, b):
        assert np.array_equal(mine, theirs)
        assert np.array_equal(mine, other)


def test_half_leak_integer_dynamics_identical(tmp_path):
    """beta = 0.5 exported with dt = 1e-4: decay 2048 at scale 16; these spikes agree exactly."""
    a, ref, rep, _ = _run(tmp_path, 0.5, 1e-4, "test-2x2")
    assert all(p["scale"] == 16.0 and p["max_decay_error"] == 0 for p in rep.populations)
    for mine, theirs in zip(a, ref):
        assert np.array_equal(mine, theirs)


def test_non_representable_leak_within_documented_tolerance(tmp_path):
    """beta = 0.9: the leak is rounded (floor of v*decay/4096 per step, docs/nir.md §Tolerance);
    documented tolerance: >= 98% of (step, neuron) spike entries agree."""
    a, ref, rep, _ = _run(tmp_path, 0.9, 1e-4, "loihi")
    assert not rep.exact
    for mine, theirs in zip(a, ref):
        assert (mine == theirs).mean() >= 0.98
