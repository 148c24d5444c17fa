"""Networks: building, validation, model registry, save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nmsim.compile.compiled import MODEL_INPUT, MODEL_LIF
from nmsim.describe.network import Network
from nmsim.describe.neuron_models import INPUT, LIF, get_model
from nmsim.errors import NetworkError


def small_net() -> Network:
    net = Network("small")
    net.add_input("in", 3, payload_bits=4)
    net.add_lif("exc", 4, threshold=[10, 11, 12, 13], decay=256, bias=-1, reset="zero", v_min=-50, v_max=100,
                v_init=[0, 1, 2, 3])
    net.connect("in", "exc", sp.csr_matrix(np.array([[1, 0, 0, 2], [0, 0, 0, 0], [0, -3, 4, 0]])))
    net.connect("exc", "exc", np.eye(4, dtype=int) * 5)
    return net


def test_model_ids_match_compiled_constants():
    assert (INPUT.model_id, LIF.model_id) == (MODEL_INPUT, MODEL_LIF)
    assert LIF.params == ("threshold", "decay", "bias", "reset_mode", "v_min", "v_max",
                          "update_on_event")  # engine-model.md §1
    assert get_model("lif") is LIF


def test_parameters_scalar_or_per_neuron():
    net = small_net()
    p = net.populations["exc"].params
    assert p["threshold"].tolist() == [10, 11, 12, 13]
    assert p["decay"].tolist() == [256] * 4 and p["reset_mode"].tolist() == [1] * 4
    assert p["v_init"].dtype == np.int64
    assert net.n_neurons == 7 and net.nnz == 4 + 4


def test_weights_canonical_csr():
    net = small_net()
    w = net.projections[0].weights
    assert w.dtype == np.int64 and w.nnz == 4  # explicit zeros dropped
    assert w.toarray().tolist() == [[1, 0, 0, 2], [0, 0, 0, 0], [0, -3, 4, 0]]
    dense = Network("d")
    dense.add_input("a", 2)
    dense.add_lif("b", 2, threshold=1)
    q = dense.connect("a", "b", [[0.0, 3.0], [0.0, 0.0]])  # integral floats are accepted
    assert q.weights.toarray().tolist() == [[0, 3], [0, 0]] and q.weights.dtype == np.int64


def test_save_load_round_trip(tmp_path):
    net = small_net()
    path = net.save(tmp_path / "net.npz")
    back = Network.load(path)
    assert back.name == "small"
    assert list(back.populations) == ["in", "exc"]
    for name, p in net.populations.items():
        q = back.populations[name]
        assert (q.model, q.n, q.payload_bits) == (p.model, p.n, p.payload_bits)
        for k in p.params:
            assert np.array_equal(q.params[k], p.params[k])
    for a, b in zip(net.projections, back.projections):
        assert (a.src, a.dst, a.accumulator) == (b.src, b.dst, b.accumulator)
        assert (a.weights != b.weights).nnz == 0


@pytest.mark.parametrize("build,pattern", [
    (lambda n: n.add_lif("exc", 2, threshold=1), r"population 'exc' already exists"),
    (lambda n: n.add_lif("x", 0, threshold=1), r"n must be a positive integer"),
    (lambda n: n.add_lif("x", 2, threshold=[1, 2, 3]), r"expected a scalar or shape \(2,\)"),
    (lambda n: n.add_lif("x", 2, threshold=1.5), r"expected integers, got non-integral"),
    (lambda n: n.add_lif("x", 2, threshold=1, decay=5000), r"decay must be in 0\.\.4096"),
    (lambda n: n.add_lif("x", 2, threshold=1, reset="hard"), r"reset_mode='hard'; choices: subtract, zero"),
    (lambda n: n.add_lif("x", 2, threshold=1, v_min=5, v_max=4, v_init=4), r"v_min must be <= v_max"),
    (lambda n: n.add_lif("x", 2, threshold=1, v_init=-10, v_min=0), r"v_init must lie in"),
    (lambda n: n.add_population("x", "izhikevich", 2), r"unknown neuron model 'izhikevich'; choices: .*lif"),
    (lambda n: n.add_population("x", "lif", 2, threshold=1, tau=3), r"unknown parameter 'tau'"),
    (lambda n: n.add_population("x", "lif", 2), r"missing parameter 'threshold'"),
    (lambda n: n.add_input("x", 2, payload_bits=64), r"payload_bits must be 1\.\.63"),
    (lambda n: n.connect("in", "nope", [[1]]), r"unknown population 'nope'"),
    (lambda n: n.connect("in", "exc", np.ones((4, 3), int)), r"weights shape \(4, 3\), expected \(n_src, n_dst\) = \(3, 4\)"),
    (lambda n: n.connect("in", "exc", np.full((3, 4), 0.5)), r"weights must be integers"),
    (lambda n: n.connect("exc", "in", np.ones((4, 3), int)), r"accumulator 0 out of range|takes no input"),
    (lambda n: n.connect("in", "exc", np.ones((3, 4), int), accumulator=1), r"accumulator 1 out of range"),
    (lambda n: n.connect("in", "exc", np.full((3, 4), 2**31)), r"weight magnitude must be < 2\*\*31"),
])
def test_validation_errors(build, pattern):
    with pytest.raises(NetworkError, match=pattern):
        build(small_net())


def test_load_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(NetworkError, match=r"bad\.npz: not a readable network file"):
        Network.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, header=np.frombuffer(b'{"format": "something-else"}', np.uint8))
    with pytest.raises(NetworkError, match=r"not an nmsim network file"):
        Network.load(other)
    with pytest.raises(NetworkError, match="file not found"):
        Network.load(tmp_path / "missing.npz")


def test_load_revalidates(tmp_path):
    net = small_net()
    path = net.save(tmp_path / "net.npz")
    with np.load(path) as z:
        data = dict(z)
    data["pop1_decay"] = np.full(4, 9999, np.int64)  # tampered parameter
    np.savez(path, **data)
    with pytest.raises(NetworkError, match=r"net\.npz: population 'exc': decay must be in 0\.\.4096"):
        Network.load(path)
