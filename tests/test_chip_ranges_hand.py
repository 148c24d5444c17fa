"""A chip value's optional ``range = [lo, hi]``: the bounds are inclusive, and each bad range is one line
naming the file, the ``table.key`` and the problem (exact messages; test-2x2's synapse_read_cycles = 4)."""

from __future__ import annotations

import tomllib

import pytest

from nmsim.describe.chip import parse_chip
from nmsim.errors import ChipConfigError
from nmsim.paths import chips_dir

WHERE = "<string>: timing.synapse_read_cycles"


def _doc(rng):
    doc = tomllib.loads((chips_dir() / "test-2x2.toml").read_text())
    doc["timing"]["synapse_read_cycles"] = {"value": 4, "range": rng, "source": "assumption: test"}
    return doc


def test_range_bounds_are_inclusive():
    for rng in ([4, 6], [2, 4], [4, 4]):
        assert parse_chip(_doc(rng)).timing.synapse_read_cycles == 4


@pytest.mark.parametrize("rng, message", [
    ([5, 6], f"{WHERE}: range [5, 6] must hold the value 4 (lo <= value <= hi)"),
    ([1, 3], f"{WHERE}: range [1, 3] must hold the value 4 (lo <= value <= hi)"),
    ([2], f"{WHERE}: range must be [lo, hi], got [2]"),
    ("ab", f"{WHERE}: range must be [lo, hi], got 'ab'"),
    ([2, 4, 6], f"{WHERE}: range must be [lo, hi], got [2, 4, 6]"),
    ([2, "x"], f"{WHERE}.range: expected a number, got str 'x'"),
    ([2.5, 6], f"{WHERE}.range: expected an integer, got 2.5"),
])
def test_bad_ranges_are_one_exact_line(rng, message):
    with pytest.raises(ChipConfigError) as exc:
        parse_chip(_doc(rng))
    assert str(exc.value) == message


def _base():
    return tomllib.loads((chips_dir() / "test-2x2.toml").read_text())


def test_missing_keys_and_tables_are_one_exact_line():
    doc = _base()
    del doc["timing"]["synapse_read_cycles"]
    with pytest.raises(ChipConfigError) as exc:
        parse_chip(doc)
    assert str(exc.value) == "<string>: timing.synapse_read_cycles: missing key"
    doc = _base()
    del doc["noc"]
    with pytest.raises(ChipConfigError) as exc:
        parse_chip(doc)
    assert str(exc.value) == "<string>: noc: missing table"


def test_optional_noc_keys_take_their_default_sources():
    """test-2x2 states neither noc.routing nor noc.routing_table_entries: unicast, no table limit."""
    chip = parse_chip(_base())
    assert chip.noc.routing == "unicast" and chip.noc.routing_table_entries == 0
    assert chip.noc.sources["routing"] == "default: unicast (no noc.routing in the chip file)"
    assert chip.noc.sources["routing_table_entries"] == \
        "default: 0 = no limit (no noc.routing_table_entries in the chip file)"
    assert chip.noc.sources["link_width_bits"] == "test value"


def _refusal(overrides, **kw):
    from nmsim.describe.chip import load_chip_variant

    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant("test-2x2", overrides=overrides, **kw)
    return exc.value


def test_a_bad_override_is_blamed_on_the_override():
    e = _refusal({"timing.synapse_read_cycles": -1})
    assert str(e) == "--set chip.timing.synapse_read_cycles=-1: must not be negative, got -1"
    assert (e.where, e.problem) == ("timing.synapse_read_cycles", "must not be negative, got -1")
    e = _refusal({"timing.synapse_read_cycles": -1}, override_option="--chip-set")
    assert str(e) == "--chip-set chip.timing.synapse_read_cycles=-1: must not be negative, got -1"


def test_a_problem_in_an_overridden_table_names_the_override_and_the_key():
    """Setting one power-state key makes the [power] table incomplete: the missing key is named, blamed on
    the override that created the table."""
    e = _refusal({"power.idle_core_mw": 0.1})
    # the choices of power.unused_cores (docs/power-and-time.md): on, gated
    assert str(e) == "--set chip.power.idle_core_mw=0.1: power.unused_cores: missing key; choices: on, gated"
    assert (e.where, e.problem) == ("power.unused_cores", "missing key; choices: on, gated")


def test_an_override_of_an_unknown_table_names_the_closest():
    e = _refusal({"timin.x": 1})
    assert str(e) == "--set chip.timin.x=1: unknown key; did you mean 'timing'?"
    for key in ("replay.x", "name.x"):         # not tables an override may set
        assert str(_refusal({key: 1})).startswith(f"--set chip.{key}=1: unknown key")
    assert str(_refusal({"timing": 1})) == "--set chip.timing=1: expected chip.<table>.<key>=<value>"


def test_the_operating_point_override_and_others_together():
    """'low' (chips/test-2x2.toml): 500 kHz, dynamic energy x 0.25; a second override still applies."""
    from nmsim.describe.chip import load_chip_variant

    c = load_chip_variant("test-2x2", overrides={"operating_point": "low", "timing.synapse_read_cycles": 5})
    assert c.clock.frequency_hz == 500_000 and c.timing.synapse_read_cycles == 5
    assert c.energy.pj["neuron_update_active"] == 2.5
    e = _refusal({"operating_point": "mid"})
    assert str(e).startswith("--set chip.operating_point=mid: ") and "unknown point 'mid'" in str(e)


def test_the_replay_profile_replaces_values_and_says_so():
    """test-2x2's [replay]: core.n_accumulators 4, noc.payload_bits 32 (both 'test value')."""
    from nmsim.describe.chip import load_chip_variant

    c = load_chip_variant("test-2x2", replay_profile=True)
    assert c.core.n_accumulators == 4 and c.noc.payload_bits == 32
    assert c.core.sources["n_accumulators"] == "replay profile: test value"
    assert c.core.sources["max_neurons"] == "test value"
    plain = load_chip_variant("test-2x2")
    assert plain.core.n_accumulators == 2 and plain.noc.payload_bits == 8


def test_every_construction_is_checked_with_exact_messages():
    """``ChipSpec`` re-checks a chip built with ``dataclasses.replace`` (no parser): value kinds, the energy
    table, the routing choice, the engine limits; each refusal is ``<path>: <table>.<key>: <problem>``."""
    import dataclasses
    from types import MappingProxyType

    from nmsim.describe.chip import load_chip

    c = load_chip("test-2x2")
    p = c.path

    def refusal(**changes):
        with pytest.raises(ChipConfigError) as exc:
            dataclasses.replace(c, **changes)
        return str(exc.value)

    assert refusal(timing=dataclasses.replace(c.timing, synapse_read_cycles=-1)) == \
        f"{p}: timing.synapse_read_cycles: must not be negative, got -1"
    pj = dict(c.energy.pj)
    no_spike = {k: v for k, v in pj.items() if k not in ("spike", "synaptic_op")}
    assert refusal(energy=dataclasses.replace(c.energy, pj=MappingProxyType(no_spike))) == \
        f"{p}: energy.spike: missing entry (one {{ pj = ..., source = ... }} per action)"
    assert refusal(energy=dataclasses.replace(c.energy, pj=MappingProxyType({**pj, "spike": -1.0}))) == \
        f"{p}: energy.spike: must not be negative, got -1.0"
    # flit_hop_chip has a default (0 pJ on one chip): a table without it is complete
    no_chip_hop = {k: v for k, v in pj.items() if k != "flit_hop_chip"}
    bare = dataclasses.replace(c, energy=dataclasses.replace(
        c.energy, pj=MappingProxyType(no_chip_hop),
        sources=MappingProxyType({k: v for k, v in c.energy.sources.items() if k != "flit_hop_chip"})))
    assert bare.energy.vector_pj()[-1] == 0.0 and bare.energy.vector_pj()[:-1] == tuple(no_chip_hop.values())
    from nmsim.describe.actions import DEFAULT_PJ
    assert bare.to_dict()["energy"]["flit_hop_chip"]["source"] == DEFAULT_PJ["flit_hop_chip"][1]
    assert DEFAULT_PJ["flit_hop_chip"][1].startswith("default: a single chip has no chip-to-chip links")
    assert refusal(noc=dataclasses.replace(c.noc, routing="broadcast")) == \
        f"{p}: noc.routing: unknown value 'broadcast'; choices: unicast, multicast"
    assert refusal(mesh=dataclasses.replace(c.mesh, io_router_x=2)) == \
        f"{p}: mesh.io_router_x: 2 is outside the mesh (width 2)"


def test_engine_limits_are_checked_on_every_construction():
    """A 300 x 300 mesh keeping test-2x2's 8 cores: 4 x 90000 router ports + 2 x (8 + 1) core links = 360018
    link ids, past the engine's 16-bit ids."""
    import dataclasses

    from nmsim.describe.chip import ChipValueError, load_chip

    c = load_chip("test-2x2")
    with pytest.raises(ChipValueError) as exc:
        dataclasses.replace(c, mesh=dataclasses.replace(c.mesh, width=300, height=300))
    problem = ("300 x 300 routers with 8 cores make 360018 links (4 x routers + 2 x (cores + 1)); "
               "the engine packs link ids in 16 bits (must be < 65535)")
    assert (exc.value.where, exc.value.problem) == ("mesh", problem)
    assert str(exc.value) == f"{c.path}: mesh: {problem}"


def test_two_overrides_of_one_table_are_both_named():
    e = _refusal({"power.idle_core_mw": 0.1, "power.gated_core_mw": 0.05})
    assert str(e) == ("--set chip.power.idle_core_mw=0.1 --set chip.power.gated_core_mw=0.05: "
                      "power.unused_cores: missing key; choices: on, gated")


def test_a_bad_replay_profile_is_one_error_not_a_crash(tmp_path):
    """A bare number in ``[replay.core]`` and a ``[replay.power]`` table (not a section a profile may set, and
    absent from test-2x2) are refused by the profile check, whether or not the profile is applied."""
    from nmsim.describe.chip import load_chip_variant

    text = (chips_dir() / "test-2x2.toml").read_text()
    bare = tmp_path / "bare.toml"
    bare.write_text(text.replace('n_accumulators = { value = 4, source = "test value" }', "n_accumulators = 4"))
    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant(bare, replay_profile=True)
    assert str(exc.value) == (f"{bare}: replay.core.n_accumulators: number 4 has no source; "
                              'write { value = 4, source = "..." }')
    power = tmp_path / "power.toml"
    power.write_text(text + '\n[replay.power]\nidle_core_mw = { value = 1.0, source = "x" }\n')
    with pytest.raises(ChipConfigError) as exc:
        load_chip_variant(power, replay_profile=True)
    assert str(exc.value).startswith(f"{power}: replay.power")
