"""A placement written by hand: a TOML or JSON file of population / neuron ranges -> cores.

```toml
[populations]          # every neuron of the population, dealt over the cores given
L1 = "0-7"             # core ranges as in map.<pop>.cores, a list of ints, or one int
L2 = [8, 9]
L3 = 10

[[ranges]]             # part of a population
population = "dec"
neurons = "0-4999"     # neuron indices within the population (inclusive ranges)
cores = "11-30"
```

JSON has the same structure (``{"populations": {...}, "ranges": [...]}``).  The neurons of an
entry are dealt over its cores in contiguous blocks of ``ceil(n / n_cores)``, in the order the
cores are listed (ascending).  Every neuron on a core must be given exactly once; inputs stay on
the host.  The capacities are then checked as for any placement (``place_manual``).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np

from nmsim.describe.chip import ChipSpec
from nmsim.describe.network import Network
from nmsim.errors import MappingError
from nmsim.map.options import parse_cores

SUFFIXES = (".toml", ".json")


def is_placement_file(text: str) -> bool:
    """Whether ``--placement`` names a file (by suffix or because it exists)."""
    return isinstance(text, str) and (text.lower().endswith(SUFFIXES) or Path(text).is_file())


def read_placement_file(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise MappingError(f"placement file {str(p)!r} not found")
    try:
        raw = p.read_bytes()
        doc = json.loads(raw) if p.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MappingError(f"placement file {str(p)!r}: not valid {p.suffix.lstrip('.').upper() or 'TOML'}: {msg}") \
            from None
    if not isinstance(doc, dict):
        raise MappingError(f"placement file {str(p)!r}: expected a table with 'populations' and/or 'ranges'")
    extra = sorted(set(doc) - {"populations", "ranges"})
    if extra:
        raise MappingError(f"placement file {str(p)!r}: unknown key {extra[0]!r} (allowed: populations, ranges)")
    return doc


def _neurons(text, n: int, where: str) -> np.ndarray:
    idx = np.asarray(parse_cores(text, None, f"{where} neurons"), np.int64)
    if idx.size and (idx[0] < 0 or idx[-1] >= n):
        bad = int(idx[-1] if idx[-1] >= n else idx[0])
        raise MappingError(f"{where}: neuron {bad} is outside 0..{n - 1}")
    return idx


def place_from_file(chip: ChipSpec, net: Network, path: str | Path):
    """The :class:`~nmsim.map.placement.Placement` a placement file describes."""
    from nmsim.map.placement import place_manual

    doc = read_placement_file(path)
    shown = f"placement file {str(path)!r}"
    entries = []
    pops = doc.get("populations", {})
    if not isinstance(pops, dict):
        raise MappingError(f"{shown}: 'populations' must be a table of population = cores")
    for name, cores in pops.items():
        entries.append((name, None, cores, f"{shown} population {name!r}"))
    ranges = doc.get("ranges", [])
    if not isinstance(ranges, list):
        raise MappingError(f"{shown}: 'ranges' must be a list of tables")
    for i, r in enumerate(ranges):
        where = f"{shown} ranges[{i}]"
        if not isinstance(r, dict) or set(r) != {"population", "neurons", "cores"}:
            raise MappingError(f"{where}: expected exactly the keys population, neurons, cores")
        entries.append((r["population"], r["neurons"], r["cores"], where))
    core_of: dict = {}
    for name, neurons, cores, where in entries:
        if name not in net.populations:
            choices = ", ".join(p for p, q in net.populations.items() if not q.is_host)
            raise MappingError(f"{where}: unknown population {name!r}; populations on cores: {choices}")
        p = net.populations[name]
        if p.is_host:
            raise MappingError(f"{where}: population {name!r} is an input and lives on the host")
        arr = core_of.setdefault(name, np.full(p.n, -1, np.int64))
        idx = np.arange(p.n) if neurons is None else _neurons(neurons, p.n, where)
        cs = np.asarray(parse_cores(cores, chip.n_cores, f"{where} cores"), np.int64)
        dup = idx[arr[idx] >= 0]
        if dup.size:
            raise MappingError(f"{where}: neuron {int(dup[0])} of population {name!r} is placed twice")
        block = -(-idx.size // cs.size)
        arr[idx] = cs[np.arange(idx.size) // block]
    for name, p in net.populations.items():
        if p.is_host:
            continue
        if name not in core_of:
            raise MappingError(f"{shown}: no cores given for population {name!r}")
        miss = np.flatnonzero(core_of[name] < 0)
        if miss.size:
            raise MappingError(f"{shown}: neuron {int(miss[0])} of population {name!r} has no core "
                               f"({miss.size} neurons unplaced)")
    try:
        pl = place_manual(chip, net, core_of)
    except MappingError as exc:
        raise MappingError(f"{shown}: {str(exc).removeprefix('manual placement: ')}") from None
    import dataclasses

    return dataclasses.replace(pl, strategy=f"file:{Path(path).name}")
