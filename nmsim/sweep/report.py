"""Sweep reports: Pareto fronts and per-parameter sensitivity (markdown + PNG).

``write_report(DIR)`` reads the finished points of ``DIR`` and writes
``DIR/report/`` (or ``out``):

- ``report.md``: summary, the Pareto-optimal points, a sensitivity table
  and (for up to 200 points) every point;
- ``pareto_energy_latency.png``: energy per token against latency per token;
- ``pareto_energy_quality.png``: energy per token against perplexity;
- ``sensitivity.png``: each objective's mean (and min..max) over each value
  of each varied parameter.

The metric names on the axes come from the point kind (``energy_per_token_nj``,
``latency_per_token_us``, ``perplexity``) or the spec's ``[report]`` table.
All objectives are minimised.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from nmsim.errors import SweepError
from nmsim.sweep.export import cell
from nmsim.sweep.points import DEFAULT_OBJECTIVES
from nmsim.sweep.spec import canonical_json
from nmsim.sweep.store import ResultStore

MAX_POINT_ROWS = 200
MAX_SENSITIVITY_PARAMS = 8


def pareto_front(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points not dominated when minimising both x and y,
    ordered by x (then y, then index).  A point is dominated if another is
    <= in both and < in one.  Non-finite points are ignored; exact
    duplicates of a front point are all kept."""
    idx = [i for i in range(len(xs)) if math.isfinite(xs[i]) and math.isfinite(ys[i])]
    idx.sort(key=lambda i: (xs[i], ys[i], i))
    front: list[int] = []
    best_y = math.inf
    last: tuple[float, float] | None = None
    for i in idx:
        if ys[i] < best_y:
            front.append(i)
            best_y = ys[i]
            last = (xs[i], ys[i])
        elif last == (xs[i], ys[i]):
            front.append(i)
    return front


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return cell(v)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return math.nan
    return float(v)


def _axis_scale(ax, values: list[float], which: str) -> None:
    pos = [v for v in values if math.isfinite(v) and v > 0]
    if len(pos) == len(values) and pos and max(pos) / min(pos) > 30:
        getattr(ax, f"set_{which}scale")("log")


def _pareto_plot(path: Path, rows: list[dict], xname: str, yname: str, title: str) -> list[int] | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [_num(r["metrics"].get(xname)) for r in rows]
    ys = [_num(r["metrics"].get(yname)) for r in rows]
    if not any(math.isfinite(x) and math.isfinite(y) for x, y in zip(xs, ys)):
        return None
    front = pareto_front(xs, ys)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    ax.scatter(xs, ys, s=18, c="0.65", label="points", zorder=2)
    ax.plot([xs[i] for i in front], [ys[i] for i in front], "-o", c="tab:red", ms=5, lw=1.5,
            label=f"Pareto front ({len(front)})", zorder=3, drawstyle="steps-post")
    for i in front:
        ax.annotate(str(rows[i]["point_index"]), (xs[i], ys[i]), textcoords="offset points", xytext=(4, 4),
                    fontsize=7, color="tab:red")
    _axis_scale(ax, [x for x in xs if math.isfinite(x)], "x")
    _axis_scale(ax, [y for y in ys if math.isfinite(y)], "y")
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return front


def _groups(rows: list[dict], key: str) -> list[tuple[Any, list[dict]]]:
    """Rows grouped by the value of parameter ``key``, values sorted."""
    groups: dict[str, tuple[Any, list[dict]]] = {}
    for r in rows:
        v = r["params"].get(key)
        groups.setdefault(canonical_json(v), (v, []))[1].append(r)

    def order(item):
        v = item[0]
        return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, canonical_json(v))

    return sorted(groups.values(), key=order)


def _sensitivity(rows: list[dict], varied: list[str], objectives: list[str]) -> dict[str, dict[str, float]]:
    """For each varied parameter and objective: (max - min) of the group
    means over the parameter's values, relative to the mean of all points."""
    out: dict[str, dict[str, float]] = {}
    for key in varied:
        out[key] = {}
        for m in objectives:
            allv = [_num(r["metrics"].get(m)) for r in rows]
            allv = [v for v in allv if math.isfinite(v)]
            if not allv:
                continue
            overall = sum(allv) / len(allv)
            means = []
            for _, g in _groups(rows, key):
                vals = [_num(r["metrics"].get(m)) for r in g]
                vals = [v for v in vals if math.isfinite(v)]
                if vals:
                    means.append(sum(vals) / len(vals))
            if len(means) >= 2 and overall != 0:
                out[key][m] = (max(means) - min(means)) / abs(overall)
    return out


def _sensitivity_plot(path: Path, rows: list[dict], varied: list[str], objectives: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nr, nc = len(varied), len(objectives)
    fig, axes = plt.subplots(nr, nc, figsize=(3.4 * nc, 2.6 * nr), dpi=100, squeeze=False)
    for i, key in enumerate(varied):
        groups = _groups(rows, key)
        labels = [_fmt(v) for v, _ in groups]
        for j, m in enumerate(objectives):
            ax = axes[i][j]
            means, lo, hi = [], [], []
            for _, g in groups:
                vals = [v for v in (_num(r["metrics"].get(m)) for r in g) if math.isfinite(v)]
                means.append(sum(vals) / len(vals) if vals else math.nan)
                lo.append(min(vals) if vals else math.nan)
                hi.append(max(vals) if vals else math.nan)
            xs = list(range(len(groups)))
            ax.fill_between(xs, lo, hi, color="tab:blue", alpha=0.15, lw=0)
            ax.plot(xs, means, "-o", c="tab:blue", ms=4)
            ax.set_xticks(xs, labels, fontsize=7, rotation=30 if max(len(s) for s in labels) > 6 else 0)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(True, alpha=0.3)
            ax.set_xlabel(key, fontsize=8)
            ax.set_ylabel(m, fontsize=8)
    fig.suptitle("Sensitivity: mean (line) and min..max (band) of each objective per parameter value", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_report(out_dir: str | Path, report_dir: str | Path | None = None) -> Path:
    """Write ``report.md`` and the PNG plots; returns the markdown path."""
    out_dir = Path(out_dir)
    with ResultStore.open_existing(out_dir) as store:
        rows = store.rows()
        meta = store.meta()
        planned = store.n_planned()
        failures = store.failures()
    if not rows:
        raise SweepError(f"{out_dir} has no finished points to report")
    report_dir = Path(report_dir) if report_dir else out_dir / "report"
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(f"cannot create {report_dir}: {exc}") from None
    obj = dict(DEFAULT_OBJECTIVES)
    obj.update(json.loads(meta.get("report", "{}")))
    energy, latency, quality = obj["energy"], obj["latency"], obj["quality"]
    metric_names = sorted({k for r in rows for k in r["metrics"]})
    objectives = [m for m in (energy, latency, quality) if m in metric_names]
    param_names = sorted({k for r in rows for k in r["params"]})
    varied = [k for k in param_names if len({canonical_json(r["params"].get(k)) for r in rows}) > 1]

    name = meta.get("name", out_dir.name)
    md: list[str] = [f"# Sweep report: {name}", ""]
    md.append(
        f"- point kind: `{meta.get('kind', '?')}`; spec: `{meta.get('spec_source', '?')}`\n"
        f"- points: {planned} planned, {len(rows)} finished, {len(failures)} failed, "
        f"{planned - len(rows) - len(failures)} not run\n"
        f"- objectives (all minimised): energy `{energy}`, latency `{latency}`, quality `{quality}`\n"
        f"- varied parameters: {', '.join(f'`{k}`' for k in varied) or 'none'}"
    )
    fixed = [k for k in param_names if k not in varied]
    if fixed:
        md.append("- fixed: " + ", ".join(f"`{k}` = {_fmt(rows[0]['params'].get(k))}" for k in fixed))
    md.append("")

    def point_table(indices: list[int]) -> str:
        header = ["point", "config_hash"] + varied + objectives
        body = [
            [str(rows[i]["point_index"]), rows[i]["config_hash"][:12]]
            + [_fmt(rows[i]["params"].get(k)) for k in varied]
            + [_fmt(rows[i]["metrics"].get(m)) for m in objectives]
            for i in indices
        ]
        return _md_table(header, body)

    for fname, xname, yname, title in (
        ("pareto_energy_latency.png", latency, energy, "Energy vs latency per token"),
        ("pareto_energy_quality.png", quality, energy, "Energy per token vs model quality"),
    ):
        md.append(f"## {title}")
        md.append("")
        if xname not in metric_names or yname not in metric_names:
            md.append(f"Not plotted: metric `{xname if xname not in metric_names else yname}` is not in the results.")
            md.append("")
            continue
        front = _pareto_plot(report_dir / fname, rows, xname, yname, title)
        if front is None:
            md.append("Not plotted: no point has finite values for both metrics.")
        else:
            md.append(f"![{title}]({fname})")
            md.append("")
            md.append(f"Pareto-optimal points ({len(front)} of {len(rows)}), by `{xname}`:")
            md.append("")
            md.append(point_table(front))
        md.append("")

    md.append("## Sensitivity")
    md.append("")
    if varied and objectives:
        shown = varied[:MAX_SENSITIVITY_PARAMS]
        sens = _sensitivity(rows, shown, objectives)
        md.append(
            "Spread of the per-value means of each objective over each parameter's values, "
            "relative to the mean over all points (higher = more sensitive)."
        )
        md.append("")
        body = [[f"`{k}`"] + [f"{100 * sens[k][m]:.1f} %" if m in sens[k] else "" for m in objectives] for k in shown]
        md.append(_md_table(["parameter"] + objectives, body))
        md.append("")
        _sensitivity_plot(report_dir / "sensitivity.png", rows, shown, objectives)
        md.append("![Sensitivity](sensitivity.png)")
        if len(varied) > len(shown):
            md.append(f"\n({len(varied) - len(shown)} more varied parameters not shown.)")
    else:
        md.append("Nothing varies (or no objective metric present).")
    md.append("")

    md.append("## All points")
    md.append("")
    if len(rows) <= MAX_POINT_ROWS:
        md.append(point_table(list(range(len(rows)))))
    else:
        md.append(f"{len(rows)} points; use `nmsim sweep export` for the full table.")
    md.append("")
    if failures:
        md.append("## Failed points")
        md.append("")
        md.append(_md_table(["point", "config_hash", "error"],
                            [[str(f["point_index"]), f["config_hash"][:12], f["error"]] for f in failures]))
        md.append("")
    path = report_dir / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path
