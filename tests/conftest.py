"""Shared fixtures for the describe/map/compile tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nmsim.describe.neuron_models import NeuronModel, _REGISTRY, register_model
from nmsim.paths import chips_dir

_CACHE_TMP = None


def pytest_configure(config):
    """One placement cache for the session (``nmsim.replay.placement_cache``), empty at its start and removed
    at its end; the runs the tests start inherit it.  A run's outputs do not depend on it."""
    import os
    import tempfile

    global _CACHE_TMP
    if "NMSIM_CACHE_DIR" not in os.environ:
        _CACHE_TMP = tempfile.TemporaryDirectory(prefix="nmsim-test-cache-")
        os.environ["NMSIM_CACHE_DIR"] = _CACHE_TMP.name


def pytest_unconfigure(config):
    import os

    global _CACHE_TMP
    if _CACHE_TMP is not None:
        os.environ.pop("NMSIM_CACHE_DIR", None)
        _CACHE_TMP.cleanup()
        _CACHE_TMP = None


@pytest.fixture
def chip_text() -> str:
    """The text of ``chips/test-2x2.toml`` (to edit into malformed variants)."""
    return (chips_dir() / "test-2x2.toml").read_text()


@pytest.fixture
def write_chip(tmp_path: Path):
    """Write TOML text to ``tmp_path/<name>.toml`` and return its path."""

    def _write(text: str, name: str = "chip") -> Path:
        p = tmp_path / f"{name}.toml"
        p.write_text(text)
        return p

    return _write


def _relay_update(param, state, acc):
    """Test model: fires with payload = sum of its accumulators when that sum exceeds param 0."""
    total = acc.sum(axis=1)
    fired = total > param[:, 0]
    return fired, np.where(fired, total, 0), state, total != 0


@pytest.fixture(scope="session")
def relay_model() -> NeuronModel:
    """A registered 3-input test model (id 99), to show models plug in without mapper edits."""
    if "test-relay" in _REGISTRY:
        return _REGISTRY["test-relay"]
    return register_model(NeuronModel(name="test-relay", model_id=99, params=("floor", "tag"), state=("n",),
                                      defaults={"tag": 7, "n_init": 0}, n_inputs=3, host=False,
                                      update=_relay_update))
