"""Token replay: bit-exact in both schedules, placement/chip independence, mismatch detection."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
from nmsim.replay.schedule import make_schedule
from replay_helpers import tiny_golden, tokens


def _run(golden, toks, chip="test-2x2", placement="snake", mode="pipelined", decoder="chip", overrides=None,
         perturb=None, **kw):
    chip_spec = load_replay_chip(chip, overrides)
    m = build_replay(golden, chip_spec, placement, decoder)
    cfg = ReplayConfig(chip=chip, placement=placement, mode=mode, decoder=decoder, chip_overrides=overrides or {},
                       **kw)
    return replay(cfg, mapped=m, tokens=toks, perturb=perturb)


def _golden_sha(golden, toks):
    lg = golden.run(toks, return_logits=True, exact_int=True)["logits"]
    return hashlib.sha256(np.ascontiguousarray(lg, "<i4").tobytes()).hexdigest()


@pytest.mark.parametrize("kind", ["egru", "gru"])
@pytest.mark.parametrize("mode", ["pipelined", "serial"])
@pytest.mark.parametrize("decoder", ["chip", "host"])
def test_bit_exact(kind, mode, decoder):
    g = tiny_golden(kind)
    toks = tokens(30)
    r = _run(g, toks, mode=mode, decoder=decoder)
    s = r.summary
    assert s["bit_exact"] and s["first_mismatch"] is None and s["mismatched_tokens"] == 0
    assert s["logits_sha256"] == _golden_sha(g, toks)
    from nmsim.lm.metrics import evaluate_golden

    ev = evaluate_golden(g, toks)
    assert s["perplexity"] == s["golden_perplexity"] == ev["int_perplexity"]  # to the last bit
    assert s["predictions"] == ev["predictions"] == len(toks) - 1
    assert len(r.tokens_rows) == len(toks)
    e = s["energy_nj_per_token"]
    assert e["total"] == pytest.approx(sum(v for k, v in e.items() if k != "total"), rel=1e-4)
    assert sum(row["energy_nj"] for row in r.tokens_rows) == pytest.approx(s["energy_nj_total"], rel=1e-4)


def test_lstm_bit_exact_on_a_roomier_chip():
    g = tiny_golden("lstm", hidden=(6, 6))
    ov = {"core.synapse_memory_bytes": 255, "core.max_fan_in_axons": 64}
    for mode in ("pipelined", "serial"):
        assert _run(g, tokens(20), mode=mode, overrides=ov).summary["bit_exact"]


def test_same_logits_on_other_chips_and_placements_but_different_cost():
    g = tiny_golden("egru")
    toks = tokens(25)
    runs = {
        "2x2 snake": _run(g, toks),
        "2x2 partition": _run(g, toks, placement="partition"),
        "3x3 slow hops": _run(g, toks, overrides={"mesh.width": 3, "mesh.height": 3, "timing.hop_east_west_cycles": 20}),
        "spinnaker2": _run(g, toks, chip="spinnaker2"),
    }
    shas = {k: r.summary["logits_sha256"] for k, r in runs.items()}
    assert len(set(shas.values())) == 1, shas
    assert all(r.summary["bit_exact"] for r in runs.values())
    lat = {k: r.summary["latency_ns"]["mean"] for k, r in runs.items()}
    en = {k: r.summary["energy_nj_per_token"]["total"] for k, r in runs.items()}
    assert len(set(lat.values())) == 4 and len(set(en.values())) == 4, (lat, en)
    assert runs["2x2 snake"].summary["traffic"] != runs["2x2 partition"].summary["traffic"]


def test_pipelined_is_faster_per_token_stream_than_serial():
    g = tiny_golden("egru")
    p = _run(g, tokens(20), mode="pipelined").summary
    s = _run(g, tokens(20), mode="serial").summary
    assert p["throughput_tokens_per_s"] > s["throughput_tokens_per_s"]
    assert p["synaptic_ops_per_token"] == s["synaptic_ops_per_token"]


def _first_event_token(g, toks, layer: int, unit: int) -> int:
    state = g.init_state()
    for t, tok in enumerate(toks):
        ys, state, _ = g.step(int(tok), state)
        if ys[layer][unit] != 0:
            return t
    return 10**9


def _units_by_first_event(g, toks, layer: int, n: int) -> list[int]:
    return sorted(range(n), key=lambda u: _first_event_token(g, toks, layer, u))


def test_perturbed_decoder_weight_is_reported_at_the_right_token_and_layer():
    g = tiny_golden("egru")
    toks = tokens(30)
    m = build_replay(g, load_replay_chip("test-2x2"))
    cm = m.model
    L3 = m.layer_index[2]
    dec = set(m.readout_index.tolist())
    # first synapse from an L3 unit into the readout
    unit = None
    for u in _units_by_first_event(g, toks, 2, len(L3)):
        gidx = L3[u]
        for k in range(cm.route_ptr[gidx], cm.route_ptr[gidx + 1]):
            row = cm.route_row[k]
            if row >= 0 and int(cm.syn_target[cm.row_ptr[row]]) in dec:
                unit, syn = u, int(cm.row_ptr[row])
                break
        if unit is not None:
            break
    want = _first_event_token(g, toks, 2, unit)

    def perturb(model):
        model.syn_weight[syn] += 1

    r = replay(ReplayConfig(chip="test-2x2"), mapped=m, tokens=toks, perturb=perturb)
    s = r.summary
    assert not s["bit_exact"]
    assert (s["first_mismatch"]["token"], s["first_mismatch"]["layer"]) == (want, "logits")


def test_perturbed_recurrent_weight_is_reported_in_its_layer():
    g = tiny_golden("egru")
    toks = tokens(40)
    m = build_replay(g, load_replay_chip("test-2x2"))
    cm = m.model
    L2 = m.layer_index[1]
    l2set = set(L2.tolist())
    # a synapse L2 -> L2 (recurrent), made huge
    for u in _units_by_first_event(g, toks, 1, len(L2)):
        gidx = L2[u]
        hit = None
        for k in range(cm.route_ptr[gidx], cm.route_ptr[gidx + 1]):
            row = cm.route_row[k]
            for sidx in range(cm.row_ptr[row], cm.row_ptr[row + 1]) if row >= 0 else ():
                if int(cm.syn_target[sidx]) in l2set:
                    hit = sidx
                    break
            if hit is not None:
                break
        if hit is not None:
            break
    t0 = _first_event_token(g, toks, 1, u)

    def perturb(model):
        model.syn_weight[hit] = -model.syn_weight[hit] * 50 - 5000

    s = replay(ReplayConfig(chip="test-2x2"), mapped=m, tokens=toks, perturb=perturb).summary
    assert not s["bit_exact"]
    fm = s["first_mismatch"]
    # the recurrent event of token t0 is used by token t0 + 1: nothing can differ before that, and layer L2 is first
    assert fm["token"] >= t0 + 1 and fm["layer"] == "L2", fm


def test_schedules():
    p = make_schedule("pipelined", 5, 3)
    assert p.n_steps == 5 + 3 + 1 and p.depth == 5
    assert [p.handles(2, s) for s in range(p.n_steps)] == [-1, -1, 0, 1, 2, 3, 4, -1, -1]
    s = make_schedule("serial", 3, 2)
    assert s.n_steps == 12 and s.entry.tolist() == [0, 4, 8]
    assert s.stage_on.sum(axis=1).tolist() == [1] * 12
    assert [s.handles(3, t) for t in range(12)] == [-1, -1, -1, 0, -1, -1, -1, 1, -1, -1, -1, 2]
    h = make_schedule("pipelined", 4, 2, readout=False)
    assert h.depth == 3 and h.n_steps == 6
