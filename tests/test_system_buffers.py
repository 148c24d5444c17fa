"""Per-link buffer depth of chip-to-chip links (``link.buffer_packets``, docs/systems.md): a hand-computed case
where a shallow chip-link buffer back-pressures, the description's rules, and engine-oracle agreement on random
boards whose chip links have their own depth."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from nmsim.describe.system import board_chip
from nmsim.errors import ChipConfigError
from nmsim.oracle import random_case
from nmsim.oracle.compare import check_case
from nmsim.oracle.functional_oracle import oracle_run
from nmsim.sim import engine
from sim_helpers import lif_params, make_model
from test_system import BASE, _parse

E = 0
# 6 flits per packet: a mesh link is occupied 6 cycles per packet, the chip link only 2, so the receiving port
# router's buffer fills when packets come faster than they leave.
TIM = {"neuron_update_active_cycles": 3, "neuron_update_idle_cycles": 2, "spike_send_cycles": 4,
       "hop_east_west_cycles": 5, "hop_north_south_cycles": 7, "local_delivery_cycles": 6,
       "flits_per_packet": 6, "packet_receive_cycles": 2, "synapse_read_cycles": 9, "barrier_cycles": 0,
       "router_buffer_packets": 8}
GEOM = {"chip_width": 3, "chip_height": 2, "east_west_row": 1, "north_south_col": 1, "link_occ": 2,
        "link_lat": 3, "chips_x": 2, "chips_y": 1}


def three_senders(link_buffer):
    """Cores 0, 1, 2 on router 8 = (2,1) (chip 0's east port router) each fire one neuron in step 0; all feed one
    neuron on core 3 at router 10 = (4,1) on chip 1.  Every packet: injection, the chip link out of 8 east,
    E(9), ejection."""
    lif = lif_params(4, threshold=0, bias=[1, 1, 1, 0])
    m = make_model(width=6, height=2, core_router=[8, 8, 8, 10], neuron_core=[0, 1, 2, 3],
                   edges=[(0, 3, 1), (1, 3, 1), (2, 3, 1)], timing=TIM, lif=lif, io_router=0)
    m.meta["system"] = dict(GEOM, **({} if link_buffer is None else {"link_buffer": link_buffer}))
    return m


@pytest.mark.parametrize("link_buffer,chip_grants,e9_grants", [
    # routers' depth (8): the chip link grants as soon as it is free: 7, 7 + 2, 9 + 2.  The packets reach
    # router 9 at +3 (10, 12, 14) and leave on E(9) (occupancy 6) at 10, 16, 22.
    (None, [7, 9, 11], [10, 16, 22]),
    # one packet: p1 waits until p0 has left the port router's buffer (E(9) grant at 10, slot back from 11);
    # it arrives at 14, leaves at 16 (E(9) busy), so p2 is granted at 17, arrives at 20, leaves at 22.
    (1, [7, 11, 17], [10, 16, 22]),
])
def test_shallow_chip_link_buffer_back_pressures(link_buffer, chip_grants, e9_grants):
    """Injections granted at f = 3 (one neuron update per core), at router 8 at 3 + 4 = 7, in seq order p0, p1,
    p2 (cores 0, 1, 2).  Hand-computed grants of the chip link (8, east) and of E(9), engine and oracle."""
    m = three_senders(link_buffer)
    R = m.n_routers
    X8, E9 = 4 * 8 + E, 4 * 9 + E
    tr = engine.simulate(m, 1, np.zeros((1, 0), np.int64), record=("trace",)).trace
    got = [dict(zip(tr.link[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist(),
                    tr.grant[tr.link_ptr[i]:tr.link_ptr[i + 1]].tolist())) for i in range(tr.n_packets)]
    assert [g[X8] for g in got] == chip_grants and [g[E9] for g in got] == e9_grants
    st = oracle_run(m, 1, np.zeros((1, 0), np.int64)).steps[0]
    want = [dict(zip(p.links, p.grants)) for p in st.packets]
    assert [g[X8] for g in want] == chip_grants and [g[E9] for g in want] == e9_grants
    assert 4 * R + 0 in got[0]


def test_link_buffer_in_the_description(tmp_path):
    """``link.buffer_packets`` may differ from the chip's routers (test-2x2: 2); the board geometry then
    carries ``link_buffer``; equal depths leave the geometry as it was."""
    s, _ = _parse(BASE.replace("buffer_packets = { value = 2,", "buffer_packets = { value = 5,"), tmp_path)
    assert s.buffer_packets == 5 and s.geometry()["link_buffer"] == 5
    assert board_chip(s).board["link_buffer"] == 5
    s2, _ = _parse(BASE, tmp_path)
    assert "link_buffer" not in s2.geometry()


@pytest.mark.parametrize("value,problem", [
    ("0", "link.buffer_packets: must be positive, got 0"),
    ("2.5", "link.buffer_packets: expected an integer, got 2.5"),
    ("100000000", "link.buffer_packets: 100000000 packets: the engine's wait queues for the board would take"),
])
def test_bad_link_buffer_is_one_line(tmp_path, value, problem):
    with pytest.raises(ChipConfigError) as exc:
        _parse(BASE.replace("buffer_packets = { value = 2,", f"buffer_packets = {{ value = {value},"), tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{tmp_path / 'sys.toml'}: {problem}"), msg


N_CASES = int(os.environ.get("NMSIM_ORACLE_CASES", "40"))


@pytest.mark.parametrize("kind", ["row-or-column", "2-D", "2-D multicast"])
@pytest.mark.parametrize("seed", range(N_CASES))
def test_engine_matches_oracle_with_chip_link_buffers(kind, seed):
    case = random_case(60_000 + seed, max_lif=100, max_host=8, max_steps=4, board=True, two_d=kind != "row-or-column",
                       link_buffer=True)
    if kind == "2-D multicast":
        case = dataclasses.replace(case, model=dataclasses.replace(case.model, multicast=True))
    assert "link_buffer" in case.model.meta["system"]
    problems = check_case(case, lambda m, n, h: engine.simulate(m, n, h, record=("fired", "payload", "link_busy",
                                                                                "trace")))
    assert not problems, "\n".join(problems)
