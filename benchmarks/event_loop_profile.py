"""Event-loop profile: where a step of the engine benchmark's workload spends its time, and how much of it
a closed-form transit could take over (issue 12, item 3).

Same model as ``benchmarks/engine_benchmark.py`` (random LIF network, Loihi preset).  Prints, per step:

- wall milliseconds of each engine kernel (``step_neurons``, ``list_fired``, ``accumulate_src``,
  ``neuron_phase_enabled``, ``build_packets``,
  ``run_events``; timed by wrapping the module functions the engine calls), and nanoseconds of
  ``run_events`` per link grant;
- from one traced step (``Engine(trace=True)``), per mesh/ejection hop, the wait between the cycle the
  packet's request becomes visible (previous grant + that link's head latency) and its grant: the share of
  hops granted in their request cycle (no rival, link free, buffer free -- the hops a closed-form pass could
  move without the wheel), the share whose request cycle is shared with another request for the same
  link (ties broken by ``seq``), and the mean wait.

- from the same trace, the packets and link grants of packets to and from the host, how many packets
  already wait for a link (requested, not yet granted) when a hop's request becomes visible (the waiting
  set the loop keeps per link).

``--workload small`` profiles the language-model replay instead: the shipped ``ptb-egru-small-s90`` on the
Loihi preset (the ``nmsim run`` default: balanced placement, decoder on the chip, pipelined), ``--tokens``
tokens through the functional pass, then ``--steps`` of the recorded steps (from step 40 on, past the
pipeline's fill) timed alone as the timing pass does (``Engine.timing_into``), one of them traced
(``Engine.timing_trace``).

Speed is never asserted; the hop statistics are computed from the trace only (independent of the loop's
internals).

    python benchmarks/event_loop_profile.py [--steps 5] [--neurons 65536] [--fan-out 128]
    python benchmarks/event_loop_profile.py --workload small [--steps 20] [--tokens 80]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from engine_benchmark import LOIHI_TIMING, random_lif_model
from nmsim.sim import Engine
from nmsim.sim import events as ev
from nmsim.sim import functional as fn
from nmsim.sim import timing as tm

KERNELS = ((fn, "step_neurons"), (fn, "list_fired"), (fn, "accumulate_src"), (tm, "neuron_phase_enabled"),
           (tm, "build_packets"), (ev, "run_events"))


def hop_stats(trace, link_lat: np.ndarray) -> dict:
    """Wait statistics of every hop after the injection link, from a :class:`nmsim.sim.result.PacketTrace`."""
    ptr, link, grant = trace.link_ptr, trace.link.astype(np.int64), trace.grant
    first = np.zeros(link.shape[0], bool)
    first[ptr[:-1]] = True  # a packet's injection link: its request time is not in the trace
    later = np.flatnonzero(~first)
    req = grant[later - 1] + link_lat[link[later - 1]]
    wait = grant[later] - req
    key = link[later] * (int(req.max(initial=0)) + 1) + req
    _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    return {"hops": int(later.size), "no_wait": float(np.mean(wait == 0)) if later.size else 0.0,
            "shared_request_cycle": float(np.mean(cnt[inv] > 1)) if later.size else 0.0,
            "mean_wait": float(wait.mean()) if later.size else 0.0}


def waiting_stats(trace, link_lat: np.ndarray, host: int) -> dict:
    """From a :class:`nmsim.sim.result.PacketTrace`: the packets (and link grants) to and from the ``host``
    core, and for each hop after the injection link how many other packets wait for that link when its request
    becomes visible (requested at or before that cycle, granted at or after it): shares with at least 1, 8 and
    32 waiting."""
    ptr, link, grant = trace.link_ptr, trace.link.astype(np.int64), trace.grant
    n_links = np.diff(ptr)
    first = np.zeros(link.shape[0], bool)
    first[ptr[:-1]] = True
    later = np.flatnonzero(~first)
    req = grant[later - 1] + link_lat[link[later - 1]]
    g = grant[later]
    span = int(max(g.max(initial=0), req.max(initial=0))) + 1
    lk = link[later] * span
    r_keys, g_keys = np.sort(lk + req), np.sort(lk + g)
    # requests on the link visible by cycle r (itself included), minus those granted before r
    waiting = np.searchsorted(r_keys, lk + req, side="right") - np.searchsorted(g_keys, lk + req, side="left") - 1
    to_host, from_host = trace.dst_core == host, trace.src_core == host
    return {"packets": int(len(n_links)), "grants": int(n_links.sum()),
            "to_host": int(to_host.sum()), "to_host_grants": int(n_links[to_host].sum()),
            "from_host": int(from_host.sum()),
            "wait_ge": {k: float(np.mean(waiting >= k)) if waiting.size else 0.0 for k in (1, 8, 32)}}


def print_trace_stats(tr, link_lat: np.ndarray, host: int) -> None:
    s = hop_stats(tr, link_lat)
    print(f"  hops after injection {s['hops']:,}: granted in their request cycle {s['no_wait']:.1%}; "
          f"request cycle shared with another request for the link {s['shared_request_cycle']:.1%}; "
          f"mean wait {s['mean_wait']:.2f} cycles")
    w = waiting_stats(tr, link_lat, host)
    print(f"  packets {w['packets']:,}: {w['to_host']:,} to the host ({w['to_host_grants'] / max(w['grants'], 1):.1%} "
          f"of the link grants), {w['from_host']:,} from the host")
    print("  other packets waiting for the link when a hop's request becomes visible: "
          + ", ".join(f">= {k}: {v:.1%}" for k, v in w["wait_ge"].items()))


def timed_kernels(spent: Counter):
    """Wrap the engine's kernels (:data:`KERNELS`) to add their wall time to ``spent``; returns the undo list."""
    originals = [(mod, name, getattr(mod, name)) for mod, name in KERNELS]

    def timed(name, f):
        def run(*args):
            t0 = time.perf_counter()
            out = f(*args)
            spent[name] += time.perf_counter() - t0
            return out
        return run

    for mod, name, f in originals:
        setattr(mod, name, timed(name, f))
    return originals


def restore(originals) -> None:
    for mod, name, f in originals:
        setattr(mod, name, f)


def profile_small(steps: int, tokens: int) -> None:
    """The replay's timing pass on recorded steps of the shipped small model (``--workload small``)."""
    import tempfile
    from pathlib import Path

    from nmsim.describe.actions import N_ACTIONS
    from nmsim.replay import ReplayConfig
    from nmsim.replay.driver import _inputs, functional_pass
    from nmsim.replay.twopass import FunctionalRecord

    cfg = ReplayConfig(tokens=tokens)
    t0 = time.perf_counter()
    mapped, toks = _inputs(cfg, None, None)
    t_map = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "record.npz"
        functional_pass(cfg, mapped, toks, path)
        rec = FunctionalRecord.load(path)
    m = mapped.model
    N, C = m.n_neurons, m.n_cores
    lo = min(40, max(rec.n_steps - steps, 0))
    sel = range(lo, min(lo + steps, rec.n_steps))

    def flags(s):
        return (np.unpackbits(rec.fired[s], count=N), np.unpackbits(rec.active[s], count=N),
                rec.enables[rec.enable_id[s]])

    def arrays():
        return np.zeros((C + 1, N_ACTIONS), np.int64), np.zeros(m.n_links, np.int64)

    eng = Engine(m)
    eng.timing_into(*flags(sel[0]), *arrays())  # warm-up: JIT compilation (or cache load)
    spent: Counter = Counter()
    originals = timed_kernels(spent)
    try:
        t0 = time.perf_counter()
        for s in sel:
            eng.timing_into(*flags(s), *arrays())
    finally:
        restore(originals)
    wall = time.perf_counter() - t0
    k = len(sel)
    print(f"workload: {mapped.golden.mf.header.get('name', cfg.model)} on loihi ({cfg.placement} "
          f"placement, decoder on the chip, {C} cores; mapping {t_map:.1f} s); steps {sel.start}..{sel.stop - 1} "
          f"of {rec.n_steps} timed alone: {wall / k * 1e3:.2f} ms/step")
    for _, name in KERNELS:
        if spent[name]:
            print(f"  {name:20s} {spent[name] / k * 1e3:8.2f} ms/step")
    teng = Engine(m, trace=True)
    cycles, tr = teng.timing_trace(*flags(sel[0]), *arrays())
    n_grants = int(tr.link.shape[0])
    print(f"  traced step {sel.start}: {cycles:,} cycles, link grants {n_grants:,}; run_events "
          f"{spent['run_events'] / k / max(n_grants, 1) * 1e9:.1f} ns per grant")
    print_trace_stats(tr, eng.lt["link_lat"], C)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--neurons", type=int, default=65536)
    ap.add_argument("--fan-out", type=int, default=128)
    ap.add_argument("--per-core", type=int, default=1024)
    ap.add_argument("--workload", choices=("lif", "small"), default="lif",
                    help="lif: the engine benchmark's network (default); small: the shipped LM replay's timing pass")
    ap.add_argument("--tokens", type=int, default=80, help="--workload small: tokens through the functional pass")
    a = ap.parse_args(argv)
    if a.workload == "small":
        profile_small(a.steps, a.tokens)
        return
    model = random_lif_model(a.neurons, a.fan_out, a.per_core)
    eng = Engine(model)
    eng.step()  # warm-up: JIT compilation (or cache load)
    spent: Counter = Counter()
    originals = timed_kernels(spent)
    try:
        t0 = time.perf_counter()
        for _ in range(a.steps):
            eng.step()
    finally:
        restore(originals)
    wall = time.perf_counter() - t0
    print(f"workload: {a.neurons} neurons, fan-out {a.fan_out}, Loihi preset "
          f"(buffer depth {LOIHI_TIMING['router_buffer_packets']}); {a.steps} steps, "
          f"{wall / a.steps * 1e3:.1f} ms/step")
    for _, name in KERNELS:
        print(f"  {name:20s} {spent[name] / a.steps * 1e3:8.2f} ms/step")
    # grants per step from a traced step 2 (the timed steps are 2 .. steps + 1; their counts differ little)
    teng = Engine(model, trace=True)
    teng.step()
    tr = teng.step().trace
    n_grants = int(tr.link.shape[0])
    per_grant_ns = spent["run_events"] / a.steps / max(n_grants, 1) * 1e9
    print(f"  link grants/step {n_grants:,} (traced step 2); run_events {per_grant_ns:.1f} ns per grant")
    print_trace_stats(tr, eng.lt["link_lat"], model.n_cores)

if __name__ == "__main__":
    main()
