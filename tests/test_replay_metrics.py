"""The replay's summary and per-token rows from a hand-written run record (nmsim.replay.metrics).

A 2-token, 1-layer pipelined replay on a made-up 2-core chip: every count per step is chosen below, and every
expected figure is worked out by hand in the comments (no simulation runs here).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from nmsim.describe.actions import A, N_ACTIONS
from nmsim.describe.chip import load_chip_variant
from nmsim.replay.check import Mismatch
from nmsim.replay.metrics import RunRecord, _r, assemble, price, step_owner
from nmsim.replay.schedule import make_schedule

#: pJ per action (test-2x2's table)
PJ = {"neuron_update_active": 10.0, "neuron_update_idle": 1.0, "spike": 2.0, "packet_send": 3.0,
      "packet_receive": 4.0, "synapse_read": 5.0, "synaptic_op": 6.0, "flit_hop_east_west": 7.0,
      "flit_hop_north_south": 8.0, "local_delivery": 0.5, "io_packet": 9.0, "barrier": 20.0}
CYCLES = [10, 20, 30, 40]            # 1 MHz: 10_000, 20_000, 30_000, 40_000 ns


def _chip(**overrides):
    """test-2x2 cut down to one router with 2 cores: 1 MHz, (20 + 8) / 16 -> 2 flits, 0.01 mW per core."""
    over = {"mesh.width": 1, "mesh.height": 1, "static.core_power_mw": 0.01}
    return load_chip_variant("test-2x2", overrides={**over, **overrides})


def _counts(step):
    """``[cores + host, N_ACTIONS]`` counts of each step (core 0, core 1, host)."""
    c = np.zeros((3, N_ACTIONS), np.int64)
    if step == 0:
        c[0, A["synaptic_op"]] = 3; c[1, A["spike"]] = 1; c[2, A["io_packet"]] = 2          # noqa: E702
    elif step == 1:
        c[0, A["packet_send"]] = 2; c[1, A["synaptic_op"]] = 4; c[2, A["spike"]] = 1        # noqa: E702
    elif step == 2:
        c[0, A["flit_hop_east_west"]] = 4; c[1, A["flit_hop_north_south"]] = 2             # noqa: E702
        c[2, A["flit_hop_east_west"]] = 2
    else:
        c[1, A["spike"]] = 3; c[2, A["io_packet"]] = 1; c[2, A["barrier"]] = 1              # noqa: E702
    return c


BUSY = [[5, 0, 0], [0, 16, 0], [3, 3, 15], [0, 0, 0]]   # link-busy cycles per step (3 links)


def _record():
    sched = make_schedule("pipelined", 2, 1)    # depth 3, 4 steps, tokens enter at steps 0 and 1
    rec = RunRecord.empty(sched, n_cores=2, n_links=3, n_layers=1)
    for s in range(4):
        rec.add_step(s, CYCLES[s], _counts(s), np.array(BUSY[s], np.int64))
    rec.host_out[0] = 1                       # the embedding packet of token 0
    rec.layer_events[:] = [6]
    rec.g_ops[:] = [7]
    rec.g_dec_ops, rec.dec_ops = 5, 2
    return rec


def _mapped(header=None, readout=True, **chip):
    return SimpleNamespace(
        chip=_chip(**chip), model=SimpleNamespace(meta={}),  # one chip: no system block
        lm=SimpleNamespace(hidden=[8], layer_pops=["L1"], readout=readout, decoder="chip"),
        golden=SimpleNamespace(mf=SimpleNamespace(header=header if header is not None else {"name": "tiny-lm"},
                                                  path="/models/tiny.nmsim")),
        placement=SimpleNamespace(strategy="snake", neurons=np.array([1, 0]), bytes=np.array([40, 24])))


def _checker(first=None, n_pred=1, bad=()):
    return SimpleNamespace(first=first, n_pred=n_pred, nll=math.log(4.0), nll_golden=math.log(5.0),
                           bad_tokens=set(bad), logits_sha256="ab" * 32)


@pytest.fixture(autouse=True)
def _collaborators(monkeypatch):
    """The NeuroBench block and the link rows have their own tests (tests of nmsim.replay.neurobench and
    percore); here they record what assemble hands them."""
    import nmsim.replay.neurobench as nb
    import nmsim.replay.percore as pc

    monkeypatch.setattr(nb, "neurobench_block", lambda golden, lm, rec, n, chip_bytes: {"n": n, "bytes": chip_bytes})
    monkeypatch.setattr(pc, "link_rows", lambda cm, busy, cycles: [{"busy": busy.tolist(), "cycles": cycles}])


def test_record_keeps_sums_and_the_busiest_link_share():
    rec = _record()
    assert rec.step_cycles.tolist() == CYCLES
    assert rec.cnt_cores[0, A["synaptic_op"]] == 3 and rec.cnt_cores[0, A["spike"]] == 1
    assert rec.cnt_host[0, A["io_packet"]] == 2 and rec.cnt_cores[0, A["io_packet"]] == 0
    assert rec.cnt_host[3].tolist() == _counts(3)[2].tolist()
    assert rec.cnt_core_total[1, A["spike"]] == 4 and rec.cnt_core_total[2, A["io_packet"]] == 3
    assert rec.busy_total.tolist() == [8, 19, 15]
    assert rec.peak_step_util == 0.8                  # step 1: 16 busy cycles of 20
    assert rec.cnt_cores.shape == rec.cnt_host.shape == (4, N_ACTIONS) and rec.cnt_core_total.shape == (3, N_ACTIONS)
    assert rec.host_out.shape == (4,) and rec.layer_events.shape == rec.g_ops.shape == (1,)
    rec.add_step(3, 0, np.zeros((3, N_ACTIONS), np.int64), np.array([9, 9, 9]))   # a 0-cycle step: no share
    assert rec.peak_step_util == 0.8 and rec.step_cycles[3] == 0
    rec.add_step(3, 1, np.zeros((3, N_ACTIONS), np.int64), np.array([0, 1, 0]))   # 1 busy cycle of 1
    assert rec.peak_step_util == 1.0
    fresh = RunRecord.empty(make_schedule("serial", 2, 1), n_cores=2, n_links=3, n_layers=1)
    arrays = [fresh.step_cycles, fresh.cnt_cores, fresh.cnt_host, fresh.cnt_core_total, fresh.busy_total,
              fresh.host_out, fresh.layer_events, fresh.g_ops]
    assert [a.dtype for a in arrays] == [np.int64] * 8 and not any(a.any() for a in arrays)
    assert [a.shape for a in arrays] == [(6,), (6, N_ACTIONS), (6, N_ACTIONS), (3, N_ACTIONS), (3,), (6,), (1,), (1,)]
    assert (fresh.g_dec_ops, fresh.dec_ops, fresh.peak_step_util) == (0, 0, 0.0)


def test_step_owner_serial_and_pipelined():
    # serial, 2 tokens x depth 3: steps 0-2 -> token 0, 3-5 -> token 1
    assert step_owner(make_schedule("serial", 2, 1)).tolist() == [0, 0, 0, 1, 1, 1]
    # pipelined: step s -> the token entering at s; the drain steps 3, 4 go to the last token
    assert step_owner(make_schedule("pipelined", 3, 1)).tolist() == [0, 1, 2, 2, 2]


def test_price_uses_the_chips_costs():
    e = price(_chip(), _record())
    # dynamic per step: 3x6 + 1x2 + host 2x9 = 38; 2x3 + 4x6 = 30 (host spike free); 4x7 + 2x8 + host 2x7 = 58;
    # 3x2 + host 9 + 20 = 35.  static: 0.01 mW x 2 cores x (10, 20, 30, 40) us = 200, 400, 600, 800 pJ
    assert e.step_pj.tolist() == [238.0, 430.0, 658.0, 835.0]


def test_summary_by_hand():
    rec = _record()
    r = assemble(_mapped(), np.array([11, 12]), rec, _checker(), [], sim_wall=1.23456)
    s = r.summary
    assert (s["tokens"], s["predictions"], s["steps"]) == (2, 1, 4)
    assert s["perplexity"] == pytest.approx(4.0, rel=1e-12)
    assert s["golden_perplexity"] == pytest.approx(5.0, rel=1e-12)
    assert s["bit_exact"] is True and s["first_mismatch"] is None and s["mismatched_tokens"] == 0
    assert s["logits_sha256"] == "ab" * 32
    # token latency = its 3 steps: token 0 steps 0-2 = 60 cycles, token 1 steps 1-3 = 90 cycles (us at 1 MHz)
    assert s["latency_ns"] == {"mean": 75000.0, "p50": 75000.0, "p99": 89700.0, "max": 90000.0}
    assert s["simulated_time_ns"] == 100000.0                  # 100 cycles
    assert s["throughput_tokens_per_s"] == 20000.0             # 2 tokens in 100 us
    # energy: 2161 pJ = synapse 18 + 24, neuron 2 + 6, noc 6 + 28 + 16 + 14, io 18 + 9, barrier 20, static 2000
    assert s["energy_nj_total"] == 2.161
    want = {"total": 1.0805, "synapse": 0.021, "neuron": 0.004, "noc": 0.032, "io": 0.0135, "barrier": 0.01,
            "static": 1.0}
    assert {k: s["energy_nj_per_token"][k] for k in want} == want
    # 2 core sends + 1 host send = 3 packets of 2 flits; hops: (4 + 2 host) E/W + 2 N/S flit hops = 4 packet hops;
    # host I/O packets 3 = 1 out + 2 in; busiest link 19 of 100 cycles; busiest step share 16 / 20
    assert s["traffic"] == {"packets": 3, "flits": 6, "hops": 4, "host_packets_out": 1, "host_packets_in": 2,
                            "values_per_host_packet": 1,  # test-2x2 leaves noc.readout_values_per_packet out
                            "max_link_utilization": 0.19, "peak_step_link_utilization": 0.8,
                            "packets_per_token": 1.5}
    assert s["synaptic_ops_per_token"] == 3.5                  # 3 + 4 core synaptic ops
    assert s["decoder_synaptic_ops_per_token"] == 1.0
    assert s["layer_synaptic_ops_per_token"] == 2.5
    assert s["golden_synaptic_ops_per_token"] == 6.0           # (7 layer + 5 decoder) / 2
    assert s["events_per_token"] == 2.5                        # spikes 1 + 1 (host) + 3
    assert s["activity"] == {"L1": 0.375}                      # 6 events / (2 tokens x 8 units)
    assert (s["chip"], s["model"], s["mode"], s["placement"], s["decoder"]) == \
        ("test-2x2", "tiny-lm", "pipelined", "snake", "chip")
    assert s["cores_used"] == 1
    assert s["sim_wall_s"] == 1.235 and s["synaptic_events_per_s"] == 5.7   # 7 / 1.23456 = 5.67
    assert r.trace is None and r.first_mismatch is None and r.record is rec and r.run_info == {}
    # the NeuroBench block gets the token count and the placed synapse bytes 40 + 24; the link rows the
    # summed busy cycles and the 100 simulated cycles; no per-core stats -> no rows, no critical core
    assert s["neurobench"] == {"n": 2, "bytes": 64}
    assert r.links_rows == [{"busy": [8, 19, 15], "cycles": 100}]
    assert r.cores_rows == [] and s["critical_core"] is None


def test_token_rows_by_hand():
    r = assemble(_mapped(), np.array([11, 12]), _record(), _checker(), [], sim_wall=1.0)
    assert r.summary["synaptic_events_per_s"] == 7.0           # 7 synaptic ops in 1 s of wall time
    # owners: step 0 -> token 0; steps 1, 2, 3 -> token 1 (pipelined drain)
    want = [
        {"token": 0, "id": 11, "latency_cycles": 60, "latency_ns": 60000.0, "energy_nj": 0.238, "events": 1,
         "packets": 1, "synaptic_ops": 3, "step_cycles": 10},
        {"token": 1, "id": 12, "latency_cycles": 90, "latency_ns": 90000.0, "energy_nj": 1.923, "events": 4,
         "packets": 2, "synaptic_ops": 4, "step_cycles": 90},
    ]
    assert [{k: row[k] for k in w} for row, w in zip(r.tokens_rows, want)] == want and len(r.tokens_rows) == 2


def test_summary_edge_cases():
    """No predictions, no wall time, no name in the model header, no readout, a mismatch."""
    rec = _record()
    first = Mismatch(token=1, layer="L1", index=0, chip=3, golden=4)
    s = assemble(_mapped(header={}, readout=False), np.array([11, 12]), rec, _checker(first, 0, bad=(1,)), [],
                 sim_wall=0.0).summary
    assert math.isnan(s["perplexity"]) and math.isnan(s["golden_perplexity"]) and s["predictions"] == 0
    assert s["bit_exact"] is False and s["mismatched_tokens"] == 1
    assert s["first_mismatch"] == {"token": 1, "layer": "L1", "index": 0, "chip": 3, "golden": 4}
    assert s["model"] == "tiny"                                # the model file's stem
    assert s["golden_synaptic_ops_per_token"] == 3.5           # 7 layer ops; the host decodes
    assert s["sim_wall_s"] == 0.0 and s["synaptic_events_per_s"] is None


def test_zero_time_run():
    """A run whose steps took no cycles has no throughput and no link utilization (not a division by 0)."""
    sched = make_schedule("serial", 1, 1)
    rec = RunRecord.empty(sched, n_cores=2, n_links=3, n_layers=1)
    s = assemble(_mapped(), np.array([5]), rec, _checker(n_pred=0), [], sim_wall=1.0).summary
    assert s["throughput_tokens_per_s"] is None and s["simulated_time_ns"] == 0.0
    assert s["traffic"]["max_link_utilization"] == 0.0 and s["energy_nj_total"] == 0.0


def test_rounding_keeps_six_significant_digits():
    assert _r(1 / 3) == 0.333333 and _r(123456789.0) == 123457000.0 and _r(2 / 3, 2) == 0.67
    assert _r(math.inf) == math.inf and math.isnan(_r(math.nan))


def test_latency_is_cycles_over_the_clock_then_six_digits():
    """246913 cycles at 200 MHz = 1234565 ns exactly, a tie at 6 digits: rounded to even, 1234560."""
    sched = make_schedule("serial", 1, 1)
    rec = RunRecord.empty(sched, n_cores=2, n_links=3, n_layers=1)
    for s, cyc in enumerate((246000, 900, 13)):
        rec.add_step(s, cyc, np.zeros((3, N_ACTIONS), np.int64), np.zeros(3, np.int64))
    m = _mapped(**{"clock.frequency_hz": 2e8})
    r = assemble(m, np.array([5]), rec, _checker(n_pred=0), [], sim_wall=1.0)
    assert r.summary["latency_ns"]["max"] == 1234560.0 and r.tokens_rows[0]["latency_ns"] == 1234560.0
    assert r.tokens_rows[0]["latency_cycles"] == 246913


def test_hops_and_utilization_with_one_flit_packets_and_no_links():
    """1-flit packets: packet hops = flit hops (8 here, an int); a chip without links has no utilization."""
    sched = make_schedule("pipelined", 2, 1)
    rec = RunRecord.empty(sched, n_cores=2, n_links=0, n_layers=1)
    for s in range(4):
        rec.add_step(s, CYCLES[s], _counts(s), np.zeros(0, np.int64))
    m = _mapped(**{"noc.header_bits": 0})           # 8 payload bits on 16-bit links: 1 flit
    t = assemble(m, np.array([11, 12]), rec, _checker(), [], sim_wall=1.0).summary["traffic"]
    assert (t["packets"], t["flits"], t["hops"]) == (2, 2, 8) and type(t["hops"]) is int
    assert t["max_link_utilization"] == 0.0 and t["peak_step_link_utilization"] == 0.0


def test_the_trace_is_built_from_the_steps(monkeypatch):
    import nmsim.report.replay_trace as rt

    monkeypatch.setattr(rt, "replay_trace", lambda cm, hz, traces, cycles: ("trace", cm, hz, traces, cycles.tolist()))
    m = _mapped()
    m.model = SimpleNamespace(meta={}, name="compiled")
    r = assemble(m, np.array([11, 12]), _record(), _checker(), ["t0"], sim_wall=1.0)
    assert r.trace == ("trace", m.model, 1e6, ["t0"], CYCLES)
