"""Mapping: memory formula, snake order, capacity errors, the partition strategy."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.describe.chip import load_chip
from nmsim.describe.network import Network
from nmsim.errors import MappingError
from nmsim.map import place, place_manual, snake_order, traffic
from nmsim.map.connectivity import core_bytes


def bytes_net() -> Network:
    """in(3) -> a(70): in0 -> every a, in1 -> a0, in2 -> a65; recurrent a0 -> a69."""
    net = Network("bytes")
    net.add_input("in", 3)
    net.add_lif("a", 70, threshold=1)
    w = np.zeros((3, 70), int)
    w[0, :] = 1
    w[1, 0] = 2
    w[2, 65] = -3
    net.connect("in", "a", w)
    r = np.zeros((70, 70), int)
    r[0, 69] = 3
    net.connect("a", "a", r)
    return net


def test_snake_per_core_bytes_by_hand():
    pl = place("test-2x2", bytes_net(), "snake")
    # core 0: a0..a63 (64 = max_neurons); core 1: a64..a69
    assert pl.core_of["in"].tolist() == [8, 8, 8]
    assert (pl.core_of["a"][:64] == 0).all() and (pl.core_of["a"][64:] == 1).all()
    assert pl.neurons.tolist() == [64, 6, 0, 0, 0, 0, 0, 0]
    # core 0: 64 synapses from in0 + 1 from in1; rows in0, in1
    # core 1: 6 from in0 + 1 from in2 + 1 from a0; rows in0, in2, a0
    assert pl.synapses.tolist()[:2] == [65, 8]
    assert pl.rows.tolist()[:2] == [2, 3]
    # bytes = ceil((nnz * (8 + 8) + rows * 8) / 8)
    assert pl.bytes.tolist()[:2] == [(65 * 16 + 2 * 8) // 8, (8 * 16 + 3 * 8) // 8] == [132, 19]
    u = pl.utilization()
    assert [r["core"] for r in u] == [0, 1]
    assert u[0]["neuron_frac"] == 1.0 and u[1]["byte_frac"] == 19 / 256 and u[1]["row_frac"] == 3 / 32
    assert "2 of 8 cores used (snake)" in pl.utilization_table()


def test_bytes_round_up_to_whole_bytes(chip_text, write_chip):
    text = (chip_text.replace("weight_bits = { value = 8,", "weight_bits = { value = 5,")
            .replace("synapse_index_bits = { value = 8,", "synapse_index_bits = { value = 7,")
            .replace("row_pointer_bits = { value = 8,", "row_pointer_bits = { value = 9,"))
    chip = load_chip(write_chip(text))
    assert core_bytes(chip, 3, 1) == 6  # 3 x 12 + 9 = 45 bits -> 6 bytes
    net = Network("round")
    net.add_input("in", 1)
    net.add_lif("a", 3, threshold=1)
    net.connect("in", "a", [[1, 1, 1]])
    assert place(chip, net).bytes[0] == 6


def test_snake_order_2x2_and_loihi():
    # y=0: routers (0,0), (1,0); y=1 reversed: (1,1) = router 3 (cores 6, 7), then (0,1) = router 2 (cores 4, 5)
    assert snake_order(load_chip("test-2x2")).tolist() == [0, 1, 2, 3, 6, 7, 4, 5]
    order = snake_order(load_chip("loihi"))
    assert order[28:36].tolist() == [28, 29, 30, 31, 60, 61, 62, 63]  # (7,0) then (7,1)
    assert sorted(order.tolist()) == list(range(128))


def test_snake_fills_cores_along_the_boustrophedon():
    net = Network("flat")
    net.add_lif("a", 300, threshold=1)
    pl = place("test-2x2", net, "snake")
    assert pl.neurons.tolist() == [64, 64, 64, 64, 0, 0, 300 - 256, 0]


def test_too_many_neurons_names_population_and_sizes():
    net = Network("big")
    net.add_lif("exc", 600, threshold=1)
    with pytest.raises(MappingError, match=r"^population 'exc' \(600 neurons\) does not fit chip 'test-2x2': "
                                           r"8 cores × 64 neurons = 512 neurons"):
        place("test-2x2", net)
    net = Network("two")
    net.add_lif("a", 300, threshold=1)
    net.add_lif("b", 300, threshold=1)
    with pytest.raises(MappingError, match=r"population 'b' \(300 neurons\)"):
        place("test-2x2", net, "partition")


def _fan_in(n_src: int, n_proj: int = 1) -> Network:
    net = Network("fan")
    net.add_input("in", n_src)
    net.add_lif("exc", 1, threshold=1)
    for _ in range(n_proj):
        net.connect("in", "exc", np.ones((n_src, 1), int))
    return net


def test_single_neuron_over_fan_in_or_memory():
    with pytest.raises(MappingError, match=r"population 'exc' neuron 0 needs 40 fan-in axons \(distinct sources\), "
                                           r"but a core of chip 'test-2x2' has 32"):
        place("test-2x2", _fan_in(40))
    # 4 projections x 30 synapses: (120 x 16 + 30 x 8) / 8 = 270 bytes > 256
    with pytest.raises(MappingError, match=r"population 'exc' neuron 0 needs 270 bytes of synapse memory, "
                                           r"but a core of chip 'test-2x2' has 256"):
        place("test-2x2", _fan_in(30, 4))


def test_synapse_memory_runs_out():
    net = Network("mem")
    net.add_input("in", 30)
    net.add_lif("exc", 100, threshold=1)
    net.connect("in", "exc", np.ones((30, 100), int))
    # per core: 3 neurons x 30 synapses x 16 bits + 30 rows x 8 bits = 1680 <= 2048 bits; a 4th needs 2160
    with pytest.raises(MappingError, match=r"population 'exc' \(100 neurons\) does not fit chip 'test-2x2': .*"
                                           r"256 bytes of synapse memory.*placed 24 of its neurons"):
        place("test-2x2", net)


def test_weight_payload_and_accumulator_limits(relay_model):
    net = Network("w")
    net.add_input("in", 2)
    net.add_lif("exc", 2, threshold=1)
    net.connect("in", "exc", [[200, 0], [0, 1]])
    with pytest.raises(MappingError, match=r"projection 'in' -> 'exc' has weight 200, outside chip 'test-2x2' "
                                           r"weight_bits = 8 \(signed range -128\.\.127\)"):
        place("test-2x2", net)
    net = Network("p")
    net.add_input("in", 2, payload_bits=9)
    with pytest.raises(MappingError, match=r"population 'in' sends 9-bit payloads, wider than chip 'test-2x2' "
                                           r"payload_bits = 8"):
        place("test-2x2", net)
    net = Network("acc")
    net.add_input("in", 2)
    net.add_population("r", "test-relay", 2, floor=0)
    net.connect("in", "r", np.eye(2, dtype=int), accumulator=1)
    place("test-2x2", net)  # test-2x2 has 2 accumulators per neuron, loihi 1
    with pytest.raises(MappingError, match=r"targets accumulator 1, but chip 'loihi' has 1 accumulator"):
        place("loihi", net)


def test_accumulator_beyond_test_chip(relay_model):
    net = Network("acc")
    net.add_input("in", 2)
    net.add_population("r", "test-relay", 2, floor=0)
    net.connect("in", "r", np.eye(2, dtype=int), accumulator=2)
    with pytest.raises(MappingError, match=r"accumulator 2, but chip 'test-2x2' has 2 accumulator\(s\)"):
        place("test-2x2", net)


def test_strategy_choices():
    net = Network("n")
    net.add_lif("a", 2, threshold=1)
    with pytest.raises(MappingError, match=r"placement strategy 'random'; choices: balanced, snake, partition"):
        place("test-2x2", net, "random")


def clustered(n: int = 64, k: int = 4, p: float = 0.2, seed: int = 1) -> Network:
    """k clusters, interleaved (neuron i is in cluster i % k) so network order mixes them."""
    rng = np.random.default_rng(seed)
    cl = np.arange(n) % k
    w = ((cl[:, None] == cl[None, :]) & (rng.random((n, n)) < p)).astype(int)
    np.fill_diagonal(w, 0)
    net = Network("clusters")
    net.add_lif("exc", n, threshold=5)
    net.connect("exc", "exc", w)
    return net


def test_partition_cuts_traffic_on_clustered_network():
    net = clustered()
    snake = traffic("test-2x2", net, place("test-2x2", net, "snake"))
    part_pl = place("test-2x2", net, "partition", seed=0)
    part = traffic("test-2x2", net, part_pl)
    assert part["hop_packets"] < snake["hop_packets"] // 2
    assert part["packets"] < snake["packets"]
    # still within every capacity
    assert (part_pl.neurons <= 64).all() and (part_pl.rows <= 32).all() and (part_pl.bytes <= 256).all()
    assert part_pl.neurons.sum() == 64


def test_partition_is_deterministic_given_seed():
    net = clustered()
    a = place("test-2x2", net, "partition", seed=3)
    b = place("test-2x2", net, "partition", seed=3)
    assert np.array_equal(a.core_of["exc"], b.core_of["exc"])


def test_traffic_by_hand():
    net = Network("t")
    net.add_input("in", 1)
    net.add_lif("a", 2, threshold=1)
    net.connect("in", "a", [[1, 1]])
    pl = place_manual("test-2x2", net, {"a": [7, 2]})
    # host at router (0,0): core 7 is on router (1,1) = 2 hops, core 2 on (1,0) = 1 hop
    assert traffic("test-2x2", net, pl) == {"packets": 2, "hop_packets": 3}


def test_manual_placement_checks_capacity():
    net = Network("m")
    net.add_lif("a", 70, threshold=1)
    with pytest.raises(MappingError, match=r"manual placement: core 0 holds 70 neurons, chip 'test-2x2' allows 64"):
        place_manual("test-2x2", net, {"a": 0})
    with pytest.raises(MappingError, match=r"uses a core outside 0\.\.7"):
        place_manual("test-2x2", net, {"a": 8})
