"""Boards of chips (docs/systems.md): the system description's values and errors, and hand-computed
packets crossing chip boundaries (exact cycles, serialization on one chip-to-chip link, counts)."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.describe.actions import A
from nmsim.describe.system import board_chip, list_systems, load_system, parse_system
from nmsim.errors import ChipConfigError
from nmsim.sim import simulate
from sim_helpers import lif_params, make_model

TIM = {"neuron_update_active_cycles": 3, "neuron_update_idle_cycles": 2, "spike_send_cycles": 4,
       "hop_east_west_cycles": 5, "hop_north_south_cycles": 7, "local_delivery_cycles": 6,
       "flits_per_packet": 2, "packet_receive_cycles": 2, "synapse_read_cycles": 9, "barrier_cycles": 0,
       "router_buffer_packets": 8}
OCC, LAT0 = 4, 20  # chip-to-chip link: 4 cycles per packet, head latency 20 + 4 - 1 = 23
# chips of 3 x 2 routers; east/west ports on row 1, north/south ports on column 1
GEOM = {"chip_width": 3, "chip_height": 2, "east_west_row": 1, "north_south_col": 1,
        "link_occ": OCC, "link_lat": LAT0 + OCC - 1}
FL = TIM["flits_per_packet"]
HEW, HNS = TIM["hop_east_west_cycles"] + FL - 1, TIM["hop_north_south_cycles"] + FL - 1
DELIV = TIM["local_delivery_cycles"] + FL - 1
F0 = TIM["neuron_update_active_cycles"] + TIM["spike_send_cycles"]  # first neuron fired and sent


def board_model(chips_x, chips_y, core_router, sources, dest_core):
    """One firing neuron on each core in ``sources`` (cores 0..n-1), all targeting one neuron on ``dest_core``."""
    n = len(core_router)
    edges = [(s, n, 1) for s in sources]
    lif = lif_params(n + 1, threshold=0, bias=[1] * n + [0])
    m = make_model(width=3 * chips_x, height=2 * chips_y, core_router=core_router,
                   neuron_core=list(range(n)) + [dest_core], edges=edges, timing=TIM, lif=lif, io_router=0)
    m.meta["system"] = {**GEOM, "chips_x": chips_x, "chips_y": chips_y}
    return m


def _arrivals(r):
    return r.trace.arrival.tolist()


def test_one_boundary_exact_cycle():
    """Router (0,0) of chip 0 to local (1,0) of chip 1 (board router 4 on a 6-wide board): XY to the east port
    (2,1): E E N; cross; XY to (1,0): E S.  3 E-W hops, 2 N-S hops, 1 chip-to-chip hop."""
    m = board_model(2, 1, [0, 4], [0], 1)
    r = simulate(m, 1, record=("trace",))
    assert _arrivals(r) == [F0 + 3 * HEW + 2 * HNS + (LAT0 + OCC - 1) + DELIV]
    c = r.counters[0, 0]
    assert (c[A["flit_hop_east_west"]], c[A["flit_hop_north_south"]], c[A["flit_hop_chip"]]) == (3 * FL, 2 * FL, FL)
    # the path: injection, E E N on chip 0, the chip link out of (2,1) east, E, S on chip 1, ejection
    R = 12
    links = r.trace.link.tolist()
    assert links[1:-1] == [4 * 0 + 0, 4 * 1 + 0, 4 * 2 + 2, 4 * 8 + 0, 4 * 9 + 0, 4 * 10 + 3]
    assert links[0] == 4 * R + 0 and links[-1] == 4 * R + 3 + 1


def test_two_boundaries_exact_cycle():
    """Chip 0 (0,0) to chip 2 local (0,0) (board router 6, 9-wide board): E E N, cross, E E (row 1 of chip 1),
    cross, S.  4 E-W, 2 N-S, 2 chip-to-chip hops."""
    m = board_model(3, 1, [0, 6], [0], 1)
    r = simulate(m, 1, record=("trace",))
    assert _arrivals(r) == [F0 + 4 * HEW + 2 * HNS + 2 * (LAT0 + OCC - 1) + DELIV]
    c = r.counters[0, 0]
    assert (c[A["flit_hop_east_west"]], c[A["flit_hop_north_south"]], c[A["flit_hop_chip"]]) == (4 * FL, 2 * FL, 2 * FL)


def test_north_crossing_exact_cycle():
    """1 x 2 board: chip (0,0) local (0,0) -> chip (0,1) local (2,0) (board router 8): XY to the north port (1,1):
    E N; cross north to (1,2); E.  2 E-W, 1 N-S, 1 chip-to-chip hop."""
    m = board_model(1, 2, [0, 8], [0], 1)
    r = simulate(m, 1, record=("trace",))
    assert _arrivals(r) == [F0 + 2 * HEW + 1 * HNS + (LAT0 + OCC - 1) + DELIV]
    c = r.counters[0, 0]
    assert (c[A["flit_hop_east_west"]], c[A["flit_hop_north_south"]], c[A["flit_hop_chip"]]) == (2 * FL, FL, FL)


# 2 x 2 board of 3 x 2 chips (a 6 x 4 board mesh): board router r = gy * 6 + gx
def _r(gx, gy):
    return gy * 6 + gx


def test_diagonal_two_boundaries_on_a_2d_board_exact_cycle():
    """Chip (0,0) local (0,0) -> chip (1,1) local (0,0) (board (3,2)), worked by hand from docs/systems.md:
    X phase: E E to (2,0), N to the east port (2,1), cross east to (3,1) (chip (1,0)); the chip columns match,
    so Y phase: E to the north port (4,1), cross north to (4,2) (chip (1,1)); inside it: W to (3,2).
    4 E-W hops, 1 N-S hop, 2 chip-to-chip hops: 7 + 4 x 6 + 8 + 2 x 23 + 7 = 92 cycles."""
    m = board_model(2, 2, [_r(0, 0), _r(3, 2)], [0], 1)
    r = simulate(m, 1, record=("trace",))
    assert F0 + 4 * HEW + HNS + 2 * (LAT0 + OCC - 1) + DELIV == 92
    assert _arrivals(r) == [92]
    c = r.counters[0, 0]
    assert (c[A["flit_hop_east_west"]], c[A["flit_hop_north_south"]], c[A["flit_hop_chip"]]) == (4 * FL, FL, 2 * FL)
    links = r.trace.link.tolist()  # physical links, in path order (E = 0, W = 1, N = 2, S = 3)
    assert links[1:-1] == [4 * _r(0, 0) + 0, 4 * _r(1, 0) + 0, 4 * _r(2, 0) + 2, 4 * _r(2, 1) + 0,
                           4 * _r(3, 1) + 0, 4 * _r(4, 1) + 2, 4 * _r(4, 2) + 1]
    # energy: the hop counts priced by hand, 3 pJ per E-W flit hop, 4 per N-S, 32 per chip-to-chip
    from nmsim.account.energy import account
    from nmsim.describe.actions import N_ACTIONS
    cost = np.zeros(N_ACTIONS)
    cost[A["flit_hop_east_west"]], cost[A["flit_hop_north_south"]], cost[A["flit_hop_chip"]] = 3.0, 4.0, 32.0
    rep = account(r, cost, 0.0, m.n_cores, 1e9)
    assert rep.dynamic_total_pj == FL * (4 * 3.0 + 1 * 4.0 + 2 * 32.0) == 160.0


@pytest.mark.parametrize("x_first", [True, False])
def test_two_virtual_channels_share_one_physical_link(x_first):
    """Two cores on router (0,0) send at once: one packet in the X phase (to chip (1,1), VC 0) and one in the
    Y phase (to chip (0,1) local (1,0), board (1,2), VC 1).  Both take the east link out of (0,0) first: the
    physical link grants one packet at a time, the older (smaller core) first, whatever VC it is on.
    The Y-phase packet's path: E to (1,0), N to the north port (1,1), cross north to (1,2)."""
    order = [0, 1] if x_first else [1, 0]  # core of the X-phase packet, core of the Y-phase packet
    routers = [_r(0, 0), _r(0, 0), _r(3, 2), _r(1, 2)]
    n = 4
    edges = [(order[0], n, 1), (order[1], n + 1, 1)]
    lif = lif_params(n + 2, threshold=0, bias=[1, 1, 0, 0, 0, 0])
    m = make_model(width=6, height=4, core_router=routers, neuron_core=[0, 1, 2, 3, 2, 3], edges=edges,
                   timing=TIM, lif=lif, io_router=0)
    m.meta["system"] = {**GEOM, "chips_x": 2, "chips_y": 2}
    r = simulate(m, 1, record=("trace", "link_busy"))
    x_arr = F0 + 4 * HEW + HNS + 2 * (LAT0 + OCC - 1) + DELIV  # 92, as above
    y_arr = F0 + HEW + HNS + (LAT0 + OCC - 1) + DELIV  # 51 when first on the link
    if x_first:  # the Y-phase packet waits one packet's occupancy (FL cycles) for the east link
        want = {0: x_arr, 1: y_arr + FL}
    else:  # the X-phase packet waits; it then meets no one else
        want = {0: y_arr, 1: x_arr + FL}
    assert dict(zip(r.trace.src_core.tolist(), _arrivals(r))) == want
    assert r.link_busy[0, 4 * _r(0, 0) + 0] == 2 * FL  # both packets on the one physical link


def test_deadlock_checker_refuses_a_cyclic_route_set():
    """Without virtual channels the port routes of a 2 x 2 board are cyclic (found by hand: chip (0,0) north port
    -> chip (0,1) -> east -> chip (1,1) -> south -> chip (1,0) -> west -> chip (0,0) north port): the checker
    refuses them.  It also refuses a class assignment that goes down a class.  With the board's two classes
    (X phase, then Y phase) every class is acyclic, here and on loihi-nahuku32's geometry."""
    from nmsim.sim import board_routes as br

    g = {**GEOM, "chips_x": 2, "chips_y": 2}
    nxt = br.next_links(g)
    with pytest.raises(ValueError, match="cyclic channel dependency in virtual-channel class 0"):
        br.check_deadlock_free(g, nxt, np.zeros_like(nxt))
    with pytest.raises(ValueError, match="cyclic channel dependency"):
        br.topo_rank(g, nxt, np.zeros((nxt.size // nxt.shape[0] * 4, 3), np.int64))
    with pytest.raises(ValueError, match="go down a virtual-channel class"):
        br.check_deadlock_free(g, nxt, 1 - br.vc_classes(g))
    br.check_deadlock_free(g, nxt, br.vc_classes(g))
    nahuku = {"chip_width": 8, "chip_height": 4, "chips_x": 8, "chips_y": 4, "east_west_row": 1,
              "north_south_col": 3}
    br.check_deadlock_free(nahuku, br.next_links(nahuku), br.vc_classes(nahuku))
    # a row of chips keeps one class (and one VC): its routes are acyclic already
    row = {**GEOM, "chips_x": 3, "chips_y": 1}
    assert br.n_vcs(row) == 1 and not br.vc_classes(row).any()
    br.check_deadlock_free(row, br.next_links(row), br.vc_classes(row))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_n_packets_serialize_on_one_chip_link(n):
    """n cores on the east port router (2,1) of chip 0, all sending at once to a core on router (3,1) (the
    far end of that chip link): the link grants one packet every OCC cycles, in core order."""
    m = board_model(2, 1, [8] * n + [9], list(range(n)), n)  # board routers (2,1), (3,1)
    r = simulate(m, 1, record=("trace",))
    want = [F0 + k * OCC + (LAT0 + OCC - 1) + DELIV for k in range(n)]
    assert sorted(_arrivals(r)) == want
    assert r.counters[0, :n, A["flit_hop_chip"]].tolist() == [FL] * n


def test_single_chip_has_no_chip_hops():
    m = make_model(width=3, height=2, core_router=[0, 5], neuron_core=[0, 1], edges=[(0, 1, 1)], timing=TIM,
                   lif=lif_params(2, threshold=0, bias=[1, 0]), io_router=0)
    r = simulate(m, 1, record=("trace",))
    assert _arrivals(r) == [F0 + 2 * HEW + HNS + DELIV]
    assert r.counters[0, :, A["flit_hop_chip"]].sum() == 0


# ------------------------------------------------------------------ description
BASE = """schema_version = 1
chip = "test-2x2"
[board]
chips_x = { value = 2, source = "t" }
chips_y = { value = 1, source = "t" }
[ports]
east_west_row = { value = 1, source = "t" }
north_south_col = { value = 0, source = "t" }
[link]
latency_ns = { value = 3.5, source = "t" }
bandwidth_bits_per_s = { value = 8e6, source = "t" }
energy_pj_per_bit = { value = 0.5, source = "t" }
buffer_packets = { value = 2, source = "t" }
"""


def _parse(text, tmp_path):
    import tomllib
    p = tmp_path / "sys.toml"
    p.write_text(text)
    return parse_system(tomllib.loads(text), p), p


def test_resolved_link_values(tmp_path):
    """test-2x2: 1 MHz clock, 2 flits x 16 bits = 32 bits per packet.  3.5 ns -> ceil(0.0035) = 1 cycle;
    32 bits / 8 Mbit/s = 4 us = 4 cycles; 0.5 pJ/bit x 16 bits = 8 pJ per flit."""
    s, _ = _parse(BASE, tmp_path)
    assert (s.latency_cycles, s.serialization_cycles, s.energy_pj_per_flit) == (1, 4, 8.0)
    chip = board_chip(s)
    assert (chip.mesh.width, chip.mesh.height, chip.n_cores) == (4, 2, 16)
    assert chip.energy.pj["flit_hop_chip"] == 8.0
    s2, _ = _parse(BASE.replace('bandwidth_bits_per_s = { value = 8e6, source = "t" }',
                                'width_bits = { value = 2, source = "t" }\nclock_hz = { value = 2e6, source = "t" }'),
                   tmp_path)
    assert s2.serialization_cycles == 8  # 32 bits / (2 bits x 2 MHz) = 8 us


REJECTED = [
    ('chips_x = { value = 2, source = "t" }', 'chips_x = 2', 'board.chips_x: number 2 has no source; write { value = 2, source = "..." }'),
    ('chips_x = { value = 2,', 'chips_x = { value = 0,', "board.chips_x: must be positive, got 0"),
    ('east_west_row = { value = 1,', 'east_west_row = { value = 2,',
     "ports.east_west_row: 2 is outside the chip's mesh (height 2: rows 0..1)"),
    ('north_south_col = { value = 0,', 'north_south_col = { value = 5,',
     "ports.north_south_col: 5 is outside the chip's mesh (width 2: columns 0..1)"),
    ('latency_ns = { value = 3.5, source = "t" }\n', '',
     "link.latency_cycles: missing key (give latency_cycles or latency_ns)"),
    ('latency_ns = { value = 3.5, source = "t" }\n',
     'latency_ns = { value = 3.5, source = "t" }\nlatency_cycles = { value = 3, source = "t" }\n',
     "link.latency_ns: conflicts with link.latency_cycles; give one of latency_cycles or latency_ns"),
    ('[ports]', '[portz]', "portz: unknown key; did you mean 'ports'?"),
    ('chip = "test-2x2"', 'chip = "loihy"', "chip: unknown chip 'loihy'; did you mean 'loihi'? presets: "),
]


@pytest.mark.parametrize("old,new,problem", REJECTED, ids=[r[2][:30] for r in REJECTED])
def test_rejections_are_one_line(tmp_path, old, new, problem):
    assert old in BASE
    with pytest.raises(ChipConfigError) as exc:
        _parse(BASE.replace(old, new, 1), tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{tmp_path / 'sys.toml'}: {problem}")


def test_presets_load_and_every_value_is_sourced():
    assert {"loihi-nahuku32", "loihi-4chip", "spinnaker2-48"} <= set(list_systems())
    for name in list_systems():
        s = load_system(name)
        assert all(v["source"] for v in s.to_dict()["values"].values()), name
    s = load_system("loihi-nahuku32")
    # 10 GHz virtual clock: 50 ns = 500 cycles; 32 bits / 3.2 Gbit/s = 10 ns = 100 cycles; 1 pJ/bit x 32 bits
    assert (s.n_chips, s.latency_cycles, s.serialization_cycles, s.energy_pj_per_flit) == (32, 500, 100, 32.0)
    assert load_system("spinnaker2-48").n_chips == 48  # 8 x 8 positions, 16 empty (tests/test_system_holes.py)


# ------------------------------------------------------------------ oracle
N_BOARD_CASES = int(__import__("os").environ.get("NMSIM_ORACLE_CASES", "60"))


@pytest.mark.parametrize("seed", range(N_BOARD_CASES))
def test_engine_matches_oracle_on_random_boards(seed):
    """Random rows/columns of chips (nmsim.oracle.random_case(board=True)): every step's cycles, counters
    (flit_hop_chip included), link_busy, fired, payload and final state agree with the SimPy oracle."""
    from nmsim.oracle import random_case
    from nmsim.oracle.compare import check_case
    from nmsim.sim import engine

    case = random_case(20_000 + seed, max_lif=40, max_host=8, max_steps=4, board=True)
    problems = check_case(case, lambda m, n, h: engine.simulate(m, n, h, record=("fired", "payload", "link_busy",
                                                                                "trace")))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("seed", range(N_BOARD_CASES))
def test_engine_matches_oracle_on_random_2d_boards(seed):
    """Random 2-D boards of 2..3 x 2..3 chips (random_case(board=True, two_d=True)): two virtual channels per
    mesh link; the engine and the SimPy oracle (its own routes, VC rule, buffers and arbitration) agree on
    every step's cycles, counters, link_busy, fired, payload and final state."""
    from nmsim.oracle import random_case
    from nmsim.oracle.compare import check_case
    from nmsim.sim import engine

    case = random_case(30_000 + seed, max_lif=100, max_host=8, max_steps=4, board=True, two_d=True)
    assert min(case.model.meta["system"]["chips_x"], case.model.meta["system"]["chips_y"]) > 1
    problems = check_case(case, lambda m, n, h: engine.simulate(m, n, h, record=("fired", "payload", "link_busy",
                                                                                "trace")))
    assert not problems, "\n".join(problems)


def _oracle_first_step_stuck(monkeypatch, share_buffers):
    """(packets not delivered within 20,000 cycles of their step, packets) over the steps of random 2-D case
    30005 in the SimPy oracle, up to the first step that jams; ``share_buffers``: both virtual channels of
    every link use one buffer (no virtual channels)."""
    from nmsim.oracle import random_case
    from nmsim.oracle import simpy_chip as sc
    from nmsim.oracle.functional_oracle import oracle_run

    case = random_case(30_005, max_lif=100, max_host=8, max_steps=4, board=True, two_d=True)
    make = sc._Chip._make_link

    def make_link(self, l):
        link = make(self, l)
        if share_buffers and len(link.buffers) == 2:
            link.buffers = (link.buffer, link.buffer)
        return link

    class Stop(Exception):
        pass

    seen = []
    finish = sc._Chip.run

    def run(self):
        self.env.run(until=20_000)
        seen.append((sum(p.syn_end < 0 for p in self.packets), len(self.packets)))
        if seen[-1][0]:
            raise Stop
        return finish(self)

    monkeypatch.setattr(sc._Chip, "_make_link", make_link)
    monkeypatch.setattr(sc._Chip, "run", run)
    try:
        oracle_run(case.model, case.n_steps, case.host_payloads)
    except Stop:
        pass
    finally:
        monkeypatch.undo()
    return sum(a for a, _ in seen), sum(b for _, b in seen)


def test_without_virtual_channels_a_2d_board_deadlocks(monkeypatch):
    """The deadlock is real.  Random 2-D case 30005 has 2 x 3 chips of 3 x 3 routers and 1-packet buffers.
    Run in the SimPy oracle with one buffer shared by both VCs of each link (no virtual channels), a step
    jams: packets wait on full buffers in a cycle and are never delivered (its steps otherwise end within a
    few hundred cycles).  With the two VC buffers every packet is delivered, and the engine agrees
    with the oracle on it (test_engine_matches_oracle_on_random_2d_boards[5])."""
    stuck, n = _oracle_first_step_stuck(monkeypatch, share_buffers=True)
    assert n > 0 and stuck > 0
    stuck, n = _oracle_first_step_stuck(monkeypatch, share_buffers=False)
    assert n > 0 and stuck == 0


# ------------------------------------------------------------------ replay on a board
def test_same_logits_on_one_chip_and_on_a_board(tmp_path):
    """ptb-egru-small-s90 on one Loihi and on loihi-4chip, layer L2 pinned to cores 32-63 (on the board: the
    first router row of chip 1, so packets cross chips): identical logits_sha256, bit-exact; the board reports
    off-chip traffic and cores.csv names more than one chip."""
    import csv
    import json
    import subprocess
    import sys

    from nmsim.paths import models_dir, project_root

    def run(*where, out):
        cmd = [sys.executable, "-m", "nmsim", "run", "--model", models_dir() / "ptb-egru-small-s90.nmm", *where,
               "--tokens", "3", "--placement", "snake", "--set", "map.L2.cores=32-63", "--no-progress", "--no-figures", "--out", out]
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600,
                           env={**__import__("os").environ, "PYTHONPATH": str(project_root())})
        assert p.returncode == 0, p.stderr
        return json.loads((out / "summary.json").read_text())

    one = run("--chip", "loihi", out=tmp_path / "one")
    board = run("--system", "loihi-4chip", out=tmp_path / "board")
    assert one["bit_exact"] and board["bit_exact"]
    assert one["logits_sha256"] == board["logits_sha256"]
    assert "system" not in one
    s = board["system"]
    assert s["chips"] == 4 and s["off_chip_flits"] > 0 and s["off_chip_energy_nj"] > 0
    # chip-to-chip flits priced at the resolved 32 pJ per flit (1 pJ/bit x 32-bit flits), 1e-3 nJ per pJ
    assert s["off_chip_energy_nj"] == pytest.approx(s["off_chip_flits"] * 32.0 * 1e-3)
    with open(tmp_path / "board" / "cores.csv") as fh:
        chips = {row["chip"] for row in csv.DictReader(fh) if row["core"] != "host" and int(row["neurons"]) > 0}
    assert len(chips) > 1


# ------------------------------------------------------------------ placement on a board
def test_balanced_placement_cuts_less_chip_traffic_than_snake(tmp_path):
    """Two independent chains in -> A1 -> A2 and in -> B1 -> B2, listed A1, B1, A2, B2, on a 2 x 1 board of
    test-2x2 chips (8 cores each).  The snake fills chip 0 with A1 and B1, so A2 and B2 spill onto chip 1 and
    every A1 -> A2 and B1 -> B2 event crosses.  The balanced cost model charges chip-to-chip hops at the
    link's latency, occupancy and energy, so its choice crosses chips less (counted by the engine) and is
    faster; both placements give the same spikes and payloads."""
    from nmsim.compile.build import compile_model, gather
    from nmsim.describe.network import Network
    from nmsim.describe.system import attach
    from nmsim.map.placement import place

    s, _ = _parse(BASE, tmp_path)
    chip = board_chip(s)
    rng = np.random.default_rng(0)
    n = 40
    net = Network("two-chains")
    net.add_input("in", 4)
    for pop in ("A1", "B1", "A2", "B2"):
        net.add_lif(pop, n, threshold=1)
    for c in "AB":
        net.connect("in", f"{c}1", (rng.random((4, n)) < 0.5).astype(np.int64))
        net.connect(f"{c}1", f"{c}2", (rng.random((n, n)) < 0.2).astype(np.int64) * 2)
    host = rng.integers(0, 3, size=(6, 4))
    got = {}
    for strategy in ("snake", "balanced"):
        m = attach(compile_model(chip, net, place(chip, net, strategy)), s)
        r = simulate(m, 6, host, record=("fired", "payload"))
        got[strategy] = (int(r.counters[..., A["flit_hop_chip"]].sum()), int(r.step_cycles.sum()),
                         {p: (gather(m, r.fired, p), gather(m, r.payload, p)) for p in ("A1", "B1", "A2", "B2")})
    (snake_chip, snake_cyc, snake_out), (bal_chip, bal_cyc, bal_out) = got["snake"], got["balanced"]
    assert snake_chip > 0 and bal_chip < snake_chip
    assert bal_cyc < snake_cyc
    for p in snake_out:
        assert np.array_equal(snake_out[p][0], bal_out[p][0]) and np.array_equal(snake_out[p][1], bal_out[p][1])
    assert sum(int(f.sum()) for f, _ in snake_out.values()) > 0  # something fired
