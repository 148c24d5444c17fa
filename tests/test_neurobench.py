"""The ``neurobench`` block of summary.json against hand computations on the dense matrices (and, where the
``neurobench`` package is installed, against the package itself on the same model)."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from replay_helpers import tiny_golden, tokens


def _trajectory(g, toks):
    """Per token: the inputs of every weight layer (W input, R input) and the last layer's output."""
    state = g.init_state()
    out = []
    for tok in toks:
        x = g.emb[int(tok)]
        prev = [y for (_, y) in state]
        ys, state, _ = g.step(int(tok), state)
        out.append((x, prev, ys))
    return out


def _hand(g, toks):
    """Effective MACs (nonzero input x nonzero weight), dense ops, activation and connection sparsity, from the
    dense weight matrices (``WT``, ``RT``, ``emb``) and the golden model's step outputs."""
    macs = 0
    zero_out = all_out = 0
    for x, prev, ys in _trajectory(g, toks):
        inp = x
        for li, L in enumerate(g.layers):
            macs += int(((inp != 0).astype(np.int64) @ (L.WT != 0).astype(np.int64)).sum())
            macs += int(((prev[li] != 0).astype(np.int64) @ (L.RT != 0).astype(np.int64)).sum())
            inp = ys[li]
            zero_out += int((ys[li] == 0).sum())
            all_out += ys[li].size
        macs += int(((ys[-1] != 0).astype(np.int64) @ (g.emb.T != 0).astype(np.int64)).sum())  # tied decoder
    mats = [m for L in g.layers for m in (L.WT, L.RT)] + [g.emb]
    dense = sum(m.size for m in mats)
    conn = sum(int((m == 0).sum()) for m in mats) / dense
    return macs / len(toks), dense, zero_out / all_out, conn


@pytest.mark.parametrize("kind,decoder", [("egru", "chip"), ("egru", "host"), ("gru", "chip")])
def test_block_matches_hand_counts(kind, decoder):
    g = tiny_golden(kind)
    toks = tokens(15)
    m = build_replay(g, load_replay_chip("test-2x2"), "snake", decoder)
    nb = replay(ReplayConfig(chip="test-2x2", decoder=decoder), mapped=m, tokens=toks).summary["neurobench"]
    macs, dense, act, conn = _hand(g, toks)
    assert nb["effective_macs_per_token"] == pytest.approx(macs, rel=1e-12)
    assert nb["effective_acs_per_token"] == 0  # graded (8-bit) payloads: MACs, not ACs
    assert nb["dense_synaptic_ops_per_token"] == dense
    assert nb["activation_sparsity"] == pytest.approx(act, rel=1e-12)
    assert nb["connection_sparsity"] == pytest.approx(conn, rel=1e-12)
    assert nb["chip_synapse_memory_bytes"] == int(m.placement.bytes.sum())


def test_footprint_by_hand():
    """Every stored parameter and LUT at its integer width, sparse W/R counted dense, ref.* arrays excluded."""
    from nmsim.replay.neurobench import static_metrics

    g = tiny_golden("egru")  # V=20, E=8, hidden (8, 8, 8), 3 gates
    V, E, H, G = 20, 8, 8, 3
    wr = 3 * (E * G * H + H * G * H)  # int8 W and R of three layers, dense
    per_layer = 4 * H * 4 + 3 * H * 4 + 3 * H * 4 + H * 4  # bias (4, H), mult, shift (3, H), theta (H): int32
    luts = sum(a.size * a.dtype.itemsize for k, a in g.mf.arrays.items() if k.startswith("lut."))
    want = V * E + V * 4 + wr + 3 * per_layer + luts  # emb int8 (tied decoder once), dec.bias int32
    assert {k: a.dtype.itemsize for k, a in g.mf.arrays.items() if k.endswith(".data")} == \
        {f"l{i}.{w}.data": 1 for i in range(3) for w in "WR"}
    assert static_metrics(g)["footprint_bytes"] == want


def test_against_the_neurobench_package():
    """NeuroBench's own SynapticOperations, ActivationSparsity and ConnectionSparsity on a torch replica of the
    model's weight layers fed the golden model's integer activations (skipped where neurobench is absent)."""
    pytest.importorskip("neurobench.metrics.workload")
    import torch
    from neurobench.metrics.static import ConnectionSparsity
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import TorchModel

    g = tiny_golden("egru")
    toks = tokens(15)

    class Act(torch.nn.Identity):
        pass

    def lin(mat):  # mat: (n_in, n_out) integer weights
        layer = torch.nn.Linear(mat.shape[0], mat.shape[1], bias=False)
        layer.weight.data = torch.tensor(mat.T, dtype=torch.float64)
        return layer

    class Replica(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.ModuleList([lin(L.WT) for L in g.layers])
            self.R = torch.nn.ModuleList([lin(L.RT) for L in g.layers])
            self.dec = lin(g.emb.T)
            self.act = torch.nn.ModuleList([Act() for _ in g.layers])

        def forward(self, batch):  # batch: [x, prev_1..prev_L, y_1..y_L] of one token
            n = len(g.layers)
            x, prev, ys = batch[0], batch[1:1 + n], batch[1 + n:]
            inp = x
            for i in range(n):
                self.W[i](inp)
                self.R[i](prev[i])
                inp = self.act[i](ys[i])
            return self.dec(inp)

    model = TorchModel(Replica())
    model.add_activation_module(Act)
    model.register_hooks()
    syn, act = SynapticOperations(), ActivationSparsity()
    sparsity = []
    for x, prev, ys in _trajectory(g, toks):
        batch = tuple(torch.tensor(v[None, :], dtype=torch.float64) for v in (x, *prev, *ys))
        model.reset_hooks()
        preds = model(batch)
        ops = syn(model, preds, (batch[0], None))
        sparsity.append(act(model, preds, (batch[0], None)))
    m = build_replay(g, load_replay_chip("test-2x2"))
    nb = replay(ReplayConfig(chip="test-2x2"), mapped=m, tokens=toks).summary["neurobench"]
    assert nb["effective_macs_per_token"] == pytest.approx(ops["Effective_MACs"], rel=1e-12)
    assert nb["effective_acs_per_token"] == ops["Effective_ACs"] == 0
    assert nb["dense_synaptic_ops_per_token"] == ops["Dense"]
    assert nb["activation_sparsity"] == pytest.approx(float(np.mean(sparsity)), rel=1e-12)
    assert nb["connection_sparsity"] == pytest.approx(ConnectionSparsity()(model), abs=5e-5)  # it rounds to 4 places
