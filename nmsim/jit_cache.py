"""A Numba cache that cannot go stale when a layout defined in another module changes.

Numba's on-disk cache (``cache=True``) checks only the source of the file that defines a
kernel (its content hash is the index's "source stamp").  nmsim's kernels bake in positions
defined elsewhere -- the ``ACTIONS`` order (``nmsim/describe/actions.py``), the timing-field
indices ``T`` and model ids (``nmsim/compile/compiled.py``), the packet and link-table columns
(``nmsim/sim/event_layout.py``), the flags in ``nmsim/jit.py`` -- and Numba treats every global as a
compile-time constant, so with a warm cache an edit to one of those files would run the old
machine code with the old positions.

:class:`LayoutStampedLocator` wraps the locator Numba would have chosen for a kernel of the
``nmsim`` package (same cache directory, same file names) and extends its source stamp with a
hash of every ``nmsim`` module the kernel's file imports, transitively (found by reading the
``import`` statements, lazy ones included).  An edit to any of them changes the stamp, and
Numba then discards that kernel's cache index and recompiles.  :func:`install` puts the
locator first in Numba's locator list; if that is not possible (an unknown Numba version, or
``NUMBA_CACHE_LOCATOR_CLASSES`` set), it returns ``False`` and ``nmsim.jit`` compiles without
an on-disk cache rather than risk a stale one.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = "nmsim"


def _module_file(name: str) -> str | None:
    """Source file of module ``nmsim.x.y`` inside this package (``None`` if there is none)."""
    parts = name.split(".")
    if parts[0] != _PACKAGE:
        return None
    base = os.path.join(_PACKAGE_DIR, *parts[1:])
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def _file_module(path: str) -> str:
    rel = os.path.relpath(path, _PACKAGE_DIR)[:-3].split(os.sep)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    return ".".join([_PACKAGE, *rel])


#: ``import a.b as c, d`` at the start of a line (lazy imports inside functions too).
_IMPORT_RE = re.compile(r"^[ \t]*import[ \t]+([^\n;]+)", re.M)
#: ``from ..a import b, c`` or ``from a import (b,\n c)`` at the start of a line.
_FROM_RE = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n;]*)", re.M)
_COMMENT_RE = re.compile(r"#[^\n]*")


@functools.lru_cache(maxsize=None)
def _imports(path: str) -> frozenset[str]:
    """Files of the ``nmsim`` modules that ``path`` imports (``import a.b``, ``from a import b``, relative too).

    Read from the source text by two patterns (about 15x faster than parsing every module, which costs every
    process that loads a kernel up to a second): comments are dropped and backslash-continued lines joined
    first.  It finds every import the syntax tree has (``tests/test_jit_cache.py`` checks that on every module
    of the package); a line in a string that looks like an import adds a dependency, which only makes the
    stamp stricter.  Parsed once per process (every kernel file's :func:`layout_stamp` walks the shared
    modules again)."""
    with open(path, encoding="utf-8") as f:
        src = _COMMENT_RE.sub("", f.read()).replace("\\\n", " ")
    here = _file_module(path).split(".")
    if not path.endswith("__init__.py"):
        here = here[:-1]  # the package a relative import starts from
    names: set[str] = set()
    for m in _IMPORT_RE.finditer(src):
        names.update(part.split()[0] for part in m.group(1).split(",") if part.split())
    for m in _FROM_RE.finditer(src):
        dots, base = m.group(1), m.group(2)
        if dots:
            pkg = here[:len(here) - (len(dots) - 1)]
            base = ".".join(pkg + ([base] if base else []))
        names.add(base)
        names.update(f"{base}.{part.split()[0]}" for part in m.group(3).strip("()").split(",") if part.split())
    return frozenset(f for f in map(_module_file, names) if f is not None and f != path)


@functools.lru_cache(maxsize=None)
def layout_stamp(path: str) -> str:
    """SHA-256 over the sources of every ``nmsim`` module ``path`` imports, transitively (hex)."""
    seen, todo = set(), [os.path.abspath(path)]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(_imports(f))
    seen.discard(os.path.abspath(path))  # its own source is already in Numba's stamp
    h = hashlib.sha256()
    for f in sorted(seen):
        with open(f, "rb") as fh:
            h.update(os.path.relpath(f, _PACKAGE_DIR).encode() + b"\0" + hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def _locator_base():
    from numba.core import caching

    return caching, caching._CacheLocator


def make_locator_class():
    """The locator class (built lazily: it subclasses a Numba-internal base)."""
    caching, base = _locator_base()

    class LayoutStampedLocator(base):
        """Numba's own locator for the kernel, with the stamp extended by :func:`layout_stamp`."""

        def __init__(self, inner, py_file):
            self._inner = inner
            self._py_file = py_file

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            return (self._inner.get_source_stamp(), "nmsim-layout", layout_stamp(self._py_file))

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            path = os.path.abspath(py_file)
            if not path.startswith(_PACKAGE_DIR + os.sep):
                return None  # not an nmsim kernel: Numba's own locators decide
            for other in caching.CacheImpl._locator_classes:
                if other is cls:
                    continue
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner, path)
            return None

    return LayoutStampedLocator


@functools.lru_cache(maxsize=None)
def install() -> bool:
    """Put :class:`LayoutStampedLocator` first in Numba's locator list; ``False`` if it cannot be (no cache then)."""
    try:
        from numba.core import caching, config

        if getattr(config, "CACHE_LOCATOR_CLASSES", None):
            return False  # the user chose the locators: ours would be bypassed
        classes = caching.CacheImpl._locator_classes
        if not isinstance(classes, list):
            return False
        cls = make_locator_class()
        classes.insert(0, cls)
        return True
    except (ImportError, AttributeError):
        return False
