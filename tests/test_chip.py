"""Chip descriptions: presets, sources, derived values, strict validation, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from nmsim.compile.compiled import TIMING_FIELDS
from nmsim.describe.actions import ACTIONS
from nmsim.describe.chip import ChipSpec, list_chips, load_chip
from nmsim.errors import ChipConfigError
from nmsim.paths import chips_dir

PRESETS = ("loihi", "spinnaker2", "truenorth", "test-2x2")


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nmsim", *args], capture_output=True, text=True, cwd=cwd)


# ----------------------------------------------------------------------------- presets


def test_presets_shipped():
    assert set(PRESETS) <= set(list_chips())


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_with_full_energy_table(name):
    chip = load_chip(name)
    assert isinstance(chip, ChipSpec) and chip.name == name
    assert tuple(chip.energy.pj) == ACTIONS
    assert len(chip.energy.vector_pj()) == len(ACTIONS)
    assert set(chip.timing_cycles()) == set(TIMING_FIELDS)


def _numbers_without_source(node, where=""):
    """Every int/float in a raw TOML tree that is not inside a table with a non-empty 'source'."""
    bad = []
    if isinstance(node, dict):
        sourced = isinstance(node.get("source"), str) and node["source"].strip()
        for k, v in node.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if not sourced and k != "schema_version":
                    bad.append(f"{where}{k}")
            else:
                bad += _numbers_without_source(v, f"{where}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad += _numbers_without_source(v, f"{where}{i}.")
    return bad


@pytest.mark.parametrize("path", sorted(chips_dir().glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_number_has_a_source(path):
    raw = tomllib.loads(path.read_text())
    assert _numbers_without_source(raw) == []
    resolved = load_chip(path).to_dict()
    for sec in ("clock", "mesh", "core", "noc", "timing", "barrier", "static", "energy"):
        for key, v in resolved[sec].items():
            if isinstance(v, dict):
                assert v["source"].strip(), f"{path.name}: {sec}.{key} has an empty source"


def test_loihi_values_from_davies_table_2():
    c = load_chip("loihi")
    assert c.clock.frequency_hz == 10e9
    t = c.timing
    # ns x 10 cycles/ns at the 10 GHz virtual clock
    assert (t.hop_east_west_cycles, t.hop_north_south_cycles) == (41, 65)
    assert (t.neuron_update_active_cycles, t.neuron_update_idle_cycles) == (84, 53)
    assert (t.synapse_read_cycles, t.local_delivery_cycles) == (35, 21)
    assert c.energy.pj["synaptic_op"] == 23.6
    assert (c.energy.pj["neuron_update_active"], c.energy.pj["neuron_update_idle"]) == (81.0, 52.0)
    assert (c.energy.pj["flit_hop_east_west"], c.energy.pj["flit_hop_north_south"]) == (3.0, 4.0)
    assert c.energy.pj["local_delivery"] == 1.7
    assert (c.mesh.width, c.mesh.height, c.mesh.cores_per_router, c.n_cores) == (8, 4, 4, 128)
    assert (c.core.max_neurons, c.core.synapse_memory_bytes, c.core.max_fan_in_axons) == (1024, 128 * 1024, 4096)
    # one 32-bit flit: ceil((31 + 1) / 32)
    assert c.flits_per_packet == 1
    # barrier fit: 113 ns at 0 hops, 465 ns across the 8 x 4 mesh (7 + 3 hops)
    assert c.barrier.base_cycles == 1130
    assert c.barrier_cycles == 4650
    assert c.static.core_power_mw * 128 == pytest.approx(104.0)


def test_spinnaker2_partial_last_routers():
    c = load_chip("spinnaker2")
    assert (c.n_cores, c.mesh.n_routers, c.clock.frequency_hz) == (152, 42, 300e6)
    assert c.mesh.router_of_core(151) == 37  # 38 quad-PE routers in use
    assert c.flits_per_packet == 1  # ceil((64 + 32) / 192)
    assert (c.barrier.model, c.barrier_cycles) == ("fixed", 0)
    assert c.core.synapse_memory_bytes == 96 * 1024
    assert (c.timing.hop_east_west_cycles, c.timing.hop_north_south_cycles) == (5, 5)


def test_truenorth_full_crossbar_fits():
    c = load_chip("truenorth")
    assert (c.n_cores, c.core.max_neurons, c.core.max_fan_in_axons) == (4096, 256, 256)
    # 256 x 256 synapses of (9 + 8) bits plus 256 row pointers of 17 bits
    assert c.core.synapse_memory_bytes == (256 * 256 * 17 + 256 * 17) // 8
    assert c.energy.pj["synaptic_op"] == 26.0
    # the 1 us barrier became the chip's 1 ms tick (issue 11): no barrier, a fixed 1e6 ns period
    assert c.barrier_cycles == 0 and (c.timestep.mode, c.timestep.period_ns) == ("fixed", 1e6)


def test_test_chip_derived_values():
    c = load_chip("test-2x2")
    tc = c.timing_cycles()
    assert tc["flits_per_packet"] == 2  # ceil((20 + 8) / 16)
    assert tc["barrier_cycles"] == 16  # 10 + 3 * (1 + 1)
    # one value per packet to the host (the default): a readout packet has a spike's 2 flits
    assert (tc["readout_values_per_packet"], tc["readout_flits_per_packet"]) == (1, 2)
    assert [tc[f] for f in TIMING_FIELDS] == [3, 1, 2, 4, 5, 7, 6, 8, 9, 2, 2, 1, 2, 2, 16]
    assert (c.core.weight_min, c.core.weight_max) == (-128, 127)
    assert c.mesh.io_router == 0


def test_fixed_barrier_and_partial_mesh(chip_text, write_chip):
    text = chip_text.replace('model = "mesh"\nbase_cycles = { value = 10, source = "test value" }\n'
                             'per_hop_cycles = { value = 3, source = "test value: 10 + 3 x (1 + 1) = 16 cycles" }',
                             'model = "fixed"\ncycles = { value = 12, source = "s" }')
    text = text.replace("[mesh]\n", '[mesh]\nn_cores = { value = 7, source = "s" }\n')
    c = load_chip(write_chip(text))
    assert (c.barrier_cycles, c.n_cores) == (12, 7)


def test_load_by_path_and_unknown_name(chip_text, write_chip):
    p = write_chip(chip_text, "mine")
    assert load_chip(str(p)).name == "test-2x2"
    with pytest.raises(ChipConfigError, match=r"unknown chip 'loihy'; did you mean 'loihi'\?"):
        load_chip("loihy")


def test_energy_table_path_resolves_against_the_file(chip_text, tmp_path, monkeypatch):
    head, _, energy = chip_text.partition("[energy]")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "costs.toml").write_text("schema_version = 1\n[energy]" + energy)
    (sub / "chip.toml").write_text(head.replace('schema_version = 1\n', 'schema_version = 1\nenergy_table = "costs.toml"\n'))
    monkeypatch.chdir(tmp_path)  # not the file's directory
    c = load_chip(sub / "chip.toml")
    assert c.energy.pj["barrier"] == 20.0 and c.static.core_power_mw == 1.0


# ----------------------------------------------------------------------------- malformed files

BAD = [
    ("unknown key", ("max_neurons =", "max_neuron ="), r"core\.max_neuron: unknown key; did you mean 'max_neurons'\?"),
    ("unknown table", ("[noc]", "[nock]"), r"nock: unknown key; did you mean 'noc'\?"),
    ("bool is not int", ('max_neurons = { value = 64,', 'max_neurons = { value = true,'),
     r"core\.max_neurons: expected a number, got bool"),
    ("float is not int", ('max_neurons = { value = 64,', 'max_neurons = { value = 64.0,'),
     r"core\.max_neurons: expected an integer"),
    ("string", ('width = { value = 2,', 'width = { value = "2",'), r"mesh\.width: expected a number, got str"),
    ("non-positive size", ('synapse_memory_bytes = { value = 256,', 'synapse_memory_bytes = { value = 0,'),
     r"core\.synapse_memory_bytes: must be positive, got 0"),
    ("negative cycles", ('hop_east_west_cycles = { value = 5,', 'hop_east_west_cycles = { value = -5,'),
     r"timing\.hop_east_west_cycles: must not be negative, got -5"),
    ("negative energy", ('spike = { pj = 2.0,', 'spike = { pj = -2.0,'), r"energy\.spike: must not be negative"),
    ("bare number", ('header_bits = { value = 20, source = "test value" }', 'header_bits = 20'),
     r"noc\.header_bits: number 20 has no source"),
    ("no source", ('header_bits = { value = 20, source = "test value" }', 'header_bits = { value = 20 }'),
     r"noc\.header_bits: missing source"),
    ("empty source", ('header_bits = { value = 20, source = "test value" }', 'header_bits = { value = 20, source = " " }'),
     r"noc\.header_bits: missing source"),
    ("energy source", ('barrier = { pj = 20.0, source = "test value" }', 'barrier = { pj = 20.0 }'),
     r"energy\.barrier: missing source"),
    ("missing key", ('header_bits = { value = 20, source = "test value" }\n', ''), r"noc\.header_bits: missing key"),
    ("missing energy", ('io_packet = { pj = 9.0, source = "test value" }\n', ''), r"energy\.io_packet: missing entry"),
    ("unknown action", ('spike = {', 'spikes = {'), r"energy\.spikes: unknown key; did you mean 'spike'\?"),
    ("index bits", ('synapse_index_bits = { value = 8,', 'synapse_index_bits = { value = 6,'),
     r"core\.synapse_index_bits: 6 bits address 64 targets, but max_neurons x n_accumulators = 128"),
    ("row pointer bits", ('row_pointer_bits = { value = 8,', 'row_pointer_bits = { value = 7,'),
     r"core\.row_pointer_bits: 7 bits cannot point past 128 synapses"),
    ("io router", ('io_router_x = { value = 0,', 'io_router_x = { value = 2,'), r"mesh\.io_router_x: 2 is outside the mesh"),
    ("barrier model", ('model = "mesh"', 'model = "ring"'), r"barrier\.model: unknown model 'ring'; choices: fixed, mesh"),
    ("barrier key", ('model = "mesh"', 'model = "fixed"'), r"barrier\.base_cycles: unknown key"),
    ("schema version", ("schema_version = 1", "schema_version = 2"), r"schema_version: unsupported version 2"),
    ("value typo", ('width = { value = 2,', 'width = { valu = 2,'), r"mesh\.width\.valu: unknown key; did you mean 'value'\?"),
    ("toml syntax", ("[clock]", "[clock"), r"TOML syntax error"),
]


@pytest.mark.parametrize("old_new,pattern", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_file_raises_one_line(chip_text, write_chip, old_new, pattern):
    old, new = old_new
    assert old in chip_text
    path = write_chip(chip_text.replace(old, new, 1))
    with pytest.raises(ChipConfigError, match=pattern) as exc:
        load_chip(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg


def test_missing_file():
    with pytest.raises(ChipConfigError, match="file not found"):
        load_chip("no/such/chip.toml")


# ----------------------------------------------------------------------------- CLI


def test_cli_list():
    r = run_cli("chips", "list")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert set(PRESETS) <= set(names)
    assert "8x4 mesh, 4 cores/router, 128 cores" in r.stdout


def test_cli_show_text_and_json():
    r = run_cli("chips", "show", "loihi")
    assert r.returncode == 0
    assert "hop_east_west_cycles" in r.stdout and "Davies 2018 Table 2: tile hop E-W 4.1 ns" in r.stdout
    assert "4650 cycles" in r.stdout
    j = json.loads(run_cli("chips", "show", "test-2x2", "--json").stdout)
    assert j["derived"]["flits_per_packet"] == 2 and j["derived"]["barrier_cycles"] == 16
    assert j["timing"]["hop_north_south_cycles"] == {"value": 7, "source": "test value"}
    assert j["energy"]["synaptic_op"]["pj"] == 6.0


def test_cli_bad_file_exits_2_with_one_line(chip_text, write_chip):
    bad = write_chip(chip_text.replace("max_neurons =", "max_neuron ="), "bad")
    r = run_cli("chips", "show", str(bad))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nmsim: error: ") and "core.max_neuron" in lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""
