"""Per-core and per-link view of a replay (``docs/replay.md``, "Per-core view"): ``cores.csv``, ``links.csv``.

:class:`CoreStats` is fed once per step by the driver and keeps only sums, maxima and counts per core
(``O(n_cores)`` memory for any number of steps).  Per step and core ``c`` (host = index ``n_cores``):

- *synaptic ops*: the core's ``synaptic_op`` count;
- *neuron-phase cycles* ``E_c``: when the core's neuron unit finished (engine-model.md §2.1);
- *synapse-unit busy cycles*: ``packet_receive x packet_receive_cycles + synapse_read x synapse_read_cycles``,
  the service time of the packets it received (§2.4; waiting for arrivals not included);
- *end* ``end_c = max(E_c, free_c)``, ``free_c`` the synapse unit's last completion (for the host: its last
  arrival).  The step ends at ``T = max_c end_c`` (§2.5, barrier excluded); the step's **critical core** is the
  lowest index ``c`` with ``end_c = T``.  A fully idle step (``T = 0``) has no critical core.
"""

from __future__ import annotations

import io

import numpy as np

from nmsim.compile.compiled import PORT_E, PORT_N, PORT_S, PORT_W, T
from nmsim.describe.actions import A

CORES_COLUMNS = ("core", "x", "y", "chip", "populations", "neurons", "synapses", "bytes",
                 "synaptic_ops_mean", "synaptic_ops_max", "neuron_cycles_mean", "neuron_cycles_max",
                 "synapse_busy_cycles_mean", "synapse_busy_cycles_max", "busy_cycles_total", "critical_share")
LINKS_COLUMNS = ("link", "x", "y", "direction", "core", "busy_cycles", "utilization")
#: direction names of the mesh output ports
PORT_NAMES = {PORT_E: "E", PORT_W: "W", PORT_N: "N", PORT_S: "S"}


class CoreStats:
    """Running per-core aggregates of a replay (arrays of length ``n_cores + 1``, host last)."""

    def __init__(self, n_cores: int, timing: np.ndarray):
        n = n_cores + 1
        self.n_cores = n_cores
        self.recv_cycles = int(timing[T["packet_receive_cycles"]])
        self.read_cycles = int(timing[T["synapse_read_cycles"]])
        self.steps = 0
        self.idle_steps = 0
        z = (lambda: np.zeros(n, np.int64))
        self.synops_sum, self.synops_max = z(), z()
        self.neuron_sum, self.neuron_max = z(), z()
        self.syn_busy_sum, self.syn_busy_max = z(), z()
        self.critical = z()

    def add(self, counters: np.ndarray, core_end: np.ndarray, syn_free: np.ndarray) -> None:
        """One step: ``counters int64[n_cores+1, N_ACTIONS]``, the engine's ``E_c`` and ``free_c`` (cycles)."""
        n = self.n_cores + 1
        ops = counters[:, A["synaptic_op"]]
        neuron = core_end[:n]
        busy = counters[:, A["packet_receive"]] * self.recv_cycles + counters[:, A["synapse_read"]] * self.read_cycles
        for s, m, v in ((self.synops_sum, self.synops_max, ops), (self.neuron_sum, self.neuron_max, neuron),
                        (self.syn_busy_sum, self.syn_busy_max, busy)):
            s += v
            np.maximum(m, v, out=m)
        end = np.maximum(neuron, syn_free[:n])
        self.steps += 1
        if end.max() == 0:
            self.idle_steps += 1
        else:
            self.critical[int(np.argmax(end))] += 1  # argmax: the lowest index among ties

    def rows(self, cm, placement, pop_names: list[str]) -> list[dict]:
        """One row per core (host last, ``core = "host"``); ``placement`` gives neurons/synapses/bytes."""
        S = max(self.steps, 1)
        C = self.n_cores
        pops = _core_populations(cm, pop_names)
        board = cm.meta.get("system")
        out = []
        for c in range(C + 1):
            r = int(cm.core_router[c])
            host = c == C
            out.append({
                "core": "host" if host else c, "x": r % cm.width, "y": r // cm.width,
                "chip": 0 if board is None else int((r // cm.width) // board["chip_height"] * board["chips_x"]
                                                    + (r % cm.width) // board["chip_width"]),
                "populations": " ".join(pops[c]),
                "neurons": int(cm.core_neuron_ptr[c + 1] - cm.core_neuron_ptr[c]),
                "synapses": 0 if host else int(placement.synapses[c]), "bytes": 0 if host else int(placement.bytes[c]),
                "synaptic_ops_mean": float(self.synops_sum[c]) / S, "synaptic_ops_max": int(self.synops_max[c]),
                "neuron_cycles_mean": float(self.neuron_sum[c]) / S, "neuron_cycles_max": int(self.neuron_max[c]),
                "synapse_busy_cycles_mean": float(self.syn_busy_sum[c]) / S,
                "synapse_busy_cycles_max": int(self.syn_busy_max[c]),
                "busy_cycles_total": int(self.neuron_sum[c] + self.syn_busy_sum[c]),
                "critical_share": float(self.critical[c]) / S,
            })
        return out


def critical_core(rows: list[dict]) -> dict | None:
    """The core most often critical (lowest index among ties): ``{core, populations, share}``, or ``None``."""
    if not rows:
        return None
    best = max(rows, key=lambda r: r["critical_share"])  # max keeps the first (lowest index) of equal shares
    return {"core": best["core"], "populations": best["populations"], "share": best["critical_share"]}


def _core_populations(cm, pop_names: list[str]) -> list[list[str]]:
    """Names of the populations with neurons on each core (host last), in population order."""
    core = np.repeat(np.arange(cm.n_cores + 1), np.diff(cm.core_neuron_ptr))
    pairs = np.unique(np.stack([core, cm.neuron_pop.astype(np.int64)], axis=1), axis=0)
    out: list[list[str]] = [[] for _ in range(cm.n_cores + 1)]
    for c, p in pairs:
        out[int(c)].append(pop_names[int(p)] if int(p) < len(pop_names) else str(int(p)))
    return out


def link_rows(cm, busy_total: np.ndarray, total_cycles: int) -> list[dict]:
    """One row per link that can carry traffic: mesh ports with a neighbour (``E W N S``), each core's
    injection (``inject``) and ejection (``eject``) link (host: ``core = host``).  ``utilization`` = busy
    cycles / simulated cycles of the run."""
    from nmsim.sim.engine import link_costs

    down = link_costs(cm)[2]
    W, R, C = cm.width, cm.n_routers, cm.n_cores
    rows = []

    def add(L: int, r: int, d: str, core) -> None:
        b = int(busy_total[L])
        rows.append({"link": L, "x": r % W, "y": r // W, "direction": d, "core": core, "busy_cycles": b,
                     "utilization": b / total_cycles if total_cycles else 0.0})

    for r in range(R):
        for p in (PORT_E, PORT_W, PORT_N, PORT_S):
            if down[4 * r + p] >= 0:
                add(4 * r + p, r, PORT_NAMES[p], "")
    for kind, base in (("inject", 4 * R), ("eject", 4 * R + C + 1)):
        for c in range(C + 1):
            add(base + c, int(cm.core_router[c]), kind, "host" if c == C else c)
    return rows


def csv_text(rows: list[dict], columns: tuple[str, ...]) -> str:
    """CSV with a header; floats as ``repr`` (round-trips exactly), everything else ``str``."""
    buf = io.StringIO()
    buf.write(",".join(columns) + "\n")
    for r in rows:
        buf.write(",".join(repr(v) if isinstance(v, float) else str(v) for v in (r[c] for c in columns)) + "\n")
    return buf.getvalue()
