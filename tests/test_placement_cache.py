"""The cache of ``balanced`` placements (``nmsim.replay.placement_cache``): a hit gives the outputs a fresh
placement gives, every input of the placement is in the key, and a damaged, absent or unwritable cache is a
miss, never an error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nmsim.replay import placement_cache as pc

WALL = ("sim_wall_s", "synaptic_events_per_s")


def _run(out, cache, *extra):
    from nmsim.paths import project_root

    env = {**os.environ, "NMSIM_CACHE_DIR": str(cache), "PYTHONPATH": str(project_root())}
    p = subprocess.run([sys.executable, "-m", "nmsim", "run", "--tokens", "3", "--no-progress", "--no-figures",
                        "--workers", "1", "--out", str(out), *extra], capture_output=True, text=True, env=env,
                       timeout=900)
    assert p.returncode == 0, p.stderr
    return p.stdout


def _files(out):
    s = json.loads((out / "summary.json").read_text())
    for k in WALL:
        s.pop(k)
    info = json.loads((out / "run.json").read_text())
    info.pop("command")
    return (s, info, *[(out / f).read_bytes() for f in ("tokens.csv", "steps.csv", "cores.csv", "links.csv")])


def test_a_hit_gives_the_outputs_of_a_fresh_placement(tmp_path):
    """The default run (``balanced``) placed afresh and stored, then from the cache: the same files (wall-clock
    fields aside); the stdout line says which.  (With the cache off a run places afresh exactly as the first.)"""
    first = _run(tmp_path / "a", tmp_path / "cache")
    assert f"placement cached in {tmp_path / 'cache'}" in first
    entries = list((tmp_path / "cache" / "placements").glob("*.pkl"))
    assert len(entries) == 1
    second = _run(tmp_path / "b", tmp_path / "cache")
    assert f"the placement from the cache in {tmp_path / 'cache'}" in second
    want = _files(tmp_path / "a")
    assert _files(tmp_path / "b") == want
    assert want[1]["mapping"]["placement"] == "balanced" and want[1]["mapping"]["search"]["calibration_replay"]


class _Chip:
    def __init__(self, **values):
        self.values = values

    def to_dict(self):
        return dict(self.values)

    def __repr__(self):
        return f"_Chip({sorted(self.values.items())})"


BASE = dict(model_sha256="ab" * 32, decoder="chip", chip=_Chip(cores=128, read=2), placement="balanced", seed=0,
            map_settings={}, dataset="ptb", split="test", calibration_ids=np.arange(64))


@pytest.mark.parametrize("change", [
    {"model_sha256": "cd" * 32}, {"decoder": "host"}, {"chip": _Chip(cores=128, read=3)}, {"seed": 1},
    {"map_settings": {"objective": "energy"}}, {"map_settings": {"calibration_tokens": 32}}, {"dataset": "wt2"},
    {"split": "valid"}, {"calibration_ids": np.arange(1, 65)}, {"calibration_ids": np.arange(63)},
], ids=lambda c: next(iter(c)))
def test_every_input_is_in_the_key(change):
    assert pc.placement_key(**BASE) == pc.placement_key(**BASE)
    assert pc.placement_key(**{**BASE, **change}) != pc.placement_key(**BASE)


def test_an_edited_module_or_a_new_code_fingerprint_changes_the_key(tmp_path, monkeypatch):
    """The fingerprint covers every module's bytes and path (an edit, or a new file, changes it), and the key
    follows the fingerprint."""
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("x = 1\n")
    (root / "sub" / "b.py").write_text("y = 2\n")
    f0 = pc.code_fingerprint(root)
    pc.code_fingerprint.cache_clear()
    (root / "sub" / "b.py").write_text("y = 3\n")
    f1 = pc.code_fingerprint(root)
    pc.code_fingerprint.cache_clear()
    (root / "c.py").write_text("")
    f2 = pc.code_fingerprint(root)
    pc.code_fingerprint.cache_clear()
    assert len({f0, f1, f2}) == 3
    k0 = pc.placement_key(**BASE)
    monkeypatch.setattr(pc, "code_fingerprint", lambda: "0" * 64)
    assert pc.placement_key(**BASE) != k0


@pytest.fixture(scope="module")
def placement():
    """A real placement (``snake`` of the shipped small model on loihi: no calibration needed)."""
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.map.placement import place
    from nmsim.paths import models_dir
    from nmsim.replay import load_replay_chip
    from nmsim.replay.network import build_lm_network

    golden = GoldenModel(load_model(models_dir() / "ptb-egru-small-s90.nmm"))
    return place(load_replay_chip("loihi"), build_lm_network(golden, decoder="chip").net, strategy="snake")


def _same(a, b):
    import dataclasses

    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "core_of":
            assert dict(x).keys() == dict(y).keys()
            assert all(np.array_equal(x[k], y[k]) and x[k].dtype == y[k].dtype for k in x)
        elif isinstance(x, np.ndarray):
            assert np.array_equal(x, y) and x.dtype == y.dtype, f.name
        else:
            assert x == y, f.name


def test_store_and_load_round_trip_and_a_damaged_entry_is_a_miss(tmp_path, monkeypatch, placement):
    monkeypatch.setenv(pc.CACHE_ENV, str(tmp_path / "c"))
    key = "e" * 64
    assert pc.load(key) is None
    assert pc.store(key, placement, {"count": 7})
    got, cal = pc.load(key)
    _same(got, placement)
    assert cal == {"count": 7}
    assert not [p for p in (tmp_path / "c" / "placements").iterdir() if p.name.startswith(".")]  # no temporary
    entry = tmp_path / "c" / "placements" / f"{key}.pkl"
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    assert pc.load(key) is None
    entry.write_bytes(b"not a pickle")
    assert pc.load(key) is None
    assert pc.store(key, placement, {"count": 7}) and pc.load(key) is not None  # written again
    other = tmp_path / "c" / "placements" / f"{'f' * 64}.pkl"
    shutil.copy(entry, other)  # an entry under another key's name is not that key's
    assert pc.load("f" * 64) is None


def test_off_and_unwritable_caches_are_skipped(tmp_path, monkeypatch, placement):
    monkeypatch.setenv(pc.CACHE_ENV, "off")
    assert pc.cache_root() is None and not pc.store("e" * 64, placement, None) and pc.load("e" * 64) is None
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(pc.CACHE_ENV, str(blocker / "below"))  # a path under a file cannot be created
    assert not pc.store("e" * 64, placement, None) and pc.load("e" * 64) is None
    monkeypatch.delenv(pc.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pc.cache_root() == tmp_path / "xdg" / "nmsim"
    monkeypatch.setenv(pc.CACHE_ENV, "")  # empty: as unset
    assert pc.cache_root() == tmp_path / "xdg" / "nmsim"
    monkeypatch.setenv(pc.CACHE_ENV, " OFF ")
    assert pc.cache_root() is None


def test_with_the_cache_off_balanced_places_afresh(monkeypatch):
    """``_cached_balanced`` neither reads the calibration tokens nor looks anything up when the cache is off."""
    from nmsim.replay import mapped

    monkeypatch.setenv(pc.CACHE_ENV, "off")
    monkeypatch.setattr(pc, "load", lambda key: pytest.fail("looked up"))
    assert mapped._cached_balanced(None, None, None, 0, {}, "ptb", "test", None) == (None, None, None, "off")


def test_a_model_without_a_file_hash_is_not_cached(tmp_path, monkeypatch):
    """A golden whose model file has no sha256 (not loaded from a file) places afresh, cache on or off."""
    from types import SimpleNamespace

    from nmsim.replay import mapped

    monkeypatch.setenv(pc.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(pc, "load", lambda key: pytest.fail("looked up"))
    golden = SimpleNamespace(mf=SimpleNamespace(sha256=""))
    assert mapped._cached_balanced(golden, None, None, 0, {}, "ptb", "test", None) == (None, None, None, "off")


@pytest.mark.parametrize("status,text", [
    ("hit", "; the placement from the cache in {root}"), ("stored", "; placement cached in {root}"),
    ("unwritable", "; the placement cache folder {root} could not be written"), ("off", "; placement cache off"),
    (None, ""),
])
def test_the_mapping_line_says_what_the_cache_did(tmp_path, monkeypatch, status, text):
    from nmsim.commands.run import _cache_note

    monkeypatch.setenv(pc.CACHE_ENV, str(tmp_path))
    assert _cache_note(status) == text.format(root=tmp_path)


def test_nmsim_maps_prediction_takes_the_cached_placement_and_its_own_workload(tmp_path, monkeypatch):
    """``place_lm(..., need_workload=True)`` (``nmsim map``): a miss places and stores; a hit places nothing
    (``place`` would fail) yet gives the same placement, calibration record and calibrated workload."""
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.map import placement as placement_mod
    from nmsim.replay import load_replay_chip, resolve_model_path
    from nmsim.replay.mapped import place_lm
    from nmsim.replay.network import build_lm_network

    monkeypatch.setenv(pc.CACHE_ENV, str(tmp_path))
    golden = GoldenModel(load_model(resolve_model_path("ptb-egru-small-s90")))
    lm = build_lm_network(golden, decoder="chip")
    chip = load_replay_chip("loihi", {})
    pl1, cal1, wl1 = place_lm(golden, lm, chip, "balanced", need_workload=True)
    assert len(list((tmp_path / "placements").glob("*.pkl"))) == 1
    monkeypatch.setattr(placement_mod, "place", lambda *a, **k: pytest.fail("placed again"))
    pl2, cal2, wl2 = place_lm(golden, lm, chip, "balanced", need_workload=True)
    assert cal2 == cal1 and pl2.search == pl1.search and pl2.strategy == pl1.strategy
    assert all(np.array_equal(pl1.core_of[p], pl2.core_of[p]) for p in pl1.core_of)
    assert wl2.source == wl1.source
    assert np.array_equal(wl1.rate, wl2.rate) and np.array_equal(wl1.to_host, wl2.to_host)
    assert (wl1.counts != wl2.counts).nnz == 0
