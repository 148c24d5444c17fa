"""Add ``range = [lo, hi]`` (value ±50%, integers widened to whole numbers) to every numeric,
non-zero, assumption-tagged cost value of the chip presets that has no range yet.

Cost tables only ([timing], [barrier], [energy], [static], [power], [timestep]): structural
assumptions (mesh shape, bit widths, core capacities) change what fits and are not varied.
Zero-valued assumptions get no range (±50% of zero is zero); the study lists them.

    python scripts/add_chip_ranges.py chips/loihi.toml ...
"""
import math
import re
import sys

COST_TABLES = ("timing", "barrier", "energy", "static", "power", "timestep")
LINE = re.compile(r'^(\s*\w+\s*=\s*\{\s*(value|pj)\s*=\s*)([0-9_.eE+-]+)(\s*,\s*)(source\s*=\s*"assumption)')


def widen(text: str) -> tuple[float | int, float | int]:
    v = float(text.replace("_", ""))
    is_int = re.fullmatch(r"[0-9_]+", text) is not None
    lo, hi = 0.5 * v, 1.5 * v
    if is_int:
        return math.floor(lo), math.ceil(hi)
    return round(lo, 6), round(hi, 6)


def main(paths):
    for p in paths:
        out, table, n = [], None, 0
        for line in open(p).read().splitlines(keepends=True):
            m = re.match(r"^\[([\w.]+)\]", line)
            if m:
                table = m.group(1)
            lm = LINE.match(line)
            if lm and table in COST_TABLES and "range" not in line and float(lm.group(3).replace("_", "")) != 0:
                lo, hi = widen(lm.group(3))
                line = line[:lm.start(5)] + f"range = [{lo}, {hi}], " + line[lm.start(5):]
                n += 1
            out.append(line)
        open(p, "w").write("".join(out))
        print(f"{p}: {n} ranges added")


if __name__ == "__main__":
    main(sys.argv[1:])
