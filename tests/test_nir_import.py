"""NIR import: graphs built with the ``nir`` package, checked against hand-computed integer dynamics."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

nir = pytest.importorskip("nir", reason="NIR tests need the nir package (pip install 'nmsim[nir]')")

from nmsim.commands.nir import depths, simulate_snn  # noqa: E402
from nmsim.nir import import_nir  # noqa: E402
from nmsim.nir.graph import conv2d_matrix  # noqa: E402


def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _if_graph(w, thr, bias=None):
    n_out, n_in = w.shape
    lin = nir.Affine(weight=w, bias=bias) if bias is not None else nir.Linear(weight=w)
    return _graph({"input": nir.Input(input_type=np.array([n_in])), "fc": lin,
                   "lif": nir.IF(r=np.ones(n_out), v_threshold=np.full(n_out, float(thr))),
                   "output": nir.Output(output_type=np.array([n_out]))},
                  [("input", "fc"), ("fc", "lif"), ("lif", "output")])


def _hand_if(x, w, thr, bias, reset_zero=True):
    """Integrate-and-fire by hand: v <- v + W x[t-1] + b (events arrive one step later), spike iff v > thr."""
    T, n = x.shape[0], w.shape[0]
    v = np.zeros(n)
    out = np.zeros((T, n), np.int64)
    for t in range(T):
        v = v + (w @ x[t - 1] if t else 0) + bias
        s = v > thr
        out[t] = s
        v = np.where(s, 0 if reset_zero else v - thr, v)
    return out


def test_integer_if_graph_maps_exactly_and_matches_hand_dynamics(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.integers(-4, 8, (5, 7)).astype(np.float32)
    b = rng.integers(-1, 2, 5).astype(np.float32)
    nir.write(str(tmp_path / "g.nir"), _if_graph(w, 6, b))
    net, rep = import_nir(tmp_path / "g.nir", weight_bits=8)
    assert rep.exact and [p["scale"] for p in rep.populations] == [1.0]
    assert net.populations["lif"].to_host  # NIR Output -> events to the host
    x = (rng.random((40, 7)) < 0.5).astype(np.int64)
    spikes, _, _, _ = simulate_snn(net, "test-2x2", {"input": x}, 40, stagger=False)
    assert np.array_equal(spikes["lif"], _hand_if(x, w, 6, b))


def test_float_weights_get_a_power_of_two_scale_within_the_chip_range(tmp_path):
    w = np.array([[0.3, -0.7], [0.05, 1.0]], np.float32)
    nir.write(str(tmp_path / "g.nir"), _if_graph(w, 1.5))
    net, rep = import_nir(tmp_path / "g.nir", weight_bits=8)
    (p,) = rep.populations
    assert p["scale"] == 64.0  # largest 2**k with 1.0 * 2**k <= 127
    q = net.projections[0].weights.toarray()
    assert np.array_equal(q, np.round(64 * w.T.astype(np.float64)))  # [src, dst], half away from zero
    assert net.populations["lif"].params["threshold"][0] == 96  # floor(64 * 1.5)
    assert not p["exact"] and 0 < p["max_weight_error"] <= 0.5 / 64
    _, rep16 = import_nir(tmp_path / "g.nir", weight_bits=16)
    assert rep16.populations[0]["scale"] == 2.0**14


def test_graph_scale_mode_uses_the_smallest_population_scale(tmp_path):
    g = _graph({"input": nir.Input(input_type=np.array([2])), "a": nir.Linear(weight=np.array([[0.5, 0.25]])),
                "l1": nir.IF(r=np.ones(1), v_threshold=np.ones(1)), "b": nir.Linear(weight=np.array([[3.3]])),
                "l2": nir.IF(r=np.ones(1), v_threshold=np.ones(1))},
               [("input", "a"), ("a", "l1"), ("l1", "b"), ("b", "l2")])
    nir.write(str(tmp_path / "g.nir"), g)
    _, rep = import_nir(tmp_path / "g.nir", weight_bits=8)
    # l1: 0.5 * 2**7 = 64 fits 127, 0.5 * 2**8 = 128 does not; l2: round(3.3 * 2**5) = 106 fits, 211 does not
    assert [p["scale"] for p in rep.populations] == [128.0, 32.0]
    net, rep = import_nir(tmp_path / "g.nir", weight_bits=8, scale_mode="graph")
    assert [p["scale"] for p in rep.populations] == [32.0, 32.0]
    assert net.projections[0].weights.toarray().ravel().tolist() == [16, 8]


def test_lif_leak_and_v_reset_shift(tmp_path):
    """tau = 2 dt: decay 2048/4096; v_reset = -2 shifts thresholds by +2 and starts v at +2 (exact)."""
    n = 3
    g = _graph({"input": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=np.ones((n, 2))),
                "lif": nir.LIF(tau=np.full(n, 2e-3), r=np.full(n, 2.0), v_leak=np.zeros(n), v_threshold=np.full(n, 5.0),
                               v_reset=np.full(n, -2.0))},
               [("input", "fc"), ("fc", "lif")])
    nir.write(str(tmp_path / "g.nir"), g)
    net, rep = import_nir(tmp_path / "g.nir", weight_bits=16, dt=1e-3)
    p = net.populations["lif"].params
    s = rep.populations[0]["scale"]
    assert p["decay"][0] == 2048
    assert p["threshold"][0] == int(np.floor(s * 7.0)) and p["v_init"][0] == s * 2.0
    assert p["bias"][0] == s * 0.5 * 2.0  # dt/tau * (v_leak - v_reset)
    with pytest.raises(Exception, match="--dt"):
        import_nir(tmp_path / "g.nir", weight_bits=16)


def test_conv2d_matrix_matches_direct_convolution():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 2, 3, 3))
    node = nir.Conv2d(input_shape=(5, 6), weight=w, stride=(2, 1), padding=(1, 0), dilation=1, groups=2,
                      bias=rng.normal(size=4))
    x = rng.normal(size=(4, 5, 6))
    m, b, (co, ho, wo) = conv2d_matrix(node, (4, 5, 6), "test")
    got = (x.reshape(-1) @ m.toarray() + b).reshape(co, ho, wo)
    xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
    want = np.zeros((4, ho, wo))
    for o in range(4):
        for i in range(ho):
            for j in range(wo):
                cin = slice((o // 2) * 2, (o // 2) * 2 + 2)
                want[o, i, j] = (xp[cin, 2 * i:2 * i + 3, j:j + 3] * w[o]).sum() + node.bias[o]
    assert np.allclose(got, want)


def test_cuba_lif_maps_onto_loihi_lif(tmp_path):
    """CubaLIF with tau_syn = tau_mem = dt (full decays) and w_in = 1: u = input, v = u (integer, exact)."""
    n = 2
    g = _graph({"input": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=np.array([[3.0, 1.0], [2.0, 2.0]])),
                "cuba": nir.CubaLIF(tau_syn=np.full(n, 1e-3), tau_mem=np.full(n, 1e-3), r=np.ones(n), v_leak=np.zeros(n),
                                    v_threshold=np.full(n, 2.0))},
               [("input", "fc"), ("fc", "cuba")])
    nir.write(str(tmp_path / "g.nir"), g)
    net, rep = import_nir(tmp_path / "g.nir", weight_bits=8, dt=1e-3)
    assert rep.populations[0]["model"] == "loihi_lif" and rep.exact
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    spikes, _, _, _ = simulate_snn(net, "test-2x2", {"input": x}, 4, stagger=False)
    # v(t) = W x(t-1): [0,0], [3,2], [1,2], [4,4] -> spikes where > 2
    assert spikes["cuba"].tolist() == [[0, 0], [1, 0], [0, 0], [1, 1]]


def test_depths_follow_synaptic_hops(tmp_path):
    w = np.ones((3, 2))
    g = _graph({"input": nir.Input(input_type=np.array([2])), "a": nir.Linear(weight=w),
                "l1": nir.IF(r=np.ones(3), v_threshold=np.ones(3)), "b": nir.Linear(weight=np.ones((3, 3))),
                "l2": nir.IF(r=np.ones(3), v_threshold=np.ones(3))},
               [("input", "a"), ("a", "l1"), ("l1", "b"), ("b", "l2"), ("b", "l1")])
    nir.write(str(tmp_path / "g.nir"), g)
    net, _ = import_nir(tmp_path / "g.nir", weight_bits=8)
    assert depths(net) == {"input": 0, "l1": 1, "l2": 2}
    assert {(q.src, q.dst) for q in net.projections} == {("input", "l1"), ("l1", "l2"), ("l1", "l1")}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nmsim", *map(str, args)], capture_output=True, text=True)


def test_unsupported_node_is_one_line_exit_2(tmp_path):
    g = _graph({"input": nir.Input(input_type=np.array([4])), "li": nir.LI(tau=np.ones(4), r=np.ones(4),
                                                                             v_leak=np.zeros(4))},
               [("input", "li")])
    path = tmp_path / "bad.nir"
    nir.write(str(path), g)
    r = _cli("nir", "import", path, "--out", tmp_path / "n", "--chip", "loihi")
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nmsim: error:")
    assert "LI" in lines[0] and "'li'" in lines[0] and str(path) in lines[0]
    r = _cli("nir", "import", tmp_path / "missing.nir", "--out", tmp_path / "n", "--chip", "loihi")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_cli_import_and_run_snn_write_outputs(tmp_path):
    rng = np.random.default_rng(2)
    w = rng.integers(-2, 5, (4, 3)).astype(np.float32)
    nir.write(str(tmp_path / "g.nir"), _if_graph(w, 3))
    r = _cli("nir", "import", tmp_path / "g.nir", "--out", tmp_path / "net.npz", "--weight-bits", "8")
    assert r.returncode == 0, r.stderr
    from nmsim.describe.network import Network

    assert Network.load(tmp_path / "net.npz").populations["lif"].n == 4
    q = json.loads((tmp_path / "net.quant.json").read_text())
    assert q["exact"] and q["populations"][0]["scale"] == 1.0
    x = (rng.random((25, 3)) < 0.5).astype(np.int8)
    np.savez(tmp_path / "in.npz", input=x)
    r = _cli("run-snn", tmp_path / "g.nir", "--chip", "loihi", "--input", tmp_path / "in.npz", "--out", tmp_path / "run")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "run" / "spikes.npz") as z:
        got = z["lif"]
    # staggered: the depth-1 population starts at step 1, so its row t answers input row t (no bias here)
    want = _hand_if(np.vstack([x, np.zeros((1, 3))]), w, 3, np.zeros(4))[1:]
    assert np.array_equal(got, want)
    c = json.loads((tmp_path / "run" / "counts.json").read_text())
    assert c["spike_counts"]["lif"] == int(want.sum()) and c["depth"]["lif"] == 1
    first = [(tmp_path / "run" / f).read_bytes() for f in ("spikes.npz", "counts.json", "quant.json")]
    r = _cli("run-snn", tmp_path / "g.nir", "--chip", "loihi", "--input", tmp_path / "in.npz", "--out", tmp_path / "run")
    assert r.returncode == 0 and first == [(tmp_path / "run" / f).read_bytes()
                                           for f in ("spikes.npz", "counts.json", "quant.json")]  # byte-identical
    np.savez(tmp_path / "bad.npz", input=x * 2)
    r = _cli("run-snn", tmp_path / "g.nir", "--chip", "loihi", "--input", tmp_path / "bad.npz")
    assert r.returncode == 2 and "spikes (0 or 1)" in r.stderr


def test_conv2d_graph_end_to_end(tmp_path):
    """Input (1, 4, 4) -> Conv2d 2x3x3 (integer weights) -> Flatten -> IF: the projection is the flattened
    convolution, and the spikes follow v(t) = conv(x(t-1)) accumulated (reset to zero)."""
    rng = np.random.default_rng(4)
    w = rng.integers(-1, 3, (2, 1, 3, 3)).astype(np.float64)
    conv = nir.Conv2d(input_shape=(4, 4), weight=w, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(2))
    g = _graph({"input": nir.Input(input_type=np.array([1, 4, 4])), "conv": conv,
                "flat": nir.Flatten(input_type={"input": np.array([2, 4, 4])}, start_dim=0, end_dim=-1),
                "lif": nir.IF(r=np.ones(32), v_threshold=np.full(32, 2.0))},
               [("input", "conv"), ("conv", "flat"), ("flat", "lif")])
    nir.write(str(tmp_path / "c.nir"), g)
    net, rep = import_nir(tmp_path / "c.nir", weight_bits=8)
    assert rep.exact
    m, _, _ = conv2d_matrix(conv, (1, 4, 4), "test")
    assert np.array_equal(net.projections[0].weights.toarray(), m.toarray())
    x = (rng.random((12, 16)) < 0.5).astype(np.int64)
    spikes, _, _, _ = simulate_snn(net, "test-2x2", {"input": x.reshape(12, 1, 4, 4).reshape(12, -1)}, 12,
                                   stagger=False)
    assert np.array_equal(spikes["lif"], _hand_if(x, m.toarray().T, 2.0, np.zeros(32)))
