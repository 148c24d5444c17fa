"""SANA-FE YAML import: hand-checked nmsim values, and unsupported features refused by name."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("yaml")

from nmsim.cli import main  # noqa: E402
from nmsim.errors import ChipConfigError, NetworkError, NmsimError  # noqa: E402
from nmsim.validate import report  # noqa: E402
from nmsim.validate.sanafe_compare import examples_dir  # noqa: E402
from nmsim.validate.sanafe_import import expand_name, import_arch, import_snn, parse_arch  # noqa: E402

ARCH = examples_dir() / "mesh_arch.yaml"
SNN = examples_dir() / "small_snn.yaml"


def test_name_ranges():
    assert expand_name("mesh_tile[0..2]") == ["mesh_tile[0]", "mesh_tile[1]", "mesh_tile[2]"]
    assert expand_name("plain") == ["plain"]
    assert expand_name("x[5..5]") == ["x[5]"]


def test_hierarchy_and_ranges():
    a = parse_arch(ARCH)
    assert (a.width, a.height, a.cores_per_tile, a.link_buffer_size, a.max_neurons) == (3, 2, 2, 8, 256)
    # soma units: one LIF + a replicated input range mesh_input[0..63]
    names = [u.name for u in a.units["soma"]]
    assert names[0] == "mesh_lif" and len(names) == 65 and names[-1] == "mesh_input[63]"
    # SANA-FE numbers tiles column by column
    assert a.tile_xy(0) == (0, 0) and a.tile_xy(1) == (0, 1) and a.tile_xy(2) == (1, 0) and a.tile_xy(5) == (2, 1)
    assert a.nmsim_core(3, 1) == (1 * 3 + 1) * 2 + 1


def test_arch_values_hand_checked():
    c = import_arch(ARCH)
    assert (c.mesh.width, c.mesh.height, c.mesh.cores_per_router, c.n_cores) == (3, 2, 2, 12)
    assert c.clock.frequency_hz == 10e9 and c.flits_per_packet == 1 and c.noc.router_buffer_packets == 8
    pj = dict(c.energy.pj)
    assert pj == pytest.approx({
        "neuron_update_active": 81.0,  # access 52 + update 29
        "neuron_update_idle": 52.0,  # access only
        "spike": 10.0, "packet_send": 111.0, "io_packet": 111.0, "packet_receive": 2.0,
        "synapse_read": 0.0, "synaptic_op": 23.6, "flit_hop_east_west": 3.0, "flit_hop_north_south": 4.0,
        "local_delivery": 0.0, "barrier": 0.0,
        "multicast_replication": 0.0, "routing_table_lookup": 0.0,  # imported unicast
        "flit_hop_chip": 0.0})  # one chip: no chip-to-chip links
    t = c.timing_cycles()
    want = {"neuron_update_active_cycles": 84, "neuron_update_idle_cycles": 53, "spike_send_cycles": 51,
            "hop_east_west_cycles": 41, "hop_north_south_cycles": 65, "local_delivery_cycles": 0,
            "packet_receive_cycles": 160, "synapse_read_cycles": 35, "synapses_per_read": 1}
    assert {k: t[k] for k in want} == want
    # barrier table {1: 0.2 us, 2: 0.3 us, 4: 0.4 us}: entry of the largest key <= tiles in use
    assert c.barrier_cycles == 4000  # all 6 tiles
    assert import_arch(ARCH, tiles_in_use=1).barrier_cycles == 2000
    assert import_arch(ARCH, tiles_in_use=3).barrier_cycles == 3000


def test_clock_rounding_is_recorded():
    from nmsim.validate.sanafe_import import ImportNotes

    notes = ImportNotes()
    c = import_arch(ARCH, clock_hz=1e9, notes=notes)
    assert c.timing.neuron_update_idle_cycles == 5  # 5.3 ns at 1 GHz
    assert any("5.3 ns is 5.3 cycles" in n and "rounded to 5" in n for n in notes.lines)


def test_network_values_hand_checked():
    s = import_snn(SNN, ARCH)
    net = s.network
    assert [(p.name, p.model, p.n) for p in net.populations.values()] == [
        ("stim", "input", 2), ("hid", "lif", 6), ("out", "lif", 3)]
    hid, out = net.populations["hid"].params, net.populations["out"].params
    assert hid["threshold"].tolist() == [1, 1, 1, 1, 2, 1]
    assert hid["reset_mode"].tolist() == [1, 1, 1, 1, 0, 1]  # hard -> zero (1), soft -> subtract (0)
    assert hid["decay"].tolist() == [0, 0, 0, 0, 0, 4096]  # leak_decay 1 -> 0, leak_decay 0 -> 4096
    assert out["bias"].tolist() == [0, 0, 1] and out["threshold"].tolist() == [2, 2, 5]
    assert s.core_of["hid"].tolist() == [1, 1, 2, 9, 10, 5]
    assert s.core_of["out"].tolist() == [6, 0, 3]
    assert s.inputs["stim"][:, 0].tolist() == [1, 0, 1, 1, 0, 0, 1, 0]
    assert s.inputs["stim"][:, 1].tolist() == [0, 1, 1, 0, 0, 1, 0, 0]
    assert net.nnz == 17
    w = {(q.src, q.dst): q.weights.toarray() for q in net.projections}
    assert w[("hid", "out")][5].tolist() == [-1, 3, 1] and w[("stim", "hid")][0].tolist() == [2, 0, 1, 0, 0, 0]
    assert s.tiles_in_use == 6 and s.chip.barrier_cycles == 4000
    assert (s.chip.mesh.io_router_x, s.chip.mesh.io_router_y) == (0, 0)


def _pair(tmp_path, arch_kw=None, snn_kw=None, snn=None):
    a, n = tmp_path / "arch.yaml", tmp_path / "snn.yaml"
    a.write_text(report.arch_text(**(arch_kw or {})))
    n.write_text(snn if snn is not None else report.snn_text(**(snn_kw or {})))
    return a, n


ONE_WAY = """network:
  name: oneway
  groups:
    - name: a
      attributes: [threshold: 1.0]
      neurons:
        - 0..1: []
  edges:
    - a.0 -> a.1: [weight: 2.0]
mappings:
  - a.0: [core: 0.0]
  - a.1: [core: 1.1]
"""


def test_direction_dependent_hops(tmp_path):
    # east 1 pJ, west 2 pJ: refused without a network, and when a network goes both ways
    a, n = _pair(tmp_path, dict(west="2.0e-12"))
    with pytest.raises(ChipConfigError, match="direction-dependent hop energy"):
        import_arch(a)
    with pytest.raises(ChipConfigError, match="uses both directions"):
        import_snn(n, a)
    # a network that only sends east gets the east cost, exactly
    n.write_text(ONE_WAY)
    s = import_snn(n, a)
    assert s.chip.energy.pj["flit_hop_east_west"] == pytest.approx(1.0)
    assert s.core_of["a"].tolist() == [0, 3]  # tile 1 of a 2 x 1 mesh is router (1, 0)
    assert any("sends only east" in x for x in s.notes.lines)


@pytest.mark.parametrize("case, keyword", list(zip(report.UNSUPPORTED_CASES, [
    "topology", "direction-dependent hop energy", "plugin", "'conv'", "energy_update", "leak_decay 0.9",
    "non-integer threshold", "reset potential", "force_update", "'noise'", "'delay'", "non-integer weight"])))
def test_unsupported_feature_named(tmp_path, case, keyword):
    feature, akw, skw = case
    a, n = _pair(tmp_path, akw)
    n.write_text(report.snn_text(**skw).replace(", weight: 1.0, weight: 0.5", ", weight: 0.5"))
    with pytest.raises((ChipConfigError, NetworkError)) as exc:
        import_snn(n, a)
    assert keyword in str(exc.value)
    assert "\n" not in str(exc.value)


def test_more_refusals(tmp_path):
    a, n = _pair(tmp_path)
    n.write_text(report.snn_text().replace("- a.0: [core: 0.0]", "- a.0: [core: 0.0, dendrite: d]"))
    with pytest.raises(NetworkError, match=r"mappings a\.0: dendrite unit 'd': no dendrite unit of that name"):
        import_snn(n, a)
    n.write_text(report.snn_text().replace("  - a.1: [core: 1.0]\n", ""))
    with pytest.raises(NetworkError, match="a.1 is not mapped"):
        import_snn(n, a)
    a.write_text(report.arch_text().replace("width: 2, height: 1", "width: 3, height: 1"))
    with pytest.raises(ChipConfigError, match="2 tiles for a 3 x 1 mesh"):
        import_arch(a)
    a.write_text(report.arch_text(arch_extra=", sync_model: table, latency_sync: {4: 1.0e-6}"))
    with pytest.raises(ChipConfigError, match="latency_sync"):
        import_arch(a)


def test_zero_weights_and_repeated_edges_are_synapses(tmp_path):
    # formerly refused ("zero weight", "two edges"): SANA-FE reads and counts both, so nmsim stores both
    a, n = _pair(tmp_path)
    n.write_text(report.snn_text().replace("    - a.1 -> a.0: [weight: 1.0]\n",
                                           "    - a.1 -> a.0: [weight: 0.0]\n    - a.0 -> a.1: [weight: 2.0]\n"))
    s = import_snn(n, a)
    (q,) = s.network.projections
    assert q.nnz == 3 and s.network.nnz == 3
    # row a.0 holds two synapses to a.1 (weights 1 and 2, file order), row a.1 one stored 0 to a.0
    assert q.weights.indptr.tolist() == [0, 2, 3] and q.weights.indices.tolist() == [1, 1, 0]
    assert q.weights.data.tolist() == [1, 2, 0]
    assert any("weight 0" in x for x in s.notes.lines) and any("repeat" in x for x in s.notes.lines)


DEN2 = ("dendrite: [{name: den, attributes: {model: accumulator, energy_update: 0.0, latency_update: 0.0}}, "
        "{name: den_delay, attributes: {model: accumulator_with_delay, energy_update: 0.0, latency_update: 0.0}}]")


def _two_dendrites(a):
    text = a.read_text()
    i = text.index("dendrite: [")
    j = text.index("\n", i)
    a.write_text(text[:i] + DEN2 + text[j:])


def test_group_dendrite_hw_name(tmp_path):
    a, n = _pair(tmp_path)
    _two_dendrites(a)
    # the plain accumulator, named for the whole group: read (not refused as a "per-neuron dendrite unit")
    n.write_text(report.snn_text(group_extra=", dendrite_hw_name: den"))
    s = import_snn(n, a)
    assert s.units["dendrite"] == "den"
    # named in a mapping: the same
    n.write_text(report.snn_text().replace("- a.0: [core: 0.0]", "- a.0: [core: 0.0, dendrite: den]"))
    assert import_snn(n, a).units["dendrite"] == "den"
    # the delayed accumulator: refused for its model, naming the attribute's group and the unit
    n.write_text(report.snn_text(group_extra=", dendrite_hw_name: den_delay"))
    with pytest.raises(ChipConfigError) as exc:
        import_snn(n, a)
    msg = str(exc.value)
    assert "group a" in msg and "dendrite_hw_name 'den_delay'" in msg and "accumulator_with_delay" in msg
    assert "delayed delivery" in msg and "\n" not in msg
    # a unit that does not exist: one line naming the attribute, the group and the architecture's units
    n.write_text(report.snn_text(group_extra=", dendrite_hw_name: nowhere"))
    with pytest.raises(NetworkError) as exc:
        import_snn(n, a)
    msg = str(exc.value)
    assert "group a" in msg and "dendrite_hw_name 'nowhere'" in msg and "den, den_delay" in msg


def test_missing_dendrite_unit_cli_one_line_before_sanafe(tmp_path, capsys, monkeypatch):
    from nmsim.validate import sanafe_compare

    a, n = _pair(tmp_path, snn_kw=dict(group_extra=", dendrite_hw_name: nowhere"))
    monkeypatch.setattr(sanafe_compare, "run_sanafe", lambda *x, **k: pytest.fail("SANA-FE must not run"))
    assert main(["validate", "--sanafe", str(a), str(n), "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nmsim: error:") and "dendrite_hw_name 'nowhere'" in err


def test_truenorth_soma_refused_for_its_model(tmp_path):
    a, n = _pair(tmp_path)
    a.write_text(a.read_text().replace("model: leaky_integrate_fire", "model: truenorth"))
    n.write_text(report.snn_text(group_extra=", leak: 1.0, leak_towards_zero: true"))
    with pytest.raises(ChipConfigError) as exc:
        import_snn(n, a)
    msg = str(exc.value)
    assert "unsupported soma model 'truenorth'" in msg and "TrueNorth soma model" in msg and "'leak'" not in msg


@pytest.mark.parametrize("attr, reason", [
    ("reverse_threshold: -5.0", "no negative (reverse) threshold"),
    ("input_decay: 0.5", "input decay is not modelled"),
    ("noise: 0.1", "noise is not reproduced"),
    ("force_update: true", "forced updates are not modelled"),
    ("leak: 1.0", "not an attribute nmsim reproduces"),
    ("dendrite: {taps: 2}", "dendrite unit (plain accumulator) takes no neuron attributes"),
])
def test_neuron_attribute_refused_with_reason(tmp_path, attr, reason):
    a, n = _pair(tmp_path, snn_kw=dict(group_extra=", " + attr))
    with pytest.raises(NetworkError) as exc:
        import_snn(n, a)
    msg = str(exc.value)
    assert reason in msg and "group a" in msg and "\n" not in msg
    assert msg.split(":")[1].strip().isdigit()  # file:line: ...


def test_logging_and_false_flags_are_read(tmp_path):
    a, n = _pair(tmp_path, snn_kw=dict(group_extra=", log_spikes: true, log_potential: false, force_update: false"))
    s = import_snn(n, a)
    assert s.logged["a"].tolist() == [True, True]


def test_edge_errors_name_the_first_line(tmp_path):
    a, n = _pair(tmp_path)
    lines = ["    - a.0 -> a.1: [weight: 1.0]"] * 5 + ["    - a.0 -> a.7: [weight: 1.0]",
                                                        "    - a.0 -> a.1: [weight: 0.5]"]
    text = report.snn_text().replace("    - a.0 -> a.1: [weight: 1.0]\n", "\n".join(lines) + "\n")
    n.write_text(text)
    first = text.split("\n").index("    - a.0 -> a.7: [weight: 1.0]") + 1
    bad = "    - a.0 -> a.7: [weight: 1.0]"
    for replacement, message in [
            (bad, "edge a.0 -> a.7: target neuron outside its group"),  # the one-line fast path
            # the same problem in a form only YAML reads: same line, same refusal
            ("    - a.0 -> a.7:\n        [weight: 1.0]", "edge a.0 -> a.7: neuron 'a.7' outside group"),
            ("", "edge a.0 -> a.1: unsupported feature: non-integer"),  # the next line's problem, once this one is gone
            ("    - a.0 -> a.1: [weight: 1.0, delay: 2]", "edge a.0 -> a.1: unsupported attribute 'delay'"),
            ("    - a.0 -> a.1: [weight: [1.0", "YAML syntax error")]:
        n.write_text(text.replace(bad + ("\n" if not replacement else ""), replacement))
        with pytest.raises(NetworkError, match=rf"snn.yaml:{first}: {message}"):
            import_snn(n, a)


def test_streamed_import_equals_plain_yaml(tmp_path):
    """The streamed reader against PyYAML's pure-Python SafeLoader on the same random file, by hand."""
    import yaml

    from nmsim.validate.sanafe.generate import write_random_snn

    snn = write_random_snn(tmp_path / "r.yaml", ARCH, n_in=8, n_lif=40, density=0.1, n_steps=5, p_in=0.5, seed=3,
                           zero_frac=0.2, dup_frac=0.1)
    # and a copy in YAML block style (nothing for the fast paths): must import identically
    doc = yaml.load(snn.read_text(), Loader=yaml.SafeLoader)  # noqa: S506
    block = tmp_path / "block.yaml"
    block.write_text(yaml.safe_dump(doc, default_flow_style=False, sort_keys=False))
    crlf = tmp_path / "crlf.yaml"  # Windows line ends and trailing comments: the same network
    crlf.write_bytes(snn.read_text().replace("]\n", "]  # c\n").replace("\n", "\r\n").encode())
    ref = {}
    for e in doc["network"]["edges"]:
        (k, v), = e.items()
        src, dst = (x.strip() for x in k.split("->"))
        ref.setdefault((src.split(".")[0], dst.split(".")[0]), []).append(
            (int(src.split(".")[1]), int(dst.split(".")[1]), int(v[0]["weight"])))
    assert any(w == 0 for lst in ref.values() for *_, w in lst)
    for path in (snn, block, crlf):
        s = import_snn(path, ARCH)
        got = {}
        for q in s.network.projections:
            coo = q.weights.tocoo()
            got[(q.src, q.dst)] = sorted(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
        assert got == {k: sorted(v) for k, v in ref.items()}
        assert s.network.nnz == sum(len(v) for v in ref.values())
        thr = [float(next(a["threshold"] for a in list(e.values())[0] if "threshold" in a))
               for e in doc["network"]["groups"][1]["neurons"]]
        assert s.network.populations["lif"].params["threshold"].tolist() == thr


def test_cli_steps_required_without_inputs(tmp_path, capsys):
    a, n = _pair(tmp_path)
    assert main(["validate", "--sanafe", str(a), str(n)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no input neurons" in err and "--steps" in err
    assert main(["validate", "--sanafe", str(a), "--steps", "3"]) == 2  # --steps without an SNN file
    assert "need an SNN file" in capsys.readouterr().err


def test_cli_unsupported_exit_2(tmp_path, capsys):
    a, n = _pair(tmp_path, snn_kw=dict(group_extra=", leak_decay: 0.5"))
    assert main(["validate", "--sanafe", str(a), str(n)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nmsim: error:") and "leak_decay 0.5" in err
    a.write_text(report.arch_text(arch_extra=", topology: torus"))
    assert main(["validate", "--sanafe", str(a)]) == 2
    assert "unsupported topology 'torus'" in capsys.readouterr().err


def test_cli_import_prints_chip(capsys):
    assert main(["validate", "--sanafe", str(ARCH)]) == 0
    out = capsys.readouterr().out
    assert "sanafe-nmsim_mesh" in out and "neuron_update_active" in out


def test_errors_are_nmsim_errors():
    assert issubclass(ChipConfigError, NmsimError) and issubclass(NetworkError, NmsimError)
    assert np.dtype(np.int64)  # keep numpy imported for the hand checks above


@pytest.mark.parametrize("value, refused", [("buffer_position: soma", None), ("buffer_inside_unit: false", None),
                                            ("buffer_position: dendrite", "fires other neurons"),
                                            ("buffer_position: axon_out", "fires other neurons"),
                                            ("buffer_inside_unit: true", "aborts")])
def test_core_buffer_attributes(tmp_path, value, refused):
    # SANA-FE 2.2.9 changes the spikes with the buffer elsewhere (and aborts with it inside the soma): only
    # nmsim's own arrangement, the buffer before the soma, is read
    a = tmp_path / "arch.yaml"
    a.write_text(report.arch_text().replace("max_neurons_supported: 16", "max_neurons_supported: 16, " + value))
    if refused is None:
        assert import_arch(a).n_cores == 4
    else:
        with pytest.raises(ChipConfigError, match=f"unsupported attribute value {value.split(':')[0]}.*{refused}"):
            import_arch(a)


def test_loihi_dendrite_units(tmp_path):
    """SANA-FE's own loihi.yaml (installed wheel): its plain accumulator is read, its delay accumulator refused."""
    from nmsim.validate.sanafe.generate import write_random_snn
    from nmsim.validate.sanafe_compare import sanafe_loihi_file

    loihi = sanafe_loihi_file()
    if loihi is None:
        pytest.skip("sanafe's loihi.yaml is not installed")
    snn = write_random_snn(tmp_path / "l.yaml", loihi, n_in=4, n_lif=20, density=0.1, n_steps=3, p_in=0.5, seed=1,
                           tiles=1)
    text = snn.read_text()
    for unit, refused in (("loihi_dendrites", False), ("loihi_dendrites_delay", True)):
        snn.write_text(text.replace("soma_hw_name: loihi_lif]", f"soma_hw_name: loihi_lif, dendrite_hw_name: {unit}]"))
        if refused:
            with pytest.raises(ChipConfigError, match="accumulator_with_delay': delayed delivery"):
                import_snn(snn, loihi)
        else:
            assert import_snn(snn, loihi).units["dendrite"] == unit
