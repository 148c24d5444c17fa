"""The LM network: file round trip, and the plain NumPy reference equals the engine (all units enabled)."""

from __future__ import annotations

import numpy as np

from nmsim.compile.build import gather
from nmsim.describe.network import Network
from nmsim.describe.reference import run_reference_full
from nmsim.pipeline import build
from nmsim.replay import load_replay_chip
from nmsim.replay.network import build_lm_network
from nmsim.sim.engine import simulate
from replay_helpers import tiny_golden


def test_lm_network_roundtrip_and_reference_equals_engine(tmp_path):
    g = tiny_golden("egru")
    lm = build_lm_network(g)
    assert list(lm.net.populations) == ["emb", "L1", "L2", "L3", "dec"]
    assert lm.net.populations["dec"].to_host and len(lm.net.luts) == 2
    lm.net.save(tmp_path / "lm.npz")
    net2 = Network.load(tmp_path / "lm.npz")
    assert net2.populations["dec"].to_host and all(np.array_equal(a, b) for a, b in zip(net2.luts, lm.net.luts))
    n_steps = 8
    rng = np.random.default_rng(0)
    emb = g.emb[rng.integers(0, g.emb.shape[0], n_steps)]
    ref = run_reference_full(net2, {"emb": emb}, n_steps)
    cm = build(load_replay_chip("test-2x2"), lm.net)
    res = simulate(cm, n_steps, {"emb": emb})
    for pop in ("L1", "L2", "L3", "dec"):
        assert np.array_equal(gather(cm, res.payload, pop), ref.payload[pop]), pop
        assert np.array_equal(gather(cm, res.fired, pop), ref.fired[pop]), pop
