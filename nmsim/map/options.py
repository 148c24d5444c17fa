"""The architect's controls over a placement: ``map.*`` settings (``--set map.L1.cores=0-15``).

Keys (``docs/mapping.md``):

``map.max_neurons_per_core``         at most this many neurons on any core (all populations)
``map.<pop>.max_neurons_per_core``   at most this many neurons of population ``<pop>`` on a core
``map.<pop>.cores``                  the cores ``<pop>`` may use: ``"0-15"``, ``"0-7,16-23"``, ``"5"``
``map.calibration_tokens``           calibration tokens of the ``balanced`` strategy (default 200)
``map.objective``                    what ``balanced`` minimises: ``auto`` (default), ``latency``, ``energy``
``map.energy_budget``                under ``latency``: the energy premium (fraction) ``balanced`` may pay for
                                     speed, default 0.10; ``"none"``: no limit (``nmsim.map.choose``)

``balanced`` objectives: ``latency`` -- the shortest step within the energy budget (at most
``map.energy_budget`` more energy than the most frugal placement as fast as the best conventional one),
least energy breaking ties; ``energy`` -- the
least energy among the placements whose step fits the chip's tick period (``fixed`` timestep mode; in
``barrier`` mode every step fits), the shortest step if none fits; ``auto`` -- ``energy`` on a chip whose
timestep is a fixed tick (a faster step buys no latency there, only static power of more cores) and
``latency`` on a self-timed (``barrier``) chip.

Strategies ``snake`` and ``balanced`` honour every limit; ``partition`` refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nmsim.errors import MappingError
from nmsim.map.choose import DEFAULT_BUDGET

POP_KEYS = ("max_neurons_per_core", "cores")
GLOBAL_KEYS = ("max_neurons_per_core", "calibration_tokens", "objective", "energy_budget")
DEFAULT_CALIBRATION_TOKENS = 200
#: ``map.objective`` choices (module docstring).
OBJECTIVES = ("auto", "latency", "energy")


def resolve_objective(objective: str, chip) -> str:
    """``latency`` or ``energy``: ``auto`` resolved by the chip's timestep mode (module docstring)."""
    if objective != "auto":
        return objective
    return "energy" if chip.timestep.mode == "fixed" else "latency"


def parse_cores(text, n_cores: int | None = None, what: str = "cores") -> tuple[int, ...]:
    """``"0-15,20"`` (or an int, or a list of ints) -> sorted unique core indices."""
    if isinstance(text, bool):
        raise MappingError(f"{what} = {text!r}: expected core indices such as '0-15' or '0-7,16-23'")
    if isinstance(text, (int, np.integer)):
        items = [int(text)]
    elif isinstance(text, (list, tuple)):
        items = []
        for t in text:
            items.extend(parse_cores(t, n_cores, what))
    elif isinstance(text, str):
        items = []
        for part in text.split(","):
            part = part.strip()
            lo, sep, hi = part.partition("-")
            try:
                a = int(lo)
                b = int(hi) if sep else a
            except ValueError:
                raise MappingError(f"{what} = {text!r}: expected core indices such as '0-15' or '0-7,16-23'") from None
            if b < a:
                raise MappingError(f"{what} = {text!r}: range {part!r} runs backwards")
            items.extend(range(a, b + 1))
    else:
        raise MappingError(f"{what} = {text!r}: expected core indices such as '0-15' or '0-7,16-23'")
    if n_cores is not None:
        bad = [c for c in items if c < 0 or c >= n_cores]
        if bad:
            raise MappingError(f"{what} = {text!r}: core {bad[0]} is outside 0..{n_cores - 1} of the chip")
    if not items:
        raise MappingError(f"{what} = {text!r}: no cores")
    return tuple(sorted(set(items)))


def _positive_int(key: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise MappingError(f"map.{key} = {v!r}: expected a positive integer")
    return int(v)


def _budget(v) -> float | None:
    """``map.energy_budget``: a finite fraction >= 0, or ``"none"`` (no limit)."""
    if isinstance(v, str) and v.strip().lower() == "none":
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) or v < 0:
        raise MappingError(f"map.energy_budget = {v!r}: expected a fraction >= 0 (0.1 = +10 % energy) or 'none'")
    return float(v)


@dataclass(frozen=True)
class MapOptions:
    """Parsed ``map.*`` settings; ``raw`` keeps them as given (for ``run.json``)."""

    max_neurons_per_core: int | None = None
    calibration_tokens: int = DEFAULT_CALIBRATION_TOKENS
    objective: str = "auto"
    energy_budget: float | None = DEFAULT_BUDGET  #: fraction; None = no limit
    pop_max_neurons: dict = field(default_factory=dict)   #: {pop: int}
    pop_cores: dict = field(default_factory=dict)         #: {pop: "0-15" as given}
    raw: dict = field(default_factory=dict)

    @property
    def constrains(self) -> bool:
        return bool(self.max_neurons_per_core or self.pop_max_neurons or self.pop_cores)

    def check(self, net, n_cores: int) -> None:
        """Population names exist (and are not host inputs); core sets lie on the chip."""
        for pop in list(self.pop_max_neurons) + list(self.pop_cores):
            if pop not in net.populations:
                choices = ", ".join(p for p, q in net.populations.items() if not q.is_host)
                raise MappingError(f"map.{pop}: unknown population {pop!r}; populations on cores: {choices}")
            if net.populations[pop].is_host:
                raise MappingError(f"map.{pop}: population {pop!r} is an input and lives on the host")
        for pop, text in self.pop_cores.items():
            parse_cores(text, n_cores, f"map.{pop}.cores")

    def describe(self, pop: str) -> str:
        """The limits that apply to ``pop``, as ``--set`` text."""
        out = []
        if self.max_neurons_per_core:
            out.append(f"map.max_neurons_per_core={self.max_neurons_per_core}")
        if pop in self.pop_max_neurons:
            out.append(f"map.{pop}.max_neurons_per_core={self.pop_max_neurons[pop]}")
        if pop in self.pop_cores:
            out.append(f"map.{pop}.cores={self.pop_cores[pop]}")
        return " and ".join(out)


def map_options(settings: dict | None) -> MapOptions:
    """``{"L1.cores": "0-15", "max_neurons_per_core": 32, ...}`` (keys without ``map.``) -> :class:`MapOptions`."""
    settings = dict(settings or {})
    g: dict = {}
    pmax: dict = {}
    pcores: dict = {}
    for key, v in sorted(settings.items()):
        parts = key.split(".")
        if len(parts) == 1:
            if parts[0] not in GLOBAL_KEYS:
                raise MappingError(f"map.{key}: unknown setting; choices: "
                                   + ", ".join([f"map.{k}" for k in GLOBAL_KEYS]
                                               + [f"map.<population>.{k}" for k in POP_KEYS]))
            if parts[0] == "objective":
                if v not in OBJECTIVES:
                    raise MappingError(f"map.objective = {v!r}; choices: {', '.join(OBJECTIVES)}")
                g["objective"] = v
            elif parts[0] == "energy_budget":
                g["energy_budget"] = _budget(v)
            else:
                g[parts[0]] = _positive_int(key, v)
        elif len(parts) == 2 and parts[1] in POP_KEYS:
            if parts[1] == "cores":
                parse_cores(v, None, f"map.{key}")
                pcores[parts[0]] = v if isinstance(v, str) else ",".join(map(str, parse_cores(v)))
            else:
                pmax[parts[0]] = _positive_int(key, v)
        else:
            raise MappingError(f"map.{key}: unknown setting; per population: "
                               + ", ".join(f"map.<population>.{k}" for k in POP_KEYS))
    return MapOptions(g.get("max_neurons_per_core"), g.get("calibration_tokens", DEFAULT_CALIBRATION_TOKENS),
                      g.get("objective", "auto"), g.get("energy_budget", DEFAULT_BUDGET), pmax, pcores, settings)
