"""Compile: hand-written expected arrays, and results independent of the mapping."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.compile.build import compile_model, gather, neuron_index, scatter_inputs
from nmsim.compile.compiled import MODEL_INPUT, MODEL_LIF
from nmsim.describe.network import Network
from nmsim.describe.neuron_models import get_model
from nmsim.describe.reference import run_reference, run_reference_full
from nmsim.errors import MappingError
from nmsim.map import place, place_manual
from nmsim.pipeline import build

BIG, SMALL = 2**31 - 1, -(2**31)


def tiny() -> Network:
    net = Network("tiny")
    net.add_input("in", 2)
    net.add_lif("a", 2, threshold=[5, 6], decay=[0, 100], bias=[0, 1], v_min=-100, v_max=100, v_init=[0, 2])
    net.add_lif("b", 3, threshold=4, reset="zero")
    net.connect("in", "a", [[2, 5], [0, -1]])
    net.connect("a", "b", [[4, 6, -2], [7, 0, 0]])
    net.connect("in", "b", [[0, 0, 0], [3, 0, 0]])
    net.connect("a", "a", [[0, 0], [1, 0]])
    return net


def test_tiny_network_arrays_by_hand():
    net = tiny()
    # a0 on core 3 (router (1,0)), a1 on core 0 (router (0,0)), b on core 6 (router (1,1))
    cm = compile_model("test-2x2", net, place_manual("test-2x2", net, {"a": [3, 0], "b": 6}))
    # compiled order: g0 = a1 (core 0), g1 = a0 (core 3), g2..g4 = b0..b2 (core 6), g5, g6 = in0, in1 (host)
    assert (cm.width, cm.height, cm.n_cores, cm.io_router, cm.n_neurons) == (2, 2, 8, 0, 7)
    assert cm.core_router.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 0]
    assert cm.core_neuron_ptr.tolist() == [0, 1, 1, 1, 2, 2, 2, 5, 5, 7]
    assert cm.neuron_model.tolist() == [MODEL_LIF] * 5 + [MODEL_INPUT] * 2
    assert cm.neuron_pop.tolist() == [1, 1, 2, 2, 2, 0, 0]
    assert cm.neuron_local.tolist() == [1, 0, 0, 1, 2, 0, 1]
    assert cm.neuron_param.tolist() == [
        [6, 100, 1, 0, -100, 100, 0, 0],
        [5, 0, 0, 0, -100, 100, 0, 0],
        [4, 0, 0, 1, SMALL, BIG, 0, 0], [4, 0, 0, 1, SMALL, BIG, 0, 0], [4, 0, 0, 1, SMALL, BIG, 0, 0],
        [0] * 8, [0] * 8]
    assert cm.neuron_state[:, 0].tolist() == [2, 0, 0, 0, 0, 0, 0]
    # rows grouped by destination core, then source: core 0: g5, g6; core 3: g0, g5; core 6: g0, g1, g6
    assert cm.row_ptr.tolist() == [0, 1, 2, 3, 4, 5, 8, 9]
    assert cm.row_core.tolist() == [0, 0, 3, 3, 6, 6, 6]
    assert cm.syn_target.tolist() == [0, 0, 1, 1, 2, 2, 3, 4, 2]
    assert cm.syn_weight.tolist() == [5, -1, 1, 2, 7, 4, 6, -2, 3]
    assert cm.syn_acc.tolist() == [0] * 9
    assert cm.row_n_reads.tolist() == [1, 1, 1, 1, 1, 2, 1]  # 2 synapses per read
    # routes: destination cores ascending per source
    assert cm.route_ptr.tolist() == [0, 2, 3, 3, 3, 3, 5, 7]
    assert cm.route_core.tolist() == [3, 6, 6, 0, 3, 0, 6]
    assert cm.route_row.tolist() == [2, 4, 5, 0, 3, 1, 6]
    assert cm.timing.tolist() == [3, 1, 2, 4, 5, 7, 6, 8, 9, 2, 2, 1, 2, 2, 16]  # then 1 value, 2 flits to the host
    assert cm.n_accumulators == 2 and cm.n_links == 4 * 4 + 2 * 9
    # meta: per-core bytes = ceil((nnz x 16 + rows x 8) / 8)
    assert cm.meta["chip"] == "test-2x2" and cm.meta["populations"] == ["in", "a", "b"]
    assert cm.meta["core_bytes"].tolist() == [6, 0, 0, 6, 0, 0, 13, 0]
    assert cm.meta["core_rows"].tolist() == [2, 0, 0, 2, 0, 0, 3, 0]
    assert neuron_index(cm, "a").tolist() == [1, 0] and neuron_index(cm, "in").tolist() == [5, 6]
    cm.check()


def test_custom_model_compiles_without_mapper_changes(relay_model):
    net = Network("relay")
    net.add_input("in", 1)
    net.add_population("r", "test-relay", 2, floor=[3, 4], n_init=[9, 8])
    net.connect("in", "r", [[1, 2]], accumulator=1)
    cm = build("test-2x2", net)
    assert cm.neuron_model.tolist() == [99, 99, MODEL_INPUT]
    assert cm.neuron_param[:2, :2].tolist() == [[3, 7], [4, 7]]
    assert cm.neuron_state[:2, 0].tolist() == [9, 8]
    assert cm.syn_acc.tolist() == [1, 1]


# ----------------------------------------------------------------------------- LIF reference by hand


def test_reference_lif_subtract_by_hand():
    net = Network("lif1")
    net.add_input("in", 1)
    net.add_lif("a", 1, threshold=10)
    net.connect("in", "a", [[6]])
    fired = run_reference(net, {"in": np.ones((7, 1), int)}, 7)
    # an event at t is read at t+1: v = 0, 6, 12->2, 8, 14->4, 10 (not > 10), 16->6
    assert fired["a"][:, 0].tolist() == [0, 0, 1, 0, 1, 0, 1]
    assert fired["in"][:, 0].tolist() == [1] * 7


def test_reference_lif_decay_bias_reset_zero_by_hand():
    net = Network("lif2")
    net.add_lif("a", 1, threshold=4, decay=2048, bias=3, reset="zero", v_min=-8, v_max=20, v_init=-3)
    run = run_reference_full(net, {}, 5)
    # v: -3 -> -3 - floor(-1.5) + 3 = 2 -> 2 - 1 + 3 = 4 -> 5 fire, 0 -> 3 -> 3 - 1 + 3 = 5 fire, 0
    assert run.fired["a"][:, 0].tolist() == [0, 0, 1, 0, 1]
    assert run.final_state["a"][0, 0] == 0


def test_reference_saturation_and_graded_payload():
    net = Network("sat")
    net.add_input("in", 1, payload_bits=4)
    net.add_lif("hi", 1, threshold=100, bias=50, v_max=60)
    net.add_lif("lo", 1, threshold=100, bias=-50, v_min=-70)
    net.add_lif("g", 1, threshold=5)
    net.connect("in", "g", [[2]])
    inp = np.array([[3], [0], [0]])
    run = run_reference_full(net, {"in": inp}, 3)
    assert run.final_state["hi"][0, 0] == 60 and run.fired["hi"].sum() == 0
    assert run.final_state["lo"][0, 0] == -70
    # payload 3 x weight 2 = 6 > 5 at t=1, then v = 1
    assert run.fired["g"][:, 0].tolist() == [0, 1, 0]
    assert run.payload["in"][:, 0].tolist() == [3, 0, 0]


# ----------------------------------------------------------------------------- mapping never changes results


def run_compiled(cm, ext: np.ndarray, n_steps: int) -> np.ndarray:
    """Functional semantics (engine-model.md §1) on the compiled arrays only: ``fired uint8[n_steps, N]``."""
    N = cm.n_neurons
    lif_update = get_model("lif").update
    state = cm.neuron_state.copy()
    acc = np.zeros((N, cm.n_accumulators), np.int64)
    fired = np.zeros((n_steps, N), np.uint8)
    lif, host = cm.neuron_model == MODEL_LIF, cm.neuron_model == MODEL_INPUT
    for t in range(n_steps):
        f, pay, new, _ = lif_update(cm.neuron_param[lif], state[lif], acc[lif])
        state[lif] = new
        payload = np.zeros(N, np.int64)
        payload[lif] = np.where(f, pay, 0)
        payload[host] = ext[t, host]
        fired[t] = payload != 0
        nxt = np.zeros_like(acc)
        for g in np.flatnonzero(payload):
            for k in range(cm.route_ptr[g], cm.route_ptr[g + 1]):
                a, b = cm.row_ptr[cm.route_row[k]], cm.row_ptr[cm.route_row[k] + 1]
                np.add.at(nxt, (cm.syn_target[a:b], cm.syn_acc[a:b]), cm.syn_weight[a:b] * payload[g])
        acc = nxt
    return fired


def random_net(seed: int = 0, payload_bits: int = 2) -> Network:
    rng = np.random.default_rng(seed)
    net = Network("random")
    net.add_input("in", 10, payload_bits=payload_bits)
    net.add_lif("exc", 40, threshold=6, decay=512, bias=rng.integers(0, 2, 40))
    net.add_lif("inh", 10, threshold=4, reset="zero")
    net.connect("in", "exc", rng.integers(-3, 9, (10, 40)) * (rng.random((10, 40)) < 0.2))
    net.connect("exc", "exc", rng.integers(-5, 6, (40, 40)) * (rng.random((40, 40)) < 0.04))
    net.connect("exc", "inh", rng.integers(0, 4, (40, 10)) * (rng.random((40, 10)) < 0.15))
    net.connect("inh", "exc", -rng.integers(0, 4, (10, 40)) * (rng.random((10, 40)) < 0.1))
    return net


@pytest.mark.parametrize("chip,strategy", [("test-2x2", "snake"), ("test-2x2", "partition"),
                                           ("loihi", "snake"), ("spinnaker2", "partition")])
def test_mapping_never_changes_results(chip, strategy):
    binary = chip == "loihi"  # Loihi 1 carries binary spikes only
    net = random_net(payload_bits=1 if binary else 2)
    n_steps = 25
    rng = np.random.default_rng(1)
    inputs = {"in": rng.integers(1 if binary else 0, 2 if binary else 4, (n_steps, 10)) * (rng.random((n_steps, 10)) < 0.4)}
    ref = run_reference(net, inputs, n_steps)
    assert ref["exc"].sum() > 10 and ref["inh"].sum() > 0  # the test exercises recurrent spikes
    cm = build(chip, net, strategy, seed=2)
    fired = run_compiled(cm, scatter_inputs(cm, inputs, n_steps), n_steps)
    for pop in net.populations:
        assert np.array_equal(gather(cm, fired, pop), ref[pop]), pop


def test_compile_rejects_a_placement_for_another_chip():
    net = tiny()
    with pytest.raises(MappingError, match="placement was made for chip 'test-2x2', not 'loihi'"):
        compile_model("loihi", net, place("test-2x2", net))


def test_check_rejects_a_synapse_whose_target_is_off_its_rows_core():
    from nmsim.compile.lif import lif_model

    m = lif_model(width=2, height=1, core_router=[0, 1], neuron_core=[0, 1, 1], n_host=1, edges=[(3, 1, 2), (3, 2, 1)])
    m.check()
    m.syn_target[1] = 0  # a target of core 1's row moved to core 0's neuron
    with pytest.raises(AssertionError, match="synapse target not on its row's core"):
        m.check()


def test_lex_order_is_numpy_lexsort():
    """``build.lex_order`` (keys packed into one int64, or its fallback) gives ``np.lexsort``'s order: random keys
    with ties, a key outside its bound and bounds whose product overflows take the fallback, empty keys."""
    from nmsim.compile.build import lex_order

    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(0, 400))
        bounds = tuple(int(b) for b in rng.integers(1, 6, int(rng.integers(1, 5))))
        keys = tuple(rng.integers(0, b, n) for b in bounds)
        assert np.array_equal(lex_order(keys, bounds), np.lexsort(keys)) if n else lex_order(keys, bounds).size == 0
        bad = keys[:-1] + (keys[-1] + bounds[-1],)  # the primary key past its bound: fallback, same order
        assert np.array_equal(lex_order(bad, bounds), np.lexsort(bad))
    big = (rng.integers(0, 2**40, 50), rng.integers(0, 2**40, 50))
    assert np.array_equal(lex_order(big, (2**40, 2**40)), np.lexsort(big))
