"""Every rejection of a chip description, with its exact one-line message, and the boundary value just inside
each limit (accepted).  Edits are made to chips/test-2x2.toml's text; the messages are the documented format
``<file>: <table>.<key>: <problem>``."""

from __future__ import annotations

import math
import tomllib

import pytest

from nmsim.describe.chip import load_chip, load_chip_variant, parse_chip
from nmsim.errors import ChipConfigError

TV = 'source = "test value" }'


def _edit(text, *pairs):
    if len(pairs) == 1 and isinstance(pairs[0][0], tuple):
        pairs = pairs[0]
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _fails(write_chip, text, problem):
    path = write_chip(text)
    with pytest.raises(ChipConfigError) as exc:
        load_chip(path)
    assert str(exc.value) == f"{path}: {problem}"


REJECTED = [
    # numbers
    ("bool", ("max_neurons = { value = 64,", "max_neurons = { value = true,"),
     "core.max_neurons: expected a number, got bool True"),
    ("string", ("width = { value = 2,", 'width = { value = "2",'), "mesh.width: expected a number, got str '2'"),
    ("float for int", ("max_neurons = { value = 64,", "max_neurons = { value = 64.0,"),
     "core.max_neurons: expected an integer, got 64.0"),
    ("inf", ("frequency_hz = { value = 1_000_000,", "frequency_hz = { value = inf,"),
     "clock.frequency_hz: must be finite, got inf"),
    ("nan", ("core_power_mw = { value = 1.0,", "core_power_mw = { value = nan,"),
     "static.core_power_mw: must be finite, got nan"),
    ("zero int", ("width = { value = 2,", "width = { value = 0,"), "mesh.width: must be positive, got 0"),
    ("zero num", ("frequency_hz = { value = 1_000_000,", "frequency_hz = { value = 0.0,"),
     "clock.frequency_hz: must be positive, got 0.0"),
    ("negative", ("spike_send_cycles = { value = 2,", "spike_send_cycles = { value = -1,"),
     "timing.spike_send_cycles: must not be negative, got -1"),
    ("negative num", ("core_power_mw = { value = 1.0,", "core_power_mw = { value = -0.5,"),
     "static.core_power_mw: must not be negative, got -0.5"),
    # sourced values
    ("bare number", ("header_bits = { value = 20, " + TV, "header_bits = 20"),
     'noc.header_bits: number 20 has no source; write { value = 20, source = "..." }'),
    ("bare energy", ("spike = { pj = 2.0, " + TV, "spike = 2.0"),
     'energy.spike: number 2.0 has no source; write { pj = 2.0, source = "..." }'),
    ("bare string", ("header_bits = { value = 20, " + TV, 'header_bits = "20"'),
     "noc.header_bits: expected { value = <number>, source = \"...\" }, got str '20'"),
    ("key typo", ("width = { value = 2,", "width = { valu = 2,"),
     "mesh.width.valu: unknown key; did you mean 'value'?"),
    ("odd key", ("width = { value = 2,", "width = { value = 2, zz = 1,"),
     "mesh.width.zz: unknown key; allowed: range, source, value"),
    ("no value", ("header_bits = { value = 20, " + TV, "header_bits = { " + TV),
     "noc.header_bits: missing 'value'"),
    ("no energy value", ("spike = { pj = 2.0, " + TV, "spike = { " + TV), "energy.spike: missing 'pj'"),
    ("source not a string", ("header_bits = { value = 20, " + TV, "header_bits = { value = 20, source = 3 }"),
     "noc.header_bits: missing source: every number needs a non-empty 'source' string"),
    # tables and keys
    ("missing table", ("[static]\ncore_power_mw = { value = 1.0, " + TV, ""), "static: missing table"),
    ("not a table", ("[clock]\nfrequency_hz = { value = 1_000_000, source = \"test value (1 MHz: one cycle = 1 us)\" }",
                     "clock = 5"), "clock: expected a table, got int"),
    ("unknown section key", ("max_neurons =", "max_neuronz ="),
     "core.max_neuronz: unknown key; did you mean 'max_neurons'?"),
    ("unknown top key", ("[noc]", "[nock]"), "nock: unknown key; did you mean 'noc'?"),
    ("missing key", ("header_bits = { value = 20, " + TV + "\n", ""), "noc.header_bits: missing key"),
    # top level
    ("no schema", ("schema_version = 1\n", ""), "schema_version: missing key (this nmsim reads schema_version = 1)"),
    ("bool schema", ("schema_version = 1", "schema_version = true"),
     "schema_version: unsupported version True; this nmsim reads 1"),
    ("schema 2", ("schema_version = 1", "schema_version = 2"), "schema_version: unsupported version 2; this nmsim reads 1"),
    ("name", ('name = "test-2x2"', "name = 5"), "name: expected a string, got int 5"),
    ("description", ('description = "Synthetic', 'description = 1\nx = "'), "x: unknown key; allowed: barrier, clock, "
     "core, description, energy, energy_table, mesh, name, noc, operating_point, operating_points, power, replay, "
     "schema_version, static, timestep, timing"),
    ("description type", ('description = "Synthetic 2x2 mesh, 2 cores per router, for hand-checked tests (not a real '
                          'chip)"', "description = [1]"), "description: expected a string, got list [1]"),
    # mesh
    ("too many cores", ("[mesh]\n", '[mesh]\nn_cores = { value = 9, source = "s" }\n'),
     "mesh.n_cores: 9 cores do not fit 2 x 2 routers x 2 cores = 8"),
    ("io x", ("io_router_x = { value = 0,", "io_router_x = { value = 2,"),
     "mesh.io_router_x: 2 is outside the mesh (width 2)"),
    ("io y", ("io_router_y = { value = 0,", "io_router_y = { value = 2,"),
     "mesh.io_router_y: 2 is outside the mesh (height 2)"),
    # core
    ("index bits", ("synapse_index_bits = { value = 8,", "synapse_index_bits = { value = 6,"),
     "core.synapse_index_bits: 6 bits address 64 targets, but max_neurons x n_accumulators = 128"),
    ("row pointer", ("row_pointer_bits = { value = 8,", "row_pointer_bits = { value = 7,"),
     "core.row_pointer_bits: 7 bits cannot point past 128 synapses "
     "(synapse_memory_bytes x 8 / (weight_bits + synapse_index_bits))"),
    ("accumulators", (("n_accumulators = { value = 2,", "n_accumulators = { value = 128,"),
                      ("synapse_index_bits = { value = 8,", "synapse_index_bits = { value = 13,")),
     "core.n_accumulators: at most 127 accumulators per neuron (int8 index), got 128"),
    ("weight bits", ("weight_bits = { value = 8,", "weight_bits = { value = 33,"),
     "core.weight_bits: at most 32 bits (int32 weights), got 33"),
    ("payload bits", ("payload_bits = { value = 8,", "payload_bits = { value = 64,"),
     "noc.payload_bits: at most 63 bits (int64 payloads), got 64"),
    # barrier
    ("no barrier model", ('model = "mesh"\n', ""), "barrier.model: missing key; choices: fixed, mesh"),
    ("barrier model", ('model = "mesh"', 'model = "ring"'), "barrier.model: unknown model 'ring'; choices: fixed, mesh"),
    ("barrier key", ('model = "mesh"', 'model = "fixed"'), "barrier.base_cycles: unknown key; did you mean 'cycles'?"),
    ("barrier missing", ("per_hop_cycles = { value = 3, source = \"test value: 10 + 3 x (1 + 1) = 16 cycles\" }", ""),
     "barrier.per_hop_cycles: missing key (required by model 'mesh')"),
    ("barrier value", ("base_cycles = { value = 10,", "base_cycles = { value = -10,"),
     "barrier.base_cycles: must not be negative, got -10"),
    # energy
    ("unknown action", ("spike = {", "spikes = {"), "energy.spikes: unknown key; did you mean 'spike'?"),
    ("missing action", ('io_packet = { pj = 9.0, ' + TV + "\n", ""),
     "energy.io_packet: missing entry (one { pj = ..., source = ... } per action)"),
    # replay profile
    ("replay value", ("[replay.core]\nn_accumulators = { value = 4,", "[replay.core]\nn_accumulators = { value = 0,"),
     "replay.core.n_accumulators: must be positive, got 0"),
    ("replay key", ("[replay.core]\nn_accumulators", "[replay.core]\nn_accumulatorz"),
     "replay.core.n_accumulatorz: unknown key; did you mean 'n_accumulators'?"),
    ("replay section", ("[replay.noc]", "[replay.timing]"), "replay.timing: unknown key; allowed: core, noc"),
]


@pytest.mark.parametrize("edit, problem", [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_rejected_with_its_exact_line(chip_text, write_chip, edit, problem):
    _fails(write_chip, _edit(chip_text, edit), problem)


@pytest.mark.parametrize("replay, problem", [
    (5, "replay: expected a table, got int"),
    ({"core": 5}, "replay.core: expected a table, got int"),
])
def test_replay_profile_shape(chip_text, replay, problem):
    doc = tomllib.loads(chip_text)
    doc["replay"] = replay
    with pytest.raises(ChipConfigError) as exc:
        parse_chip(doc, "x.toml")
    assert str(exc.value) == f"x.toml: {problem}"


ACCEPTED = [
    # just inside each limit
    ("width 1", ("width = { value = 2,", "width = { value = 1,"), lambda c: c.mesh.width == 1 and c.n_cores == 4),
    ("0 cycles", ("hop_east_west_cycles = { value = 5,", "hop_east_west_cycles = { value = 0,"),
     lambda c: c.timing.hop_east_west_cycles == 0),
    ("0 header bits", ("header_bits = { value = 20,", "header_bits = { value = 0,"), lambda c: c.flits_per_packet == 1),
    ("0 pJ", ("spike = { pj = 2.0,", "spike = { pj = 0.0,"), lambda c: c.energy.pj["spike"] == 0.0),
    ("1 Hz", ("frequency_hz = { value = 1_000_000,", "frequency_hz = { value = 1,"),
     lambda c: c.clock.frequency_hz == 1.0),
    ("all slots", ("[mesh]\n", '[mesh]\nn_cores = { value = 8, source = "s" }\n'), lambda c: c.n_cores == 8),
    ("io on the far corner", ("io_router_x = { value = 0,", "io_router_x = { value = 1,"),
     lambda c: c.mesh.io_router == 1),
    ("io on the top row", ("io_router_y = { value = 0,", "io_router_y = { value = 1,"),
     lambda c: c.mesh.io_router == 2),
    ("index bits exactly enough", ("synapse_index_bits = { value = 8,", "synapse_index_bits = { value = 7,"),
     lambda c: c.core.synapse_bits == 15),            # 2**7 = 128 = 64 neurons x 2 accumulators
    ("row pointer one past", ("synapse_memory_bytes = { value = 256,", "synapse_memory_bytes = { value = 254,"),
     lambda c: c.core.row_pointer_bits == 8),         # 254 x 8 / 16 = 127 synapses < 2**7 is also fine at 8 bits
    ("127 accumulators", (("n_accumulators = { value = 2,", "n_accumulators = { value = 127,"),
                          ("synapse_index_bits = { value = 8,", "synapse_index_bits = { value = 13,")),
     lambda c: c.core.n_accumulators == 127),
    ("32-bit weights", ("weight_bits = { value = 8,", "weight_bits = { value = 32,"),
     lambda c: (c.core.weight_min, c.core.weight_max) == (-2**31, 2**31 - 1)),
    ("63-bit payloads", ("payload_bits = { value = 8,", "payload_bits = { value = 63,"),
     lambda c: c.flits_per_packet == 6),              # ceil((20 + 63) / 16)
    ("padded source", ("width = { value = 2, " + TV, 'width = { value = 2, source = "  padded  " }'),
     lambda c: c.mesh.sources["width"] == "padded"),
]


@pytest.mark.parametrize("edit, check", [r[1:] for r in ACCEPTED], ids=[r[0] for r in ACCEPTED])
def test_accepted_just_inside_the_limits(chip_text, write_chip, edit, check):
    assert check(load_chip(write_chip(_edit(chip_text, edit))))


def test_number_kinds_keep_their_types(chip_text, write_chip):
    c = load_chip(write_chip(chip_text))
    assert type(c.clock.frequency_hz) is float and c.clock.frequency_hz == 1e6     # written as an integer
    assert type(c.static.core_power_mw) is float and type(c.mesh.width) is int
    assert c.name == "test-2x2" and math.isclose(c.energy.pj["local_delivery"], 0.5)


def test_name_defaults_to_the_file_stem_and_description_to_empty(chip_text, write_chip):
    text = _edit(chip_text, ('name = "test-2x2"\n', ""), ('description = "Synthetic 2x2 mesh, 2 cores per router, for '
                                                          'hand-checked tests (not a real chip)"\n', ""))
    c = load_chip(write_chip(text, "my-chip"))
    assert (c.name, c.description) == ("my-chip", "")


# ----------------------------------------------------------------------------- energy_table files


def _split(chip_text, tmp_path, energy_head="schema_version = 1\n", ref='"costs.toml"'):
    head, _, energy = chip_text.partition("[energy]")
    (tmp_path / "costs.toml").write_text(energy_head + "[energy]" + energy)
    chip = tmp_path / "chip.toml"
    chip.write_text(head.replace("schema_version = 1\n", f"schema_version = 1\nenergy_table = {ref}\n"))
    return chip, tmp_path / "costs.toml"


def _raises(path, message):
    with pytest.raises(ChipConfigError) as exc:
        load_chip(path)
    assert str(exc.value) == message


def test_energy_table_errors(chip_text, tmp_path):
    chip, costs = _split(chip_text, tmp_path, energy_head="schema_version = 2\n")
    _raises(chip, f"{costs}: schema_version: unsupported version 2; this nmsim reads 1")
    chip, costs = _split(chip_text, tmp_path, energy_head="")
    _raises(chip, f"{costs}: schema_version: unsupported version None; this nmsim reads 1")
    chip, costs = _split(chip_text, tmp_path, energy_head="schema_version = 1\nname = \"x\"\n")
    _raises(chip, f"{costs}: name: unknown key; allowed: energy, schema_version, static")
    chip, costs = _split(chip_text, tmp_path, ref="5")
    _raises(chip, f"{chip}: energy_table: expected a path string, got int 5")
    chip, costs = _split(chip_text, tmp_path, ref='"missing.toml"')
    _raises(chip, f"{tmp_path / 'missing.toml'}: file not found")
    chip, costs = _split(chip_text, tmp_path)
    chip.write_text(chip.read_text() + '\n[static]\ncore_power_mw = { value = 1.0, source = "s" }\n')
    _raises(chip, f"{chip}: static: given both inline and through energy_table; keep one")
    chip.write_text(chip_text.replace("schema_version = 1\n", 'schema_version = 1\nenergy_table = "costs.toml"\n'))
    _raises(chip, f"{chip}: energy: given both inline and through energy_table; keep one")


def test_energy_table_values_come_from_the_table_file(chip_text, tmp_path):
    chip, costs = _split(chip_text, tmp_path)
    costs.write_text(costs.read_text().replace("spike = { pj = 2.0,", "spike = { pj = 2.5,"))
    c = load_chip(chip)
    assert c.energy.pj["spike"] == 2.5 and c.static.core_power_mw == 1.0


def test_unreadable_and_unparsable_files(tmp_path):
    _raises(tmp_path, f"{tmp_path}: is a directory, not a chip file")
    bad = tmp_path / "bad.toml"
    bad.write_text("[clock")
    with pytest.raises(ChipConfigError, match=rf"^{bad}: TOML syntax error: .+"):
        load_chip(bad)


def test_parse_chip_default_path_names_the_string():
    with pytest.raises(ChipConfigError) as exc:
        parse_chip({})
    assert str(exc.value) == "<string>: schema_version: missing key (this nmsim reads schema_version = 1)"


# ----------------------------------------------------------------------------- overrides


@pytest.mark.parametrize("key", ["timing", "timing.a.b", ".spike", "energy."])
def test_override_key_shape(key):
    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant("test-2x2", overrides={key: 1})
    assert str(exc.value) == f"--set chip.{key}=1: expected chip.<table>.<key>=<value>"


@pytest.mark.parametrize("sec", ["name", "schema_version", "description", "energy_table", "replay", "bogus"])
def test_override_tables_that_cannot_be_set(sec):
    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant("test-2x2", overrides={f"{sec}.x": 1})
    assert str(exc.value).startswith(f"--set chip.{sec}.x=1: unknown key")
    if sec == "bogus":
        assert str(exc.value).endswith("; allowed: barrier, clock, core, energy, mesh, noc, operating_point, "
                                       "operating_points, power, static, timestep, timing")


def test_override_values_and_sources():
    c = load_chip_variant("test-2x2", overrides={"timing.hop_east_west_cycles": 41, "energy.spike": 2.5,
                                                 "barrier.base_cycles": 0})
    assert c.timing.hop_east_west_cycles == 41 and c.timing.sources["hop_east_west_cycles"] == "override"
    assert c.energy.pj["spike"] == 2.5 and c.energy.sources["spike"] == "override"
    assert c.barrier_cycles == 0 + 3 * 2
    with pytest.raises(ChipConfigError, match=r"^--set chip\.barrier\.model=ring: unknown model 'ring'; "
                                              r"choices: fixed, mesh$"):
        load_chip_variant("test-2x2", overrides={"barrier.model": "ring"})   # the model is a bare string


def test_override_problems_name_the_override():
    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant("test-2x2", overrides={"timing.hop_east_wes": 1}, override_option="--vary")
    assert str(exc.value) == "--vary chip.timing.hop_east_wes=1: unknown key; did you mean 'hop_east_west_cycles'?"


def test_replay_profile_replaces_core_and_noc_values():
    base, prof = load_chip("test-2x2"), load_chip_variant("test-2x2", replay_profile=True)
    assert (base.core.n_accumulators, base.noc.payload_bits) == (2, 8)
    assert (prof.core.n_accumulators, prof.noc.payload_bits) == (4, 32)
    assert prof.core.sources["n_accumulators"] == "replay profile: test value"
    assert prof.flits_per_packet == 4                     # ceil((20 + 32) / 16)
    assert load_chip_variant("test-2x2").core.n_accumulators == 2


# ----------------------------------------------------------------------------- more paths to each message


def test_messages_name_the_file_the_values_came_from(chip_text, write_chip):
    from nmsim.describe.chip import chip_path

    c = load_chip_variant("test-2x2")
    assert c.path == str(chip_path("test-2x2")) and c.to_dict()["path"] == c.path
    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant("no/such/chip.toml")
    assert str(exc.value) == "no/such/chip.toml: file not found"


def test_a_spec_built_in_code_is_checked_too():
    import dataclasses

    from nmsim.describe.chip import BarrierSpec

    c = load_chip("test-2x2")
    with pytest.raises(ChipConfigError) as exc:
        dataclasses.replace(c, barrier=BarrierSpec(model="ring"))
    assert str(exc.value) == f"{c.path}: barrier.model: unknown model 'ring'; choices: fixed, mesh"


def test_non_utf8_file(chip_text, tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(b"# \xff\n" + chip_text.encode())
    _raises(p, f"{p}: not UTF-8 text: byte 0xff at offset 2 (TOML files must be UTF-8, comments included)")


@pytest.mark.parametrize("edit, problem", [
    (('model = "mesh"', 'model = "mesh"\nzz = 1'), "barrier.zz: unknown key; allowed: base_cycles, model, per_hop_cycles"),
    (("[barrier]", "[barrierz]"), "barrierz: unknown key; did you mean 'barrier'?"),
    (("[energy]", "[energyz]"), "energyz: unknown key; did you mean 'energy'?"),
])
def test_more_rejections(chip_text, write_chip, edit, problem):
    _fails(write_chip, _edit(chip_text, edit), problem)


def test_missing_barrier_and_energy_tables(chip_text):
    for table in ("barrier", "energy"):
        doc = tomllib.loads(chip_text)
        del doc[table]
        with pytest.raises(ChipConfigError) as exc:
            parse_chip(doc, "x.toml")
        assert str(exc.value) == f"x.toml: {table}: missing table"


def test_an_explicit_core_count_keeps_its_source_and_integer_pj_become_floats(chip_text, write_chip):
    text = _edit(chip_text, ("[mesh]\n", '[mesh]\nn_cores = { value = 7, source = "seven" }\n'),
                 ("spike = { pj = 2.0,", "spike = { pj = 2,"))
    c = load_chip(write_chip(text))
    assert c.mesh.sources["n_cores"] == "seven" and c.n_cores == 7
    assert type(c.energy.pj["spike"]) is float and c.energy.pj["spike"] == 2.0
