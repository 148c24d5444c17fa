"""Torch side: training, pruning, quantization/export round trip (marked ``train``)."""

import hashlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nmsim.lm.data import load_corpus  # noqa: E402
from nmsim.lm.golden import GoldenModel  # noqa: E402
from nmsim.lm.modelfile import load_model  # noqa: E402

pytestmark = pytest.mark.train


def _tiny_model(seed=0):
    from workloads.model import LanguageModel, preset_config

    return LanguageModel(preset_config("tiny", "egru", 10_000), seed=seed)


def test_tiny_loss_falls_over_a_few_steps():
    import torch.nn.functional as F

    torch.manual_seed(0)
    c = load_corpus("ptb")
    m = _tiny_model()
    m.train()
    src = torch.from_numpy(c.train[:16 * 21].reshape(16, 21).T.copy())   # (21, 16)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        logits, _ = m(src[:-1], m.init_state(16))
        loss = F.cross_entropy(logits.reshape(-1, 10_000), src[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(np.log(10_000), abs=0.05)   # untrained: ~uniform
    assert losses[-1] < losses[0] - 0.3
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_egru_cell_semantics():
    """Graded output y = c~ for fired units, reset by subtracting theta, H(0) = 0."""
    m = _tiny_model()
    L = m.layers[0]
    with torch.no_grad():
        L.thr.fill_(0.05)
        x = torch.randn(5, 3, L.n_in)
        out, (c, y) = L(x, L.init_state(3))
    fired = out[-1] != 0
    assert torch.all(out[-1][fired] > 0.05)
    assert torch.allclose(c[fired], out[-1][fired] - 0.05)
    assert torch.all(c[~fired] <= 0.05)


def test_surrogate_gradient():
    from workloads.model import SpikeFn

    v = torch.tensor([-0.5, -0.1, 0.0, 0.1, 0.5], requires_grad=True)
    o = SpikeFn.apply(v, 3.6, 3.6)
    assert o.tolist() == [0, 0, 0, 1, 1]                 # H(0) = 0
    o.sum().backward()
    expect = [3.6 * max(0.0, 1 - 3.6 * abs(x)) for x in [-0.5, -0.1, 0.0, 0.1, 0.5]]
    assert v.grad.tolist() == pytest.approx(expect)


def test_gradual_pruning_schedule_and_masks():
    from workloads.prune import GradualPruner, magnitude_mask, zhu_gupta

    assert zhu_gupta(0, 0.8, 10, 100) == 0.0
    assert zhu_gupta(60, 0.8, 10, 100) == pytest.approx(0.8 - 0.8 * 0.5 ** 3)
    assert zhu_gupta(200, 0.8, 10, 100) == 0.8
    w = torch.tensor([[0.1, -0.5, 0.3], [0.05, 0.9, -0.2]])
    assert magnitude_mask(w, 0.5).tolist() == [[False, True, True], [False, True, False]]
    m = _tiny_model()
    p = GradualPruner(m, 0.9, start_step=0, n_steps=10, freq=2)
    for step in range(12):
        p.update(step)
        with torch.no_grad():            # an "optimizer step" that touches every weight
            for L in m.layers:
                L.W.add_(0.01)
                L.R.add_(0.01)
        p.apply()
    for k, s in p.sparsity().items():
        assert s == pytest.approx(0.9, abs=0.002), k
    for i, L in enumerate(m.layers):
        assert torch.equal(L.W == 0, ~p.masks[f"layers.{i}.W"])     # pruned stay exactly 0


def test_train_export_load_golden_roundtrip(tmp_path):
    """Tiny model: train a few batches (with pruning), export, load, replay."""
    from workloads.export import export
    from workloads.train import TrainConfig, train

    ck = tmp_path / "t.pt"
    tc = TrainConfig(preset="tiny", epochs=1, batch_size=8, bptt=10, lr=1e-2, max_batches=12,
                     train_tokens=4000, valid_tokens=500, prune_target=0.5, prune_end_frac=0.5,
                     prune_freq=2, seed=3, unigram_bias=True)
    best = train(tc, ck, verbose=False)
    assert best["history"][0]["sparsity"] == pytest.approx(0.5)
    out = tmp_path / "t.nmm"
    info = export(ck, out, test_tokens=400, verbose=False)
    mf = load_model(out)
    assert mf.provenance["sparsity_target"] == 0.5
    for i in range(3):
        assert mf.sparsity[f"layers.{i}.W.float_mask"] == pytest.approx(0.5, abs=0.01)
        assert mf.sparsity[f"layers.{i}.W"] >= mf.sparsity[f"layers.{i}.W.float_mask"]
    g = GoldenModel(mf)
    r = g.run(mf.arrays["ref.tokens"], return_logits=True)
    assert np.array_equal(r["logits"][:8], mf.arrays["ref.logits"])
    digest = hashlib.sha256(np.ascontiguousarray(r["logits"].astype("<i4")).tobytes()).hexdigest()
    assert digest == mf.header["reference"]["logits_sha256"]
    # golden vs float: argmax agreement on the first test tokens (recorded at export)
    assert info["argmax_agreement"] >= 0.9
    # integer logits track the float logits (real value = int * logit_scale)
    from workloads.export import load_checkpoint

    model, _ = load_checkpoint(ck)
    toks = torch.from_numpy(mf.arrays["ref.tokens"][:8].astype(np.int64)).view(-1, 1)
    with torch.no_grad():
        fl, _ = model(toks, model.init_state(1))
    fl = fl[:, 0].numpy()
    il = mf.arrays["ref.logits"] * mf.formats["logit_scale"]
    fl_c = fl - fl.mean(1, keepdims=True)
    il_c = il - il.mean(1, keepdims=True)
    assert np.abs(fl_c - il_c).max() < 0.1 * np.abs(fl_c).max() + 0.05


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_dense_baselines_export_and_golden(tmp_path, kind):
    """LSTM / GRU baselines: export -> load -> golden agrees with the float model."""
    from workloads.export import export
    from workloads.train import TrainConfig, train

    ck = tmp_path / f"{kind}.pt"
    tc = TrainConfig(kind=kind, preset="tiny", epochs=1, batch_size=8, bptt=10, lr=1e-2,
                     max_batches=6, train_tokens=3000, valid_tokens=300, seed=5, unigram_bias=True)
    train(tc, ck, verbose=False)
    out = tmp_path / f"{kind}.nmm"
    info = export(ck, out, test_tokens=300, verbose=False)
    mf = load_model(out)
    assert mf.arch["kind"] == kind and mf.arch["gates"] == (4 if kind == "lstm" else 3)
    r = GoldenModel(mf).run(mf.arrays["ref.tokens"], return_logits=True)
    assert np.array_equal(r["logits"][:8], mf.arrays["ref.logits"])
    assert info["argmax_agreement"] >= 0.9
    assert min(r["activity"]) > 0.5            # dense baselines: almost every unit sends
