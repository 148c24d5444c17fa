"""Engine versus oracle: list disagreements, shrink a failing case, write a reproducer.

``simulate`` is passed in (``nmsim.sim.engine.simulate`` normally), so this
module imports nothing from ``nmsim.sim``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from nmsim.describe.actions import ACTIONS
from nmsim.oracle.random_cases import RandomCase, build_model
from nmsim.oracle.functional_oracle import oracle_run
from nmsim.oracle.simpy_chip import OracleResult

#: Result fields compared, in the order they are reported.
FIELDS = ("step_cycles", "counters", "link_busy", "fired", "payload", "final_state")


def disagreements(got, want: OracleResult, max_per_field: int = 3) -> list[str]:
    """One line per differing entry (at most ``max_per_field`` per field); empty if identical."""
    out = []
    for name in FIELDS:
        g, w = getattr(got, name), getattr(want, name)
        if g is None:
            out.append(f"{name}: not recorded by the engine")
            continue
        g = np.asarray(g)
        if g.shape != w.shape:
            out.append(f"{name}: shape {g.shape}, oracle {w.shape}")
            continue
        bad = np.argwhere(g != w)
        for idx in bad[:max_per_field]:
            where = list(map(int, idx))
            if name == "counters":
                where[-1] = ACTIONS[where[-1]]
            out.append(f"{name}{where}: engine {g[tuple(idx)]}, oracle {w[tuple(idx)]}")
        if len(bad) > max_per_field:
            out.append(f"{name}: {len(bad) - max_per_field} more entries differ")
    return out


def trace_disagreements(trace, want: OracleResult, max_items: int = 5) -> list[str]:
    """Per-packet differences between an engine ``PacketTrace`` and the oracle's records."""
    mine = [(t, p) for t, st in enumerate(want.steps) for p in st.packets]
    if trace.n_packets != len(mine):
        return [f"trace: {trace.n_packets} packets, oracle {len(mine)}"]
    out = []
    for i, (t, p) in enumerate(mine):
        a, b = int(trace.link_ptr[i]), int(trace.link_ptr[i + 1])
        got = (int(trace.step[i]), int(trace.seq[i]), int(trace.src_neuron[i]), int(trace.route[i]),
               tuple(trace.link[a:b].tolist()), trace.grant[a:b].tolist(), int(trace.arrival[i]),
               int(trace.syn_start[i]), int(trace.syn_end[i]))
        exp = (t, p.seq, p.neuron, p.route, p.links, p.grants, p.arrival, p.syn_start, p.syn_end)
        if got != exp:
            out.append(f"packet {i}: engine (step, seq, g, k, links, grants, arrival, syn_start, syn_end) = {got}\n"
                       f"{'':>{len(str(i)) + 8}}oracle {exp}")
            if len(out) >= max_items:
                break
    return out


def check_case(case: RandomCase, simulate: Callable) -> list[str]:
    """Run ``simulate(model, n_steps, host_payloads)`` and the oracle; return the disagreements.

    If the engine's result carries a ``trace`` (``PacketTrace``), per-packet
    differences are appended (they locate the first wrong grant).
    """
    want = oracle_run(case.model, case.n_steps, case.host_payloads)
    got = simulate(case.model, case.n_steps, case.host_payloads)
    out = disagreements(got, want)
    if out and getattr(got, "trace", None) is not None:
        out += trace_disagreements(got.trace, want)
    return out


# --------------------------------------------------------------------------- shrinking


def _rebuild(case: RandomCase, n_steps: int | None = None, host_payloads=None, **changes) -> RandomCase:
    build = {**case.build, **changes}
    if "edges" in changes or "neurons_per_core" in changes or "n_host" in changes:
        build["row_order"] = None  # the row count may have changed
    steps = case.n_steps if n_steps is None else n_steps
    pay = case.host_payloads if host_payloads is None else host_payloads
    return replace(case, model=build_model(**build), n_steps=steps, host_payloads=pay[:steps], build=build)


def _drop_neuron(case: RandomCase, g: int) -> RandomCase:
    """The case without neuron ``g`` (its synapses gone, later neurons renumbered)."""
    b = case.build
    n_lif = sum(b["neurons_per_core"])
    edges = [(s - (s > g), t - (t > g), w) for s, t, w in b["edges"] if g not in (s, t)]
    if g >= n_lif:  # host neuron
        pay = np.delete(case.host_payloads, g - n_lif, axis=1)
        return _rebuild(case, host_payloads=pay, edges=edges, n_host=b["n_host"] - 1)
    bounds = np.cumsum(b["neurons_per_core"])
    core = int(np.searchsorted(bounds, g, side="right"))
    npc = list(b["neurons_per_core"])
    npc[core] -= 1
    return _rebuild(case, edges=edges, neurons_per_core=npc,
                    lif_params=np.delete(np.asarray(b["lif_params"]), g, axis=0), v0=np.delete(np.asarray(b["v0"]), g))


def _candidates(case: RandomCase):
    """Smaller variants of ``case``, biggest cuts first."""
    b = case.build
    for n in range(1, case.n_steps):
        yield lambda n=n: _rebuild(case, n_steps=n)
    N = sum(b["neurons_per_core"]) + b["n_host"]
    for g in reversed(range(N)):
        yield lambda g=g: _drop_neuron(case, g)
    for i in range(len(b["edges"])):
        yield lambda i=i: _rebuild(case, edges=b["edges"][:i] + b["edges"][i + 1:])
    pay = case.host_payloads
    for idx in np.argwhere(pay != 0):
        def zero(idx=tuple(idx)):
            p = pay.copy()
            p[idx] = 0
            return _rebuild(case, host_payloads=p)
        yield zero
    for name, v in b["timing"].items():
        smaller = {"synapses_per_read": 1, "flits_per_packet": 1, "router_buffer_packets": 1}.get(name, 0)
        for new in sorted({smaller, v - 1}):
            if smaller <= new < v:
                yield lambda name=name, new=new: _rebuild(case, timing={**b["timing"], name: new})
    if b["n_accumulators"] > 1:
        yield lambda: _rebuild(case, n_accumulators=1)


def shrink(case: RandomCase, fails: Callable[[RandomCase], bool], max_rounds: int = 200) -> RandomCase:
    """Greedy: keep applying the first smaller variant that still ``fails``."""
    for _ in range(max_rounds):
        for make in _candidates(case):
            try:
                smaller = make()
            except AssertionError:  # e.g. an empty row set or a now-invalid layout
                continue
            if fails(smaller):
                case = smaller
                break
        else:
            return case
    return case


def reproducer_source(case: RandomCase, note: str = "") -> str:
    """A standalone script that rebuilds ``case`` and prints engine/oracle disagreements."""
    b = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in case.build.items()}
    return f'''"""Engine/oracle disagreement (seed {case.seed}), shrunk.  {note}"""
import numpy as np

from nmsim.oracle.compare import disagreements
from nmsim.oracle.random_cases import build_model
from nmsim.oracle.functional_oracle import oracle_run
from nmsim.sim.engine import simulate

build = {b!r}
model = build_model(**build)
n_steps = {case.n_steps}
host_payloads = np.array({np.asarray(case.host_payloads).tolist()!r}, dtype=np.int64)
host_payloads = host_payloads.reshape(n_steps, {case.host_payloads.shape[1]})
want = oracle_run(model, n_steps, host_payloads)
got = simulate(model, n_steps, host_payloads)
for line in disagreements(got, want):
    print(line)
for t, st in enumerate(want.steps):
    for p in st.packets:
        print("oracle step", t, "seq", p.seq, "key", p.key, "links", p.links, "grants", p.grants,
              "arrival", p.arrival, "syn", (p.syn_start, p.syn_end))
'''


def check_lm_case(case, simulate: Callable) -> list[str]:
    """As :func:`check_case` for a :class:`~nmsim.oracle.random_cases.RandomLMCase` (enable masks)."""
    want = oracle_run(case.model, case.n_steps, case.host_payloads, enable=case.enable)
    got = simulate(case.model, case.n_steps, case.host_payloads, enable=case.enable)
    out = disagreements(got, want)
    if out and getattr(got, "trace", None) is not None:
        out += trace_disagreements(got.trace, want)
    return out
