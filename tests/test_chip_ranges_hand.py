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
