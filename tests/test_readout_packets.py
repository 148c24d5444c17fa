"""Packets to the host that carry several values (``noc.readout_values_per_packet``, docs/engine-model.md §2.2).

Hand-checked steps, agreement with the SimPy oracle on random chips and language models, the chip option's
checks and defaults, and the replay's traffic figures against a packet trace."""

from __future__ import annotations

import numpy as np
import pytest

from nmsim.cli import main
from nmsim.compile.compiled import T
from nmsim.compile.lif import lif_model, lif_params
from nmsim.describe.actions import A
from nmsim.describe.chip import load_chip
from nmsim.replay import load_replay_chip
from nmsim.oracle import random_case, random_lm_case
from nmsim.oracle.compare import check_case, check_lm_case
from nmsim.sim.engine import simulate

N_LIF, N_LM = 100, 30


def _five_to_host(kv: int, rf: int, threshold=0):
    """Five LIF neurons on core 0 (router 0 of a 2 x 1 mesh), every one sending to the host on router 1; a
    spike has 1 flit, a packet to the host ``rf``; every other cost is the builder's default (update 2 cycles,
    send, hop and delivery 1 cycle)."""
    return lif_model(width=2, height=1, core_router=[0], neuron_core=[0] * 5, io_router=1, to_host=range(5),
                     lif=lif_params(5, threshold=np.asarray(threshold), bias=5),
                     timing={"readout_values_per_packet": kv, "readout_flits_per_packet": rf,
                             "router_buffer_packets": 4})


def _run(m):
    return simulate(m, 1, np.zeros((1, 0), np.int64), record=("fired", "link_busy", "trace"))


def test_two_values_per_packet_by_hand():
    """kv = 2, 3 flits.  The neurons finish at 2, 4, 6, 8, 10 and all fire: packets of (n0, n1) at 4, (n2, n3)
    at 8 and n4's alone at 10 (the core's last to-host neuron flushes).  Injection 1 cycle; the east hop and
    the host's ejection each hold the link 3 cycles (one per flit) with head latency 1 + 3 - 1 = 3:
      A: inject 4, hop 5, eject 8, arrives 11;  B: inject 8, hop 9 (free since 8), eject 12, arrives 15;
      C: inject 10, hop 12 (B holds it until 12), eject 15 (B until 15), arrives 18.  T = 18 (no barrier)."""
    r = _run(_five_to_host(2, 3))
    tr = r.trace
    assert r.fired[0].tolist() == [1, 1, 1, 1, 1]
    assert r.step_cycles.tolist() == [18]
    assert tr.src_neuron.tolist() == [1, 3, 4] and tr.arrival.tolist() == [11, 15, 18]
    assert tr.grant.tolist() == [4, 5, 8, 8, 9, 12, 10, 12, 15]
    cnt = r.counters[0]
    assert (cnt[0, A["packet_send"]], cnt[0, A["flit_hop_east_west"]], cnt[1, A["io_packet"]]) == (3, 9, 3)
    busy = r.link_busy[0]  # links: 4 per router (0-7), injection 8 (core 0), 9 (host), ejection 10, 11 (host)
    assert (busy[8], busy[0], busy[11]) == (3, 9, 9)


def test_a_partial_packet_leaves_at_the_last_to_host_neuron_even_if_it_did_not_fire():
    """kv = 3; n4 does not fire (threshold 100).  (n0, n1, n2) leave at 6; n3's value is held until the unit
    has updated n4, at 10: A inject 6, hop 7, eject 10, arrives 13; B inject 10, hop 11, eject 14, arrives 17."""
    r = _run(_five_to_host(3, 3, threshold=[0, 0, 0, 0, 100]))
    assert r.fired[0].tolist() == [1, 1, 1, 1, 0]
    assert r.step_cycles.tolist() == [17]
    assert r.trace.src_neuron.tolist() == [2, 4] and r.trace.arrival.tolist() == [13, 17]
    assert r.counters[0][1, A["io_packet"]] == 2


def test_one_value_per_packet_is_a_spike():
    """kv = 1 (the default): five packets of the spike's 1 flit."""
    m = lif_model(width=2, height=1, core_router=[0], neuron_core=[0] * 5, io_router=1, to_host=range(5),
                  lif=lif_params(5, bias=5), timing={"router_buffer_packets": 4})
    assert m.timing[T["readout_flits_per_packet"]] == m.timing[T["flits_per_packet"]] == 1
    r = _run(m)
    assert r.trace.src_neuron.tolist() == [0, 1, 2, 3, 4]
    assert r.counters[0][0, A["flit_hop_east_west"]] == 5


def _simulate(model, n_steps, host, enable=None):
    return simulate(model, n_steps, host, record=("fired", "payload", "link_busy", "trace"), enable=enable)


@pytest.mark.parametrize("seed", range(N_LIF))
def test_engine_matches_oracle_with_packed_readout(seed):
    case = random_case(70_000 + seed, max_lif=80, max_host=12, max_steps=6, readout=True)
    problems = check_case(case, _simulate)
    assert not problems, f"seed {70_000 + seed}:\n" + "\n".join(problems)


@pytest.mark.parametrize("seed", range(N_LM))
def test_engine_matches_oracle_on_lm_steps_with_packed_readout(seed):
    case = random_lm_case(seed, readout=True)
    problems = check_lm_case(case, _simulate)
    assert not problems, f"seed {seed} {case.info}:\n" + "\n".join(problems)


def test_random_cases_cover_partial_and_flushed_packets():
    """The LIF cases above draw 1..4 values per packet and include packets flushed by a neuron that did not fire."""
    from nmsim.oracle.functional_oracle import oracle_run

    kvs, flushed, host_packets = set(), 0, 0
    for seed in range(N_LIF):
        case = random_case(70_000 + seed, max_lif=80, max_host=12, max_steps=6, readout=True)
        kv = int(case.model.timing[T["readout_values_per_packet"]])
        kvs.add(kv)
        if kv == 1 or seed % 4:
            continue
        res = oracle_run(case.model, case.n_steps, case.host_payloads)
        for t, st in enumerate(res.steps):
            for p in st.packets:
                if p.dst_core == case.model.n_cores:
                    host_packets += 1
                    flushed += int(not res.fired[t, p.neuron])
    assert kvs == {1, 2, 3, 4} and host_packets > 50 and flushed > 5


def test_chip_option_flits_and_default():
    loihi = load_replay_chip("loihi")  # the replay profile: 31-bit header, 24-bit payloads, 32-bit flits
    assert loihi.noc.readout_values_per_packet == 1 and loihi.readout_flits_per_packet == loihi.flits_per_packet == 2
    assert load_chip("loihi").readout_flits_per_packet == 1  # spikes: ceil((31 + 1) / 32)
    packed = load_replay_chip("loihi", {"noc.readout_values_per_packet": 8})
    assert packed.readout_flits_per_packet == 7  # ceil((31 + 8 x 24) / 32) = ceil(223 / 32)
    assert packed.flits_per_packet == 2
    d = packed.to_dict()
    assert d["noc"]["readout_values_per_packet"]["value"] == 8 and d["derived"]["readout_flits_per_packet"] == 7
    src = loihi.to_dict()["noc"]["readout_values_per_packet"]["source"]
    assert src.startswith("default: 1")


@pytest.mark.parametrize("value, words", [
    ("0", "must be positive"),
    ("x", "readout_values_per_packet"),
    ("200000", "above the limit"),
])
def test_bad_values_are_one_line_errors(value, words, capsys, tmp_path):
    rc = main(["run", "--tokens", "2", "--no-progress", "--no-figures", "--out", str(tmp_path / "o"),
               "--set", f"chip.noc.readout_values_per_packet={value}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("nmsim: error: ") and words in err[0]
    assert not (tmp_path / "o").exists()


def test_multicast_and_boards_refuse_packed_readout(capsys, tmp_path):
    for extra in (["--set", "chip.noc.routing=multicast"], ["--system", "loihi-4chip"]):
        rc = main(["run", "--tokens", "2", "--no-progress", "--no-figures", "--out", str(tmp_path / "o"),
                   "--set", "chip.noc.readout_values_per_packet=4", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and "carry one value" in err[0], err


def test_replay_traffic_matches_the_packet_trace():
    """A replay with 3 values per packet to the host: summary and steps.csv packets, flits and hops equal
    what the packet trace of every step shows (mesh links on each packet's path; a packet to the host has
    the readout flits)."""
    from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay
    from nmsim.sim.engine import Engine
    from replay_helpers import tiny_golden, tokens

    over = {"noc.readout_values_per_packet": 3}
    chip = load_replay_chip("test-2x2", over)
    m = build_replay(tiny_golden("egru"), chip, "snake", "chip")
    toks = tokens(12)
    res = replay(ReplayConfig(chip="test-2x2", placement="snake", chip_overrides=over), mapped=m, tokens=toks)
    cm = m.model
    assert res.summary["bit_exact"] is True and res.summary["traffic"]["values_per_host_packet"] == 3
    F, RF = chip.flits_per_packet, chip.readout_flits_per_packet
    assert (F, RF) == (4, 8)  # test-2x2's replay profile: ceil((20 + 32) / 16), ceil((20 + 3 x 32) / 16)
    # every step again, traced: the one-pass engine over the replay's inputs and enable masks
    eng = Engine(cm, trace=True)
    n_mesh = 4 * cm.n_routers
    flits = packets = 0
    step_hops = []
    rec_rows = res.steps_rows
    from nmsim.replay.schedule import make_schedule
    sched = make_schedule("pipelined", len(toks), m.lm.n_layers, readout=True)
    host0 = eng.host_start
    for s in range(sched.n_steps):
        hp = np.zeros(eng.n_host, np.int64)
        if sched.token_at[s] >= 0:
            hp[m.stage_index[0] - host0] = m.golden.emb[toks[sched.token_at[s]]]
        en = np.ones(cm.n_neurons, np.uint8)
        for st, idx in enumerate(m.stage_index):
            if st > 0 and not sched.stage_on[s, st]:
                en[idx] = 0
        r = eng.step(hp, en)
        tr = r.trace
        on_mesh = tr.link < n_mesh
        per_pk = np.add.reduceat(on_mesh.astype(np.int64), tr.link_ptr[:-1]) if tr.seq.size else np.zeros(0, int)
        step_hops.append(int(per_pk.sum()))
        to_host = tr.dst_core == cm.n_cores
        flits += int(np.where(to_host, RF, F).sum())
        packets += int(tr.seq.size)
    hops = sum(step_hops)
    t = res.summary["traffic"]
    assert (t["packets"], t["flits"], t["hops"]) == (packets, flits, hops)
    assert [row["hops"] for row in rec_rows] == step_hops


def test_host_packet_hops_match_the_trace():
    """``Engine.host_packet_hops`` (what the replay's functional pass records for the traffic figures): the
    packets to the host and their mesh hops, as every step's packet trace shows them."""
    from nmsim.sim.engine import Engine

    for seed in range(20):
        case = random_case(70_000 + seed, max_lif=80, max_host=12, max_steps=6, readout=True)
        eng = Engine(case.model, trace=True)
        for t in range(case.n_steps):
            r = eng.step(case.host_payloads[t])
            tr = r.trace
            to_host = tr.dst_core == case.model.n_cores
            mesh = (tr.link < 4 * case.model.n_routers).astype(np.int64)
            per_packet = np.add.reduceat(mesh, tr.link_ptr[:-1]) if tr.seq.size else np.zeros(0, np.int64)
            assert eng.host_packet_hops(r.fired) == (int(to_host.sum()), int(per_packet[to_host].sum()))


def test_cli_shows_the_setting(tmp_path, capsys):
    """The setting is visible wherever a run reports: the printed traffic line, summary.json and run.json."""
    import json

    out = tmp_path / "o"
    rc = main(["run", "--tokens", "3", "--no-progress", "--no-figures", "--out", str(out),
               "--set", "chip.noc.readout_values_per_packet=8", "--placement", "snake"])  # placement: irrelevant here
    text = capsys.readouterr().out
    assert rc == 0 and "; 8 values per packet to the host" in text
    s = json.loads((out / "summary.json").read_text())
    assert s["bit_exact"] is True and s["traffic"]["values_per_host_packet"] == 8
    run = json.loads((out / "run.json").read_text())
    assert run["chip"]["noc"]["readout_values_per_packet"] == {"value": 8, "source": "override"}
    assert run["chip"]["derived"]["readout_flits_per_packet"] == 7  # ceil((31 + 8 x 24) / 32) on Loihi


def test_two_passes_at_any_worker_count_match_one_pass(monkeypatch):
    """With 3 values per packet to the host, the two-pass replay on 2 local workers gives the one-pass
    engine's summary and rows (the hops of packets to the host come from the timing pass)."""
    import json

    from nmsim.replay import ReplayConfig, build_replay, load_replay_chip, replay, twopass
    from nmsim.replay.outputs import WALL_CLOCK_KEYS, strict_summary, tokens_csv
    from replay_helpers import tiny_golden, tokens

    monkeypatch.setattr(twopass, "CHUNK_STEPS", 5)
    over = {"noc.readout_values_per_packet": 3}
    cfg = ReplayConfig(chip="test-2x2", placement="snake", chip_overrides=over)

    def outputs(res):
        s = {k: v for k, v in strict_summary(res.summary).items() if k not in WALL_CLOCK_KEYS}
        return json.dumps(s, sort_keys=True, default=str), tokens_csv(res.tokens_rows), res.steps_rows

    def mapped():
        return build_replay(tiny_golden("egru"), load_replay_chip("test-2x2", over), "snake", "chip")

    one = outputs(replay(cfg, mapped=mapped(), tokens=tokens(25)))
    assert outputs(replay(cfg, mapped=mapped(), tokens=tokens(25), workers=2)) == one
