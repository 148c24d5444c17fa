"""A resolved chip: its derived values on a non-square mesh, ``to_dict`` of test-2x2 written out by hand, the
source bookkeeping, and how preset names resolve to files."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from nmsim.describe.actions import ACTIONS
from nmsim.describe.chip import (BarrierSpec, ClockSpec, MeshSpec, NocSpec, chip_path, list_chips, load_chip)
from nmsim.errors import ChipConfigError


def test_mesh_numbering_on_a_3x2_mesh():
    m = MeshSpec(width=3, height=2, cores_per_router=4, io_router_x=2, io_router_y=1, n_cores=24)
    assert m.n_routers == 6
    assert m.io_router == 5                    # y * width + x = 1 * 3 + 2
    assert [m.router_of_core(c) for c in (0, 3, 4, 23)] == [0, 0, 1, 5]
    assert [m.router_xy(r) for r in (0, 2, 3, 5)] == [(0, 0), (2, 0), (0, 1), (2, 1)]


def test_flits_round_up_only_when_needed():
    assert NocSpec(link_width_bits=16, header_bits=16, payload_bits=16, router_buffer_packets=1).flits_per_packet == 2
    assert NocSpec(link_width_bits=16, header_bits=16, payload_bits=17, router_buffer_packets=1).flits_per_packet == 3
    assert NocSpec(link_width_bits=64, header_bits=0, payload_bits=1, router_buffer_packets=1).flits_per_packet == 1


def test_barrier_models():
    m = MeshSpec(width=3, height=2, cores_per_router=1, io_router_x=0, io_router_y=0, n_cores=6)
    assert BarrierSpec(model="mesh", base_cycles=10, per_hop_cycles=4).resolve_cycles(m) == 10 + 4 * (2 + 1)
    assert BarrierSpec(model="fixed", cycles=7, base_cycles=10, per_hop_cycles=4).resolve_cycles(m) == 7


def test_sources_are_bookkeeping_not_identity():
    a = ClockSpec(frequency_hz=1e6, sources=MappingProxyType({"frequency_hz": "paper A"}))
    b = ClockSpec(frequency_hz=1e6, sources=MappingProxyType({"frequency_hz": "paper B"}))
    assert a == b                                   # same chip, whatever the citation
    assert repr(a) == "ClockSpec(frequency_hz=1000000.0)"
    plain = ClockSpec(frequency_hz=2.0)
    assert isinstance(plain.sources, MappingProxyType) and dict(plain.sources) == {}


def test_test_chip_as_a_dict():
    c = load_chip("test-2x2")
    d = c.to_dict()
    tv = "test value"
    assert (d["schema_version"], d["name"], d["path"]) == (1, "test-2x2", str(c.path))
    assert d["description"].startswith("Synthetic 2x2 mesh")
    assert d["clock"] == {"frequency_hz": {"value": 1e6, "source": "test value (1 MHz: one cycle = 1 us)"}}
    assert d["mesh"] == {"width": {"value": 2, "source": tv}, "height": {"value": 2, "source": tv},
                         "cores_per_router": {"value": 2, "source": tv},
                         "io_router_x": {"value": 0, "source": "test value: host on router (0, 0)"},
                         "io_router_y": {"value": 0, "source": "test value: host on router (0, 0)"},
                         "n_cores": {"value": 8, "source": "derived: width x height x cores_per_router"}}
    assert d["timing"]["hop_north_south_cycles"] == {"value": 7, "source": tv}
    assert list(d["timing"]) == ["neuron_update_active_cycles", "neuron_update_idle_cycles", "spike_send_cycles",
                                 "io_packet_cycles", "hop_east_west_cycles", "hop_north_south_cycles",
                                 "local_delivery_cycles", "packet_receive_cycles", "synapse_read_cycles"]
    assert d["core"]["max_neurons"] == {"value": 64, "source": tv} and len(d["core"]) == 8
    assert d["noc"]["payload_bits"] == {"value": 8, "source": "test value: (20 + 8) / 16 -> 2 flits per packet"}
    assert d["barrier"] == {"model": "mesh", "base_cycles": {"value": 10, "source": tv},
                            "per_hop_cycles": {"value": 3, "source": "test value: 10 + 3 x (1 + 1) = 16 cycles"}}
    assert d["static"]["core_power_mw"] == {"value": 1.0, "source": tv}
    assert list(d["energy"]) == list(ACTIONS)
    assert d["energy"]["synaptic_op"] == {"pj": 6.0, "source": tv}
    assert d["energy"]["local_delivery"] == {"pj": 0.5, "source": tv}
    assert d["derived"] == {"n_routers": 4, "n_cores": 8, "io_router": 0, "flits_per_packet": 2,
                            "readout_flits_per_packet": 2,  # one value per packet to the host: a spike's 2
                            "barrier_cycles": 16, "cycle_ns": 1000.0}


def test_timing_cycles_of_the_test_chip():
    c = load_chip("test-2x2")
    assert c.timing_cycles() == {
        "neuron_update_active_cycles": 3, "neuron_update_idle_cycles": 1, "spike_send_cycles": 2,
        "io_packet_cycles": 4, "hop_east_west_cycles": 5, "hop_north_south_cycles": 7, "local_delivery_cycles": 6,
        "packet_receive_cycles": 8, "synapse_read_cycles": 9, "synapses_per_read": 2, "flits_per_packet": 2,
        "readout_values_per_packet": 1, "readout_flits_per_packet": 2,  # the default: one value, a spike's flits
        "router_buffer_packets": 2, "barrier_cycles": 16}
    pj = {"neuron_update_active": 10.0, "neuron_update_idle": 1.0, "spike": 2.0, "packet_send": 3.0,
          "packet_receive": 4.0, "synapse_read": 5.0, "synaptic_op": 6.0, "flit_hop_east_west": 7.0,
          "flit_hop_north_south": 8.0, "local_delivery": 0.5, "io_packet": 9.0, "barrier": 20.0,
          "multicast_replication": 3.0, "routing_table_lookup": 2.0,
          "flit_hop_chip": 0.0}  # flit_hop_chip not in the file: a single chip's default
    assert c.energy.vector_pj() == tuple(pj[a] for a in ACTIONS)
    assert c.core.synapse_bits == 16


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A project root with its own chips/: two presets and one energy table (not a preset)."""
    d = tmp_path / "chips"
    d.mkdir()
    for name in ("beta", "alpha", "alpha-energy"):
        (d / f"{name}.toml").write_text("")
    monkeypatch.setenv("NMSIM_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_presets_are_the_chip_files_without_energy_tables(home):
    assert list_chips() == ["alpha", "beta"]


def test_no_chips_directory_means_no_presets(tmp_path, monkeypatch):
    monkeypatch.setenv("NMSIM_HOME", str(tmp_path / "nowhere"))
    assert list_chips() == []
    with pytest.raises(ChipConfigError) as exc:
        chip_path("alpha")
    assert str(exc.value) == "unknown chip 'alpha'; presets: (none)"


def test_names_and_paths_resolve(home):
    assert chip_path("alpha") == home / "chips" / "alpha.toml"
    assert str(chip_path("x.toml")) == "x.toml"          # a .toml name is a path, even if missing
    assert str(chip_path("d/x")) == "d/x"                # so is anything with a slash
    (home / "local").write_text("")
    assert str(chip_path("local")) == "local"            # an existing file in the working directory
    with pytest.raises(ChipConfigError) as exc:
        chip_path("alpah")
    assert str(exc.value) == "unknown chip 'alpah'; did you mean 'alpha'? presets: alpha, beta"
    with pytest.raises(ChipConfigError) as exc:
        chip_path("zzzzzz")
    assert str(exc.value) == "unknown chip 'zzzzzz'; presets: alpha, beta"


def test_load_chip_passes_a_spec_through():
    c = load_chip("test-2x2")
    assert load_chip(c) is c
