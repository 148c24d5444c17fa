"""Sweep files: parsing, validation, expansion and config hashes."""

import hashlib

import pytest

from nmsim.errors import SweepError
from nmsim.sweep import canonical_json, config_hash, parse_spec_text, validate_point_params
from nmsim.sweep.points import SYNTHETIC_PARAMS, get_kind, run_point

SPEC = """
schema_version = 1
name = "t"
kind = "synthetic"
[base]
tokens = 4
neurons = 64
[grid]
cores = [4, 16]
sparsity = [0.5, 0.9, 0.99]
[[zip]]
link_width_bits = [16, 64]
hop_pj = [2.0, 6.0]
"""


def test_expansion_order_and_count():
    spec = parse_spec_text(SPEC)
    pts = spec.expand()
    assert len(pts) == spec.n_points() == 12
    assert [p.index for p in pts] == list(range(12))
    # axes: [[zip]] first, then [grid] keys in file order; the last varies fastest
    combos = [(p.params["link_width_bits"], p.params["cores"], p.params["sparsity"]) for p in pts]
    assert combos[:4] == [(16, 4, 0.5), (16, 4, 0.9), (16, 4, 0.99), (16, 16, 0.5)]
    assert all(p.params["hop_pj"] == {16: 2.0, 64: 6.0}[p.params["link_width_bits"]] for p in pts)
    assert len({p.config_hash for p in pts}) == 12
    # defaults of the kind are filled in (the resolved configuration is what is hashed)
    assert set(pts[0].params) == set(SYNTHETIC_PARAMS)
    assert spec.varied_keys() == ["link_width_bits", "hop_pj", "cores", "sparsity"]


def test_config_hash_is_sha256_of_canonical_json():
    cfg = {"params": {"b": [1.5, "x", True], "a": 1}, "kind": "synthetic"}
    text = canonical_json(cfg)
    assert text == '{"kind":"synthetic","params":{"a":1,"b":[1.5,"x",true]}}'
    assert config_hash(cfg) == hashlib.sha256(text.encode()).hexdigest()
    # pinned: a change of canonicalisation would orphan every stored result
    assert config_hash(cfg) == "6cc0cc4153b1cb6a7a10d3cb68c5b78b38d494e379b2235f5f72f637f1a0fba4"


def test_hash_independent_of_key_order_and_spelling():
    a = parse_spec_text('schema_version = 1\nkind = "synthetic"\n[base]\ncores = 4\nclock_mhz = 500\n').expand()
    b = parse_spec_text('schema_version = 1\nkind = "synthetic"\n[base]\nclock_mhz = 500.0\ncores = 4\n').expand()
    assert a[0].config_hash == b[0].config_hash  # float-valued parameters are normalised


def test_dotted_keys_quoted_or_nested_are_the_same():
    quoted = parse_spec_text(
        'schema_version = 1\nkind = "replay"\n[base]\nchip = "loihi"\nmodel = "m"\ndataset = "ptb"\ntokens = 5\n'
        '[grid]\n"chip.timing.hop_east_west_cycles" = [20, 41]\n'
    )
    nested = parse_spec_text(
        'schema_version = 1\nkind = "replay"\n[base]\nchip = "loihi"\nmodel = "m"\ndataset = "ptb"\ntokens = 5\n'
        '[grid.chip.timing]\nhop_east_west_cycles = [20, 41]\n'
    )
    assert [p.config_hash for p in quoted.expand()] == [p.config_hash for p in nested.expand()]
    assert quoted.expand()[1].params["chip.timing.hop_east_west_cycles"] == 41


def test_explicit_points_axis():
    spec = parse_spec_text(
        'schema_version = 1\nkind = "synthetic"\n[[points]]\ncores = 4\n[[points]]\ncores = 8\nseed = 3\n'
        "[grid]\nsparsity = [0.5, 0.9]\n"
    )
    pts = spec.expand()
    assert [(p.params["cores"], p.params["seed"], p.params["sparsity"]) for p in pts] == [
        (4, 0, 0.5), (4, 0, 0.9), (8, 3, 0.5), (8, 3, 0.9)]


def test_no_axes_is_one_point():
    pts = parse_spec_text('schema_version = 1\nkind = "synthetic"\n').expand()
    assert len(pts) == 1 and pts[0].params == validate_point_params("synthetic", {})


BAD = [
    ("schema_version = 1\nkind = \n", "not valid TOML"),
    ('kind = "synthetic"\n', "missing 'schema_version'"),
    ('schema_version = 2\nkind = "synthetic"\n', "schema_version 2 is not supported"),
    ('schema_version = 1\nkind = "nope"\n', "unknown point kind 'nope'"),
    ('schema_version = 1\nkind = "synthetic"\ngird = 3\n', "unknown key 'gird'"),
    ('schema_version = 1\nkind = "synthetic"\n[grid]\ncores = []\n', "'cores' is an empty array"),
    ('schema_version = 1\nkind = "synthetic"\n[grid]\ncores = 4\n', "must be an array"),
    ('schema_version = 1\nkind = "synthetic"\n[grid]\ncores = [4, 4]\n', "lists a value twice"),
    ('schema_version = 1\nkind = "synthetic"\n[base]\ncores = 4\n[grid]\ncores = [4, 8]\n',
     "set in both [base] and [grid]"),
    ('schema_version = 1\nkind = "synthetic"\n[[zip]]\ncores = [4, 8]\nseed = [1]\n', "same length"),
    ('schema_version = 1\nkind = "synthetic"\n[base]\nsparsity = nan\n', "only finite numbers"),
    ('schema_version = 1\nkind = "synthetic"\n[base]\nconfig_hash = "x"\n', "reserved column name"),
    ('schema_version = 1\nkind = "synthetic"\n[base]\nwhen = 2024-01-01\n', "date/time"),
    ('schema_version = 1\nkind = "synthetic"\n[report]\nenergy = 3\n', "must name a metric"),
    ('schema_version = 1\nkind = "synthetic"\n[grid]\ncores_per_router = [1, 2]\n',
     "unknown parameter 'cores_per_router' for point kind 'synthetic' (allowed: clock_mhz, cores,"),
    ('schema_version = 1\nkind = "synthetic"\n[grid]\ncores = [4, 0]\n', "parameter 'cores' = 0 is invalid"),
    ('schema_version = 1\nkind = "synthetic"\n[grid]\nmodel = ["egru", 3]\n', "parameter 'model' = 3 is invalid"),
    ('schema_version = 1\nkind = "replay"\n[base]\nchip = "loihi"\nmodel = "m"\ndataset = "ptb"\ntokens = 5\n'
     "sparsity = 0.9\n", "unknown parameter 'sparsity' for point kind 'replay' (allowed: chip, model,"),
    ('schema_version = 1\nkind = "replay"\n[base]\nchip = "loihi"\n', "needs parameter(s) model, dataset, tokens"),
    ('schema_version = 1\nkind = "synthetic"\n[[points]]\ncores = 4\n[[points]]\ncores = 4\n',
     "points 0 and 1 have the same configuration"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_bad_specs_raise_one_line(text, message):
    with pytest.raises(SweepError) as err:
        parse_spec_text(text, source="bad.toml").expand()
    msg = str(err.value)
    assert message in msg
    assert msg.startswith("bad.toml")
    assert "\n" not in msg


def test_replay_kind_is_available_and_checks_its_parameters():
    kind = get_kind("replay")
    with pytest.raises(SweepError, match=r"needs parameter\(s\) model, dataset, tokens"):
        run_point({"kind": "replay", "params": {"chip": "loihi"}})
    with pytest.raises(SweepError, match=r"parameter chip\.noc\.hop_east_west_cycles=41: unknown key"):
        kind.validate({"chip": "loihi", "model": "m", "dataset": "ptb", "tokens": 5,
                       "chip.noc.hop_east_west_cycles": 41})


def test_synthetic_point_is_deterministic():
    cfg = {"kind": "synthetic", "params": validate_point_params("synthetic", {"tokens": 8, "neurons": 256})}
    a, b = run_point(cfg), run_point(dict(cfg))
    assert a == b
    assert list(a) == sorted(a)
    for name in ("energy_per_token_nj", "latency_per_token_us", "perplexity"):
        assert isinstance(a[name], float) and a[name] > 0


def test_shipped_examples_and_doc_spec_are_valid():
    import re
    from pathlib import Path

    from nmsim.sweep import load_spec

    root = Path(__file__).resolve().parents[1]
    quick = load_spec(root / "examples" / "sweeps" / "quick.toml")
    assert quick.kind == "replay" and len(quick.expand()) <= 8
    synthetic = load_spec(root / "examples" / "sweeps" / "synthetic.toml")
    assert synthetic.kind == "synthetic" and len(synthetic.expand()) == 36
    doc = (root / "docs" / "sweeps.md").read_text()
    block = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    assert len(parse_spec_text(block).expand()) == 2 * 3 * 2 * 2
