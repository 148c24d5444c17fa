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

Speed is never asserted; the hop statistics are computed from the trace only (independent of the loop's
internals).

    python benchmarks/event_loop_profile.py [--steps 5] [--neurons 65536] [--fan-out 128]
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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--neurons", type=int, default=65536)
    ap.add_argument("--fan-out", type=int, default=128)
    ap.add_argument("--per-core", type=int, default=1024)
    a = ap.parse_args(argv)
    model = random_lif_model(a.neurons, a.fan_out, a.per_core)
    eng = Engine(model)
    eng.step()  # warm-up: JIT compilation (or cache load)
    spent: Counter = Counter()
    originals = [(mod, name, getattr(mod, name)) for mod, name in KERNELS]

    def timed(name, f):
        def run(*args):
            t0 = time.perf_counter()
            out = f(*args)
            spent[name] += time.perf_counter() - t0
            return out
        return run

    try:
        for mod, name, f in originals:
            setattr(mod, name, timed(name, f))
        t0 = time.perf_counter()
        for _ in range(a.steps):
            eng.step()
    finally:
        for mod, name, f in originals:
            setattr(mod, name, f)
    wall = time.perf_counter() - t0
    print(f"workload: {a.neurons} neurons, fan-out {a.fan_out}, Loihi preset "
          f"(buffer depth {LOIHI_TIMING['router_buffer_packets']}); {a.steps} steps, {wall / a.steps * 1e3:.1f} ms/step")
    for _, name in KERNELS:
        print(f"  {name:20s} {spent[name] / a.steps * 1e3:8.2f} ms/step")
    # grants per step from a traced step 2 (the timed steps are 2 .. steps + 1; their counts differ little)
    teng = Engine(model, trace=True)
    teng.step()
    tr = teng.step().trace
    n_grants = int(tr.link.shape[0])
    per_grant_ns = spent["run_events"] / a.steps / max(n_grants, 1) * 1e9
    print(f"  link grants/step {n_grants:,} (traced step 2); run_events {per_grant_ns:.1f} ns per grant")
    s = hop_stats(tr, eng.lt["link_lat"])
    print(f"  hops after injection {s['hops']:,}: granted in their request cycle {s['no_wait']:.1%}; "
          f"request cycle shared with another request for the link {s['shared_request_cycle']:.1%}; "
          f"mean wait {s['mean_wait']:.2f} cycles")


if __name__ == "__main__":
    main()
