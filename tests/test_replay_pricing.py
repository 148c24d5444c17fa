"""The replay's energy comes from nmsim.account: checked against hand sums written out in this file.

Each test would catch one of the breakages the old duplicate pricing let through (dropping the host mask,
doubling static power, moving ``packet_receive`` into the ``noc`` category).
"""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.account import CATEGORY, by_category, price_steps
from nmsim.describe.actions import A, ACTIONS, N_ACTIONS
from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from replay_helpers import tiny_golden, tokens

#: test-2x2's pJ table, written out by hand from chips/test-2x2.toml
PJ = {"neuron_update_active": 10.0, "neuron_update_idle": 1.0, "spike": 2.0, "packet_send": 3.0,
      "packet_receive": 4.0, "synapse_read": 5.0, "synaptic_op": 6.0, "flit_hop_east_west": 7.0,
      "flit_hop_north_south": 8.0, "local_delivery": 0.5, "io_packet": 9.0, "barrier": 20.0,
      "multicast_replication": 3.0, "routing_table_lookup": 2.0,
      "flit_hop_chip": 0.0}  # not in the file: the default of a single chip (nmsim.describe.actions.DEFAULT_PJ)
#: what the host pays for (docs/replay.md): its I/O packets, the hops, copies and look-ups of what it sends, the
#: barrier
HOST_PAYS = ("io_packet", "flit_hop_east_west", "flit_hop_north_south", "barrier", "multicast_replication",
             "routing_table_lookup", "flit_hop_chip")
CATS = {"synapse": ("synapse_read", "synaptic_op", "packet_receive"),
        "neuron": ("neuron_update_active", "neuron_update_idle", "spike"),
        "noc": ("packet_send", "flit_hop_east_west", "flit_hop_north_south", "local_delivery",
                "multicast_replication", "routing_table_lookup", "flit_hop_chip"),
        "io": ("io_packet",), "barrier": ("barrier",)}
STATIC_MW, N_CORES, HZ = 1.0, 8, 1e6   # test-2x2: 1 mW per core, 2x2 routers x 2 cores, 1 MHz


def _vec(d):
    return np.array([d[a] for a in ACTIONS])


def test_categories_are_the_documented_ones():
    assert {c: {a for a in ACTIONS if CATEGORY[a] == c} for c in CATS} == {c: set(v) for c, v in CATS.items()}


def test_price_steps_hand_sum():
    core = np.zeros((2, N_ACTIONS), np.int64)
    host = np.zeros((2, N_ACTIONS), np.int64)
    core[0, A["packet_receive"]] = 3
    core[0, A["synaptic_op"]] = 5
    core[1, A["spike"]] = 2
    host[0, A["spike"]] = 4          # host spikes are free
    host[0, A["packet_send"]] = 1    # so are its packet sends (they are io_packets)
    host[1, A["io_packet"]] = 2
    host[1, A["barrier"]] = 1
    e = price_steps(core, host, np.array([10, 30]), _vec(PJ), STATIC_MW, N_CORES, HZ)
    # step 0: 3 x 4 + 5 x 6 = 42 pJ dynamic; 10 cycles at 1 MHz = 10_000 ns; static 1 mW x 8 x 10_000 ns
    # step 1: 2 x 2 + 2 x 9 + 20 = 42 pJ dynamic; static 1 x 8 x 30_000
    assert e.latency_ns.tolist() == [10_000.0, 30_000.0]
    assert e.static_pj.tolist() == [80_000.0, 240_000.0]
    assert e.step_pj.tolist() == [42.0 + 80_000.0, 42.0 + 240_000.0]
    cats = e.categories()
    assert cats == {"synapse": 42.0, "neuron": 4.0, "noc": 0.0, "io": 18.0, "barrier": 20.0, "static": 320_000.0}
    assert by_category(e.dynamic_pj, 0.0)["synapse"] == 42.0


@pytest.mark.parametrize("decoder", ["chip", "host"])
def test_replay_energy_is_the_hand_sum_of_its_counts(decoder):
    """The replay's summary energy = per-core totals x pJ (host: only what it pays for) + static x time."""
    g = tiny_golden("egru")
    toks = tokens(12)
    chip = load_replay_chip("test-2x2")
    assert (chip.static.core_power_mw, chip.n_cores, chip.clock.frequency_hz) == (STATIC_MW, N_CORES, HZ)
    assert list(chip.energy.vector_pj()) == _vec(PJ).tolist()
    r = replay(ReplayConfig(chip="test-2x2", decoder=decoder), mapped=build_replay(g, chip, decoder=decoder),
               tokens=toks)
    rec, s = r.record, r.summary
    per_core = rec.cnt_core_total               # [cores + host, actions], summed over the steps
    assert per_core[:, A["packet_receive"]].sum() > 0 and per_core[-1, A["spike"]] > 0
    want = {c: 0.0 for c in CATS}
    for c, acts in CATS.items():
        for a in acts:
            want[c] += float(per_core[:-1, A[a]].sum()) * PJ[a]
            if a in HOST_PAYS:
                want[c] += float(per_core[-1, A[a]]) * PJ[a]
    time_ns = float(rec.step_cycles.sum()) / HZ * 1e9
    want["static"] = STATIC_MW * N_CORES * time_ns
    N = len(toks)
    got = s["energy_nj_per_token"]
    for c, v in want.items():
        assert got[c] == pytest.approx(v * 1e-3 / N, rel=1e-5), c
    assert got["total"] == pytest.approx(sum(want.values()) * 1e-3 / N, rel=1e-5)
    assert s["simulated_time_ns"] == pytest.approx(time_ns, rel=1e-6)
    # the per-token rows add up to the run
    assert sum(row["energy_nj"] for row in r.tokens_rows) == pytest.approx(s["energy_nj_total"], rel=1e-5)
