"""A warm Numba cache never runs kernels compiled for another layout (``nmsim/jit_cache.py``).

The package is copied to a temporary directory (its ``__pycache__`` included, so the cache is
warm), a small simulation runs there, then two ``ACTIONS`` entries are swapped in the copy's
``nmsim/describe/actions.py`` -- a file the timing kernels import positions from but do not live
in -- and the simulation runs again in a fresh process.  Counts are compared by action name
against a hand calculation both times.  Without the layout stamp the second run loads the
kernels compiled for the old order and puts host packets in the ``packet_send`` column.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nmsim
from nmsim.jit_cache import layout_stamp

SCRIPT = r"""
import json
import numpy as np
import nmsim
from nmsim.describe.actions import ACTIONS
from nmsim.compile.lif import lif_model
from nmsim.sim import simulate

assert nmsim.__file__.startswith(%(root)r), nmsim.__file__
# test_sim_timing.test_host_packets_use_the_io_port: two host events to a core one hop east of the I/O router
m = lif_model(width=2, height=1, core_router=[1], neuron_core=[0], n_host=2, edges=[(1, 0, 3), (2, 0, 5)],
              timing={"io_packet_cycles": 7}, io_router=0)
r = simulate(m, 1, inputs=np.array([[2, -1]]))
print(json.dumps({a: r.counters[0, :, i].tolist() for i, a in enumerate(ACTIONS)}))
"""

#: Counters by action, per column (core 0, host), by hand: core 0's one LIF neuron gets no input at step 0
#: (idle update, no spike); the host sends 2 packets (2 spikes, 2 io_packet, 1 east hop of 1 flit each);
#: core 0 receives both (delivery, receive, one read and one synaptic op each); one barrier.
EXPECTED = {"neuron_update_active": [0, 0], "neuron_update_idle": [1, 0], "spike": [0, 2], "packet_send": [0, 0],
            "packet_receive": [2, 0], "synapse_read": [2, 0], "synaptic_op": [2, 0], "flit_hop_east_west": [0, 2],
            "flit_hop_north_south": [0, 0], "local_delivery": [2, 0], "io_packet": [0, 2], "barrier": [0, 1],
            "multicast_replication": [0, 0], "routing_table_lookup": [0, 0],  # unicast: no copies, no tables
            "flit_hop_chip": [0, 0]}  # one chip: no chip-to-chip hops


def _run(root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "NMSIM_HOME": str(Path(nmsim.__file__).parents[1])}
    env.pop("NUMBA_CACHE_DIR", None)  # cache next to the copy's sources (its tmp directory is writable)
    r = subprocess.run([sys.executable, "-c", SCRIPT % {"root": str(root)}], env=env, cwd=root, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_reordered_actions_with_a_warm_cache_give_correct_counts(tmp_path):
    pkg = Path(nmsim.__file__).parent
    shutil.copytree(pkg, tmp_path / "nmsim")  # __pycache__ too: the copy starts with this checkout's cache
    assert _run(tmp_path) == EXPECTED
    cache = tmp_path / "nmsim" / "sim" / "__pycache__"
    assert any(cache.glob("timing.build_packets-*.nbi")), "the first run left no cache: the test would prove nothing"

    actions = tmp_path / "nmsim" / "describe" / "actions.py"
    src = actions.read_text()
    a, b = '    "packet_send",', '    "io_packet",'
    assert src.count(a) == 1 and src.count(b) == 1
    actions.write_text(src.replace(a, "@@").replace(b, a).replace("@@", b))
    assert _run(tmp_path) == EXPECTED


def test_layout_stamp_covers_imported_layouts():
    """The timing kernels' stamp depends on the action and timing-field layouts, the event loop's on neither."""
    pkg = Path(nmsim.__file__).parent
    timing, events = str(pkg / "sim" / "timing.py"), str(pkg / "sim" / "events.py")
    from nmsim.jit_cache import _imports

    deps = {os.path.relpath(f, pkg) for f in _imports(timing)}
    assert {"describe/actions.py", "compile/compiled.py", "sim/event_layout.py", "jit.py"} <= deps
    assert not {os.path.relpath(f, pkg) for f in _imports(events)} & {"describe/actions.py", "compile/compiled.py"}
    assert layout_stamp(timing) != layout_stamp(events)


def _ast_imports(path: str) -> set[str]:
    """The reference: every ``nmsim`` module file ``path`` imports, from Python's own syntax tree."""
    import ast

    from nmsim.jit_cache import _file_module, _module_file

    tree = ast.parse(Path(path).read_bytes(), path)
    here = _file_module(path).split(".")
    if not path.endswith("__init__.py"):
        here = here[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[:len(here) - (node.level - 1)] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return {f for f in map(_module_file, names) if f is not None and f != path}


def test_the_import_scan_finds_every_import_of_the_syntax_tree():
    """On every module of the package, the text scan of ``_imports`` finds at least the syntax tree's imports
    (more only from import-like lines inside strings, which make a stamp stricter, never stale)."""
    from nmsim.jit_cache import _imports

    pkg = Path(nmsim.__file__).parent
    files = sorted(str(p) for p in pkg.rglob("*.py"))
    assert len(files) > 100
    extra = {}
    for f in files:
        want, got = _ast_imports(f), set(_imports(f))
        assert want <= got, (f, want - got)
        if got - want:
            extra[os.path.relpath(f, pkg)] = got - want
    assert set(extra) <= {"oracle/compare.py"}  # its standalone-script template holds an import line


def test_the_import_scan_on_awkward_forms(tmp_path, monkeypatch):
    """Parenthesised lists with comments holding parentheses, backslash continuations, ``as``, several modules
    on one line, relative imports of every depth and lazy imports inside functions."""
    import nmsim.jit_cache as jc

    root = tmp_path / "nmsim"
    for d in ("", "a", "a/b"):
        (root / d).mkdir(parents=True)
        (root / d / "__init__.py").write_text("")
    for m in ("x", "y", "z", "w", "a/v", "a/p", "a/q", "a/b/r", "a/b/s", "a/b/t"):
        (root / f"{m}.py").write_text("")
    src = ('"""doc"""\nfrom nmsim.a import (  # noqa: F401 (re-exported (see __all__))\n    p,\n    q as qq,\n)\n'
           "import nmsim.x as xx, nmsim.y\nfrom nmsim import z, \\\n    w\n"
           "def f():\n    from .. import v  # lazy\n    from . import s\n    from .r import k\n"
           "    import nmsim.a.b.t\n")
    mod = root / "a" / "b" / "mod.py"
    mod.write_text(src)
    monkeypatch.setattr(jc, "_PACKAGE_DIR", str(root))
    jc._imports.cache_clear()
    try:
        got = {os.path.relpath(f, root) for f in jc._imports(str(mod))}
        want = {os.path.relpath(f, root) for f in _ast_imports(str(mod))}
    finally:
        jc._imports.cache_clear()
    assert got == want == {"__init__.py", "a/__init__.py", "a/p.py", "a/q.py", "x.py", "y.py", "z.py", "w.py",
                           "a/b/__init__.py", "a/b/s.py", "a/b/r.py", "a/b/t.py", "a/v.py"}
