"""Architect control over placement: map.* caps and core sets, placement files, `nmsim map`,
and the same logits under every placement."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nmsim.describe.chip import load_chip
from nmsim.errors import MappingError
from nmsim.map.options import map_options, parse_cores
from nmsim.map.placement import place
from nmsim.map.placement_file import place_from_file
from replay_helpers import ptb_model_file
from test_mapping_balanced import _net


def _chain(n_a=8, n_b=6):
    return _net(n_a, n_b, n_in=3)


def test_parse_cores():
    assert parse_cores("0-3,6") == (0, 1, 2, 3, 6)
    assert parse_cores([5, "1-2"]) == (1, 2, 5)
    for bad, msg in (("3-1", "runs backwards"), ("a-b", "expected core indices"), ("9", "outside 0..7")):
        with pytest.raises(MappingError, match=msg):
            parse_cores(bad, 8)


def test_caps_and_core_sets_are_honoured():
    chip = load_chip("test-2x2")
    net = _chain()
    for strategy in ("snake", "balanced"):
        pl = place(chip, net, strategy, options={"A.max_neurons_per_core": 3, "A.cores": "4-7", "B.cores": "1"})
        a, b = pl.core_of["A"], pl.core_of["B"]
        assert set(a.tolist()) <= {4, 5, 6, 7} and np.bincount(a).max() <= 3
        assert set(b.tolist()) == {1}
        glob = place(chip, net, strategy, options={"max_neurons_per_core": 2})
        assert glob.neurons.max() <= 2
        assert glob.options == {"max_neurons_per_core": 2}


@pytest.mark.parametrize("settings, msg", [
    ({"A.max_neurons_per_core": 1, "A.cores": "0-3"},
     r"population 'A' \(8 neurons\) does not fit under map\.A\.max_neurons_per_core=1 and map\.A\.cores=0-3: "
     r"it needs at least 8 cores \(8 at 1 neurons per core"),
    ({"max_neurons_per_core": 1}, r"population 'B' \(6 neurons\) does not fit under map\.max_neurons_per_core=1: "
                                  r"it needs at least 6 cores"),
    ({"C.cores": "0"}, r"map\.C: unknown population 'C'; populations on cores: A, B"),
    ({"in.cores": "0"}, r"population 'in' is an input and lives on the host"),
    ({"A.colour": 1}, r"map\.A\.colour: unknown setting"),
    ({"max_neurons_per_core": 0}, r"map\.max_neurons_per_core = 0: expected a positive integer"),
])
def test_cap_errors_name_population_limit_and_need(settings, msg):
    with pytest.raises(MappingError, match=msg):
        place(load_chip("test-2x2"), _chain(), "snake", options=settings)


def test_partition_refuses_limits():
    with pytest.raises(MappingError, match="map.* limits apply to the snake and balanced"):
        place(load_chip("test-2x2"), _chain(), "partition", options={"max_neurons_per_core": 4})


def test_placement_file_toml_and_json(tmp_path):
    chip = load_chip("test-2x2")
    net = _chain()
    f = tmp_path / "p.toml"
    f.write_text('[populations]\nA = "2-3"\n[[ranges]]\npopulation = "B"\nneurons = "0-3"\ncores = 5\n'
                 '[[ranges]]\npopulation = "B"\nneurons = "4-5"\ncores = [6]\n')
    pl = place_from_file(chip, net, f)
    assert pl.core_of["A"].tolist() == [2, 2, 2, 2, 3, 3, 3, 3]  # dealt in blocks of ceil(8 / 2)
    assert pl.core_of["B"].tolist() == [5, 5, 5, 5, 6, 6]
    assert pl.strategy == "file:p.toml"
    j = tmp_path / "p.json"
    j.write_text(json.dumps({"populations": {"A": "2-3", "B": [5, 6]}}))
    assert place_from_file(chip, net, j).core_of["B"].tolist() == [5, 5, 5, 6, 6, 6]


@pytest.mark.parametrize("text, msg", [
    ('[populations]\nA = "0"\n', r"no cores given for population 'B'"),
    ('[populations]\nA = "0"\nB = "1"\nZ = "2"\n', r"unknown population 'Z'"),
    ('[populations]\nA = "0"\nB = "9"\n', r"core 9 is outside 0..7"),
    ('[populations]\nA = "0"\n[[ranges]]\npopulation = "B"\nneurons = "0-2"\ncores = 1\n',
     r"neuron 3 of population 'B' has no core \(3 neurons unplaced\)"),
    ('[populations]\nA = "0"\nB = "1"\n[[ranges]]\npopulation = "B"\nneurons = "0"\ncores = 2\n',
     r"neuron 0 of population 'B' is placed twice"),
    ('[populations]\nA = "0"\nB = "1"\nextra = [\n', r"not valid TOML"),
    ('[layout]\nA = 1\n', r"unknown key 'layout'"),
])
def test_placement_file_errors(tmp_path, text, msg):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(MappingError, match=msg):
        place_from_file(load_chip("test-2x2"), _chain(), f)


def test_placement_file_capacity_error(tmp_path):
    f = tmp_path / "full.toml"
    net = _chain(n_a=20, n_b=4)  # 140 synapses of 16 bits + 23 rows of 8 bits on one core
    f.write_text('[populations]\nA = 0\nB = 0\n')
    with pytest.raises(MappingError, match=r"core 0 holds 303 bytes of synapse memory, chip 'test-2x2' allows 256"):
        place_from_file(load_chip("test-2x2"), net, f)


def test_map_options_parse():
    o = map_options({"L1.cores": "0-15", "L1.max_neurons_per_core": 32, "calibration_tokens": 50})
    assert o.pop_cores == {"L1": "0-15"} and o.pop_max_neurons == {"L1": 32} and o.calibration_tokens == 50


@pytest.fixture(scope="module")
def synth_ptb(tmp_path_factory):
    return ptb_model_file(tmp_path_factory.mktemp("m") / "synth.nmm")


def test_same_logits_under_every_placement(synth_ptb, tmp_path):
    from nmsim.lm.golden import GoldenModel
    from nmsim.lm.modelfile import load_model
    from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, load_tokens, replay
    from nmsim.replay.outputs import run_info

    g = GoldenModel(load_model(synth_ptb))
    chip = load_replay_chip("test-2x2")
    toks, _ = load_tokens(g.mf, "ptb", "test", 12)
    f = tmp_path / "pl.toml"
    f.write_text('[populations]\nL1 = "0-1"\nL2 = "2-3"\nL3 = [4, 5]\n')
    shas = {}
    for decoder in ("host",):  # a PTB-vocabulary decoder (10,000 readout units) does not fit test-2x2
        runs = [("balanced", {}), ("snake", {}), ("partition", {}), ("snake", {"max_neurons_per_core": 3}),
                ("balanced", {"L2.cores": "6-7", "L1.max_neurons_per_core": 2})]
        if decoder == "host":
            runs.append((str(f), {}))
        for placement, ms in runs:
            m = build_replay(g, chip, placement, decoder, 0, ms, "ptb", "test")
            s = replay(ReplayConfig(chip="test-2x2", decoder=decoder), mapped=m, tokens=toks).summary
            assert s["bit_exact"]
            if placement == "balanced":  # calibrated on valid tokens, never on the replayed test split
                assert (m.calibration["dataset"], m.calibration["split"], m.calibration["count"]) == ("ptb", "valid", 200)
                info = json.loads(json.dumps(run_info(ReplayConfig(), m, None), allow_nan=False))
                assert info["mapping"]["calibration"] == m.calibration and info["config"]["placement"] == "balanced"
                assert info["mapping"]["search"]["activity"]["split"] == "valid"
                assert info["mapping"]["map_settings"] == ms
            else:
                assert m.calibration is None
            shas[(decoder, placement, str(ms))] = s["logits_sha256"]
        cores = {k: v for k, v in shas.items() if k[0] == decoder}
        assert len(set(cores.values())) == 1, cores


def _nmsim(*args):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "nmsim", *args], capture_output=True, text=True, env=env)


def test_cli_map_table_json_and_cap_error(synth_ptb):
    r = _nmsim("map", str(synth_ptb), "--chip", "test-2x2", "--decoder", "host", "--placement", "snake", "--json",
               "--set", "map.max_neurons_per_core=5")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    n = [c["neurons"] for c in out["cores"]]
    assert sum(n) == 24 and max(n) <= 5  # at most 5 per core (some cores fill their 256 bytes first)
    assert [c["core"] for c in out["cores"]] == [0, 1, 2, 3, 6, 7, 4, 5][:len(n)]  # snake order
    assert out["activity"]["split"] == "valid" and out["activity"]["count"] == 200
    assert max(c["critical_cycles"] for c in out["cores"]) + 16 <= out["predicted"]["step_cycles"]
    r = _nmsim("map", str(synth_ptb), "--chip", "test-2x2", "--decoder", "host",
               "--set", "map.L1.max_neurons_per_core=1", "--set", "map.L1.cores=0-3")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nmsim: error: population 'L1' (8 neurons) does not fit under "
                                                    "map.L1.max_neurons_per_core=1 and map.L1.cores=0-3: it needs "
                                                    "at least 8 cores")


def test_cli_run_bad_placement_file(tmp_path, synth_ptb):
    f = tmp_path / "bad.json"
    f.write_text('{"populations": {"L1": "0-1", "L9": 2}}')
    r = _nmsim("run", "--model", str(synth_ptb), "--chip", "test-2x2", "--tokens", "3", "--placement", str(f),
               "--out", str(tmp_path / "o"), "--no-progress")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown population 'L9'" in lines[0] and lines[0].startswith("nmsim: error: ")
    r = _nmsim("run", "--model", str(synth_ptb), "--chip", "test-2x2", "--set", "map.L1.size=3", "--tokens", "3")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "map.L1.size: unknown setting" in r.stderr
    for bad in ("-0.5", "lots", "nan"):
        r = _nmsim("run", "--model", str(synth_ptb), "--chip", "test-2x2", "--set", f"map.energy_budget={bad}",
                   "--tokens", "3")
        assert r.returncode == 2 and r.stderr.count("\n") == 1
        assert r.stderr.startswith("nmsim: error: map.energy_budget = ") and "expected a fraction >= 0" in r.stderr
