"""Chrome Trace Event JSON that opens in Perfetto (ui.perfetto.dev) and chrome://tracing.

Tracks: one process (``pid``) per group (e.g. "cores", "links"), one thread
(``tid``) per core or link.  Slices are complete events (``ph: "X"``) whose
``ts``/``dur`` are microseconds, converted from cycles with the chip clock;
the cycle values and the scale are kept in ``args``.  Perfetto requires the
slices of one track not to overlap; every producer in nmsim emits
serialized resources (a link, a synapse unit, a neuron unit), so they do not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Trace:
    """Collects slices and counters; :meth:`write` emits deterministic JSON."""

    clock_hz: float
    events: list = field(default_factory=list)
    _tracks: dict = field(default_factory=dict)
    _groups: dict = field(default_factory=dict)

    def _pid(self, group: str) -> int:
        if group not in self._groups:
            self._groups[group] = len(self._groups) + 1
        return self._groups[group]

    def _tid(self, group: str, track: str) -> tuple[int, int]:
        pid = self._pid(group)
        key = (group, track)
        if key not in self._tracks:
            self._tracks[key] = len(self._tracks) + 1
        return pid, self._tracks[key]

    def _us(self, cycles: int) -> float:
        return cycles * 1e6 / self.clock_hz

    def slice(self, group: str, track: str, name: str, start_cycle: int, dur_cycles: int, **args) -> None:
        """One busy interval ``[start_cycle, start_cycle + dur_cycles)`` on a track."""
        pid, tid = self._tid(group, track)
        self.events.append({
            "name": name, "ph": "X", "pid": pid, "tid": tid,
            "ts": self._us(start_cycle), "dur": self._us(dur_cycles),
            "args": {"start_cycle": int(start_cycle), "dur_cycles": int(dur_cycles), **args},
        })

    def counter(self, group: str, name: str, cycle: int, **values) -> None:
        """A counter sample (``ph: "C"``) at ``cycle``."""
        self.events.append({"name": name, "ph": "C", "pid": self._pid(group),
                            "ts": self._us(cycle), "args": {k: int(v) for k, v in values.items()}})

    def to_json(self) -> dict:
        meta = []
        for group, pid in self._groups.items():
            meta.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": group}})
        for (group, track), tid in self._tracks.items():
            meta.append({"name": "thread_name", "ph": "M", "pid": self._groups[group], "tid": tid,
                         "args": {"name": track}})
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": self._groups[group], "tid": tid,
                         "args": {"sort_index": tid}})
        return {"traceEvents": meta + self.events, "displayTimeUnit": "ns",
                "otherData": {"clock_hz": self.clock_hz, "time_unit": "us = cycles * 1e6 / clock_hz"}}

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True))
