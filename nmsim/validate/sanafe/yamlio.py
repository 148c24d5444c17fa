"""Reading SANA-FE YAML fast, with line numbers (needs ``pyyaml`` only).

Small sections go through PyYAML's C loader (``yaml.CSafeLoader``, falling back
to the pure-Python ``SafeLoader`` where libyaml is missing) with floats kept as
text (``core: 0.10`` must stay tile 0, core 10) and every mapping tagged with
its 1-based line.  The long block lists of an SNN file (``network.edges`` and
``mappings``: hundreds of thousands of one-line items) are cut out of the text
before YAML sees it (their lines are blanked, so line numbers stay true) and
streamed item by item by :func:`block_items`; each item is parsed by a
caller-supplied regular expression and only irregular items go through YAML.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from itertools import accumulate
from dataclasses import dataclass
from pathlib import Path

from nmsim.errors import ChipConfigError, NetworkError


class LineDict(dict):
    """A YAML mapping that remembers the line (1-based) it starts on."""

    line: int = 0


def _yaml():
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is in the test and compare extras
        raise ChipConfigError("reading SANA-FE YAML needs pyyaml: pip install 'nmsim[compare]'") from None
    return yaml


_LOADER = None


def loader():
    """``(yaml, Loader)``: a safe loader (C if available) that keeps floats as text and tags mapping lines."""
    global _LOADER
    if _LOADER is None:
        yaml = _yaml()
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # noqa: D401 - a SafeLoader subclass, nothing unsafe is constructed
            """Safe loader: floats stay text, mappings are :class:`LineDict`."""

        Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:float"]
                                          for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

        def mapping(self, node):
            d = LineDict()
            d.line = node.start_mark.line + 1
            yield d
            d.update(self.construct_mapping(node))

        Loader.add_constructor("tag:yaml.org,2002:map", mapping)
        _LOADER = (yaml, Loader)
    return _LOADER


def parse_text(text: str, what: str, err=ChipConfigError, line_offset: int = 0):
    yaml, Loader = loader()
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1 + line_offset}" if mark is not None else ""
        msg = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise err(f"{what}{where}: YAML syntax error: {msg}") from None


def read_text(path: str | Path, err=ChipConfigError) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read().replace("\r\n", "\n")  # CRLF files: the same lines
    except FileNotFoundError:
        raise err(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise err(f"{path}: not UTF-8 text: byte at offset {exc.start}") from None
    except OSError as exc:
        raise err(f"{path}: cannot read: {exc.strerror}") from None


def read_yaml(path: str | Path, err=ChipConfigError) -> dict:
    doc = parse_text(read_text(path, err), str(path), err)
    if not isinstance(doc, dict):
        raise err(f"{path}: expected a YAML mapping at the top level")
    return doc


# --------------------------------------------------------------------------- block lists


@dataclass
class Block:
    """A block sequence cut out of the text: ``lines[start:stop]`` (0-based) hold its items; ``indent`` is the
    indentation of its ``- `` items (None if it has none)."""

    key: str
    line: int  # 1-based line of the ``key:`` itself
    lines: list  # the file's lines (shared by every block of the file)
    start: int
    stop: int
    indent: int | None

    def items(self, what: str, err):
        """``(line_no, text)`` per item; an item may span several lines (text joined with newlines)."""
        cur_no, cur = 0, []
        ind = self.indent
        for j in range(self.start, self.stop):
            s = self.lines[j]
            st = s.lstrip(" ")
            if not st or st.startswith("#"):
                continue
            k = len(s) - len(st)
            if k == ind and st.startswith("-"):
                if cur:
                    yield cur_no, cur[0] if len(cur) == 1 else "\n".join(cur)
                cur_no, cur = j + 1, [s]
            elif k > ind and cur:
                cur.append(s)
            else:
                raise err(f"{what}:{j + 1}: bad indentation in the list under '{self.key}'")
        if cur:
            yield cur_no, cur[0] if len(cur) == 1 else "\n".join(cur)

    def chunks(self, size: int):
        """``(start, stop)`` line ranges of about ``size`` lines, each cut where an item begins."""
        a = self.start
        while a < self.stop:
            b = min(a + size, self.stop)
            while b < self.stop and not self.lines[b].startswith(" " * self.indent + "-"):
                b += 1
            yield a, b
            a = b


_KEY = re.compile(r"^(?P<ind> *)(?P<key>[A-Za-z_]+):\s*(#.*)?$")


def cut_blocks(text: str, wanted: dict) -> tuple[str, dict]:
    """Cut the block sequences ``wanted`` = ``{key: (parent top-level key or None, indent or None)}`` out
    of ``text`` (indent None: any indentation, every occurrence).

    Returns the text with those lines blanked (same line count, the key itself becomes ``key: []``) and
    ``{key: [Block, ...]}``.  A key written any other way (flow style, on one line) is left for YAML.
    """
    lines = text.split("\n")
    found = {k: [] for k in wanted}
    kept, offsets = [], None
    parent = None
    i, n = 0, len(lines)
    while i < n:
        ln = lines[i]
        m = _KEY.match(ln) if ":" in ln and not ln.lstrip(" ").startswith(("-", "#")) else None
        if m and not m["ind"]:
            parent = m["key"]
        if m and m["key"] in wanted:
            par, ind = wanted[m["key"]]
            k_ind = len(m["ind"])
            if parent == (par or m["key"]) and (ind is None or k_ind == ind):
                j, item_ind = i + 1, None
                while j < n:  # the first item fixes the items' indentation
                    st = lines[j].lstrip(" ")
                    if st and not st.startswith("#"):
                        k = len(lines[j]) - len(st)
                        if st.startswith("-") and k >= k_ind:
                            item_ind = k
                        break  # (anything else, e.g. a mapping under the key: left to YAML)
                    j += 1
                if item_ind is not None:
                    if offsets is None:
                        offsets = list(accumulate(map(len, lines), lambda x, y: x + y + 1, initial=0))
                    # the block ends at the first line that holds something, is not a '- ' item at item_ind and
                    # is not indented deeper (one regular expression over the text, not a loop over lines)
                    end = re.compile(rf"^(?! {{{item_ind}}}-)(?! {{{item_ind + 1},}})(?=[ ]*[^ \n#])", re.M)
                    m_end = end.search(text, offsets[j])
                    j = n if m_end is None else bisect_right(offsets, m_end.start()) - 1
                    found[m["key"]].append(Block(m["key"], i + 1, lines, i + 1, j, item_ind))
                    kept.append((i, j, " " * k_ind + m["key"] + ": []"))
                    i = j
                    continue
        i += 1
    if not kept:
        return text, found
    out = list(lines)
    for a, b, head in kept:
        out[a] = head
        out[a + 1:b] = [""] * (b - a - 1)
    return "\n".join(out), found


def parse_item(text: str, line: int, what: str, err):
    """One list item's text (``- key: value``, maybe several lines) -> its value, via YAML."""
    lines = text.split("\n")
    ind = len(lines[0]) - len(lines[0].lstrip(" "))
    body = "\n".join(s[ind:] for s in lines)
    yaml, Loader = loader()
    try:
        doc = yaml.load(body, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        msg = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise err(f"{what}:{line}: YAML syntax error in the list item starting here: {msg}") from None
    if not isinstance(doc, list) or len(doc) != 1:
        raise err(f"{what}:{line}: expected one list item")
    return doc[0]


_FLOW_ITEM = re.compile(r"^\s*-\s*([^\s:\[\]{}'\"#,]+)\s*:\s*\[([^\[\]{}'\"#]*)\]\s*$")


def fast_item(text: str):
    """``- key: [a: x, b: y]`` (one line, no quotes, brackets or braces inside) -> ``(key, {a: "x", b: "y"})``
    with values as text; None for anything else (then YAML parses the item)."""
    m = _FLOW_ITEM.match(text)
    if not m:
        return None
    d = {}
    for kv in m[2].split(","):
        if not kv.strip():
            continue
        k, sep, v = kv.partition(":")
        if not sep or ":" in v:
            return None
        d[k.strip()] = v.strip()
    return m[1], d


# --------------------------------------------------------------------------- values


def num(v, what: str, err=ChipConfigError) -> float:
    if isinstance(v, bool):
        raise err(f"{what}: expected a number, got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise err(f"{what}: expected a number, got {v!r}") from None
    if not math.isfinite(x):
        raise err(f"{what}: must be finite, got {v!r}")
    return x


def truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() not in ("", "false", "0", "0.0", "no", "off")
    return bool(v)


def attrs(raw, what: str, err) -> dict:
    """SANA-FE attribute lists ``[a: 1, b: 2]`` (a list of one-key mappings) or a mapping -> dict."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    if isinstance(raw, list):
        out = {}
        for item in raw:
            if not isinstance(item, dict):
                raise err(f"{what}: expected 'key: value' entries, got {item!r}")
            out.update(item)
        return out
    raise err(f"{what}: expected an attribute list or mapping, got {raw!r}")


def at_line(what: str, obj) -> str:
    """``what`` with ``:line`` appended when ``obj`` is a :class:`LineDict`."""
    line = getattr(obj, "line", 0)
    return f"{what}:{line}" if line else what


_RANGE = re.compile(r"^(?P<base>.*)\[(?P<a>\d+)\.\.(?P<b>\d+)\]$")


def expand_name(name: str) -> list[str]:
    """``loihi_tile[0..2]`` -> ``["loihi_tile[0]", "loihi_tile[1]", "loihi_tile[2]"]``; plain names as is."""
    m = _RANGE.match(str(name))
    if not m:
        return [str(name)]
    a, b = int(m["a"]), int(m["b"])
    if b < a:
        raise ChipConfigError(f"name {name!r}: empty range {a}..{b}")
    return [f"{m['base']}[{i}]" for i in range(a, b + 1)]


def index_range(text, what: str) -> range:
    """``3`` or ``"0..4"`` -> neuron indices."""
    s = str(text).strip()
    if s.isdigit():
        return range(int(s), int(s) + 1)
    m = re.fullmatch(r"(\d+)\.\.(\d+)", s)
    if not m or int(m[2]) < int(m[1]):
        raise NetworkError(f"{what}: expected a neuron index or range a..b, got {text!r}")
    return range(int(m[1]), int(m[2]) + 1)


def split_ref(ref: str, groups: dict, what: str) -> tuple[str, range]:
    """``group``, ``group.3`` or ``group.0..4`` -> (group, indices)."""
    s = str(ref).strip()
    if s in groups:
        return s, range(groups[s])
    g, dot, rest = s.partition(".")
    while dot and g not in groups:  # group names may contain dots
        g2, dot, rest2 = rest.partition(".")
        g, rest = f"{g}.{g2}", rest2
    if g not in groups:
        raise NetworkError(f"{what}: unknown neuron group in {ref!r}")
    if "." in rest and not re.fullmatch(r"\d+\.\.\d+", rest):
        raise NetworkError(f"{what}: unsupported feature: dendrite compartment address {ref!r}")
    idx = index_range(rest, what)
    if idx[-1] >= groups[g]:
        raise NetworkError(f"{what}: neuron {s!r} outside group {g!r} of {groups[g]} neurons")
    return g, idx
