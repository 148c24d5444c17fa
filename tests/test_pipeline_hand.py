"""Hand-computed (cycles, pJ) of a small run on the shipped test-2x2 chip, through the whole pipeline.

describe (chips/test-2x2.toml) -> map (manual) -> compile -> simulate -> account.  Every expected value is
worked out below from the chip file's numbers and docs/engine-model.md; nothing is copied from a run.

test-2x2: 1 MHz, 2x2 routers, 2 cores per router (core c on router c // 2, router r at (r % 2, r // 2)), host
on router (0, 0); packets of 20 + 8 bits over 16-bit links = 2 flits; spike_send 2, io_packet 4, hop E/W 5,
hop N/S 7, local_delivery 6, packet_receive 8, synapse_read 9 (2 synapses per read), neuron update active 3 /
idle 1 cycles; barrier 10 + 3 x (1 + 1) = 16 cycles; static 1 mW per core x 8 cores.
"""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.account import account
from nmsim.compile.build import compile_model
from nmsim.describe.actions import A, N_ACTIONS
from nmsim.describe.chip import load_chip
from nmsim.describe.network import Network
from nmsim.map.placement import place_manual
from nmsim.sim import simulate


def _run():
    chip = load_chip("test-2x2")
    net = Network("hand")
    net.add_input("in", 1)
    net.add_lif("a", 1, threshold=0, reset="zero")   # fires on any positive input, then v = 0
    net.add_lif("b", 1, threshold=0, reset="zero")
    net.connect("in", "a", np.array([[1]]))
    net.connect("a", "b", np.array([[1]]))
    pl = place_manual(chip, net, {"a": 1, "b": 6})   # a: core 1 on router (0,0); b: core 6 on router (1,1)
    cm = compile_model(chip, net, pl)
    r = simulate(cm, 3, inputs=np.array([[1], [0], [0]]))
    return chip, cm, r


def test_cycles_by_hand():
    _, _, r = _run()
    # step 0: a, b idle (1 cycle each).  Host event: io injection granted 0 (occ = lat = 4); a is on the io
    # router, so ejection next: granted 4, lat 6 + 2 - 1 = 7 -> arrives 11; synapse unit 11 + 8 + 1 x 9 = 28.
    # T = 28, + barrier 16 = 44.
    # step 1: a active (u = 1), fires at f = 3; b idle.  Injection granted 3 (lat 2) -> east link at 5
    # (lat 5 + 1 = 6) -> north link at 11 (lat 7 + 1 = 8) -> ejection at 19 (lat 7) -> arrives 26;
    # synapse unit 26 + 8 + 9 = 43.  43 + 16 = 59.
    # step 2: a idle (v was reset to 0), b active (3 cycles) and fires; b has no routes.  3 + 16 = 19.
    assert r.step_cycles.tolist() == [44, 59, 19]


def test_counts_and_energy_by_hand():
    chip, cm, r = _run()
    C = cm.n_cores
    want = np.zeros((3, C + 1, N_ACTIONS), np.int64)
    want[0, 1, A["neuron_update_idle"]] = want[0, 6, A["neuron_update_idle"]] = 1
    want[0, C, A["spike"]] = want[0, C, A["io_packet"]] = 1
    for a in ("local_delivery", "packet_receive", "synapse_read", "synaptic_op"):
        want[0, 1, A[a]] = 1
        want[1, 6, A[a]] = 1
    want[1, 1, A["neuron_update_active"]] = want[1, 6, A["neuron_update_idle"]] = 1
    want[1, 1, A["spike"]] = want[1, 1, A["packet_send"]] = 1
    want[1, 1, A["flit_hop_east_west"]] = want[1, 1, A["flit_hop_north_south"]] = 2  # 2 flits, 1 hop each
    want[2, 1, A["neuron_update_idle"]] = want[2, 6, A["neuron_update_active"]] = want[2, 6, A["spike"]] = 1
    want[:, C, A["barrier"]] = 1
    np.testing.assert_array_equal(r.counters, want)
    rep = account(r, chip.energy.vector_pj(), chip.static.core_power_mw, chip.n_cores, chip.clock.frequency_hz)
    # pJ from chips/test-2x2.toml: idle 1, active 10, spike 2, send 3, receive 4, read 5, op 6, E/W 7, N/S 8,
    # local delivery 0.5, io 9, barrier 20; the host's spike is free.
    dyn = [2 * 1 + 9 + 0.5 + 4 + 5 + 6 + 20,
           10 + 1 + 2 + 3 + 2 * 7 + 2 * 8 + 0.5 + 4 + 5 + 6 + 20,
           1 + 10 + 2 + 20]
    static = [1.0 * 8 * 44_000, 1.0 * 8 * 59_000, 1.0 * 8 * 19_000]   # mW x cores x ns = pJ
    assert dyn == [46.5, 81.5, 33.0]
    assert rep.step_pj.tolist() == pytest.approx([d + s for d, s in zip(dyn, static)], rel=1e-12)
    assert rep.total_pj == pytest.approx(sum(dyn) + sum(static), rel=1e-12)
