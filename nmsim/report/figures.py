"""PNG figures of a replay run (``docs/replay.md``, "Figures"), drawn from its files (:mod:`nmsim.report.run_data`).

Every figure function takes a :class:`RunData` and returns ``(figure, data)``: ``data`` holds exactly the
arrays it plotted, so tests check them against ``summary.json`` / ``tokens.csv``.  Rendering is deterministic
(Agg, fixed size and dpi, no timestamp or software metadata): the same run gives byte-identical PNGs.
"""

from __future__ import annotations

import io

import numpy as np

from nmsim.account import CATEGORIES, LINES
from nmsim.report.run_data import RunData

DPI = 100
#: file name -> figure function, in report order
FIGURES: dict = {}
COLORS = {"synapse": "#1f77b4", "neuron": "#ff7f0e", "noc": "#2ca02c", "io": "#9467bd", "barrier": "#8c564b",
          "static": "#7f7f7f", "static_active": "#7f7f7f", "static_idle": "#a9a9a9", "static_gated": "#d3d3d3",
          "static_chip": "#4d4d4d", "wake": "#d62728"}
#: the parts of a token's energy in ``tokens.csv`` (``<part>_nj``): dynamic categories, then the static lines
ENERGY_PARTS = tuple(c for c in CATEGORIES if c != "static") + LINES


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure(name: str):
    def deco(fn):
        FIGURES[name] = fn
        return fn
    return deco


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (no metadata, fixed dpi); closes it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    pyplot().close(fig)
    return buf.getvalue()


def _title(run: RunData) -> str:
    s = run.summary
    return f"{s.get('model')} on {s.get('chip')} ({s.get('placement')}, decoder on {s.get('decoder')})"


@figure("energy_per_token.png")
def energy_per_token(run: RunData):
    """Energy per token (nJ) by dynamic category and static line, stacked over the run (``tokens.csv``
    ``<part>_nj`` for :data:`ENERGY_PARTS`; they add up to ``energy_nj``)."""
    plt = pyplot()
    tok = run.tokens["token"]
    parts = {c: run.tokens[f"{c}_nj"] for c in ENERGY_PARTS}
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    ax.stackplot(tok, *parts.values(), labels=list(parts), colors=[COLORS[c] for c in parts], step="mid")
    ax.set_xlabel("token")
    ax.set_ylabel("energy per token (nJ)")
    ax.set_title(_title(run), fontsize=9)
    ax.legend(loc="upper right", fontsize=7, ncol=4)
    return fig, {"token": tok, **parts}


def core_grid(run: RunData, values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Per-core ``values`` (chip cores, host excluded) on the mesh: each router is a block of ``kx x ky`` cells
    (``kx = ceil(sqrt(n))``, ``ky = ceil(n / kx)``, ``n`` the most cores on one router), core ``j`` of a router
    (in core order) at ``(j % kx, j // kx)``; cells without a core are NaN.
    Returns ``(grid[height*ky, width*kx], kx, ky)``."""
    chip = run.cores["core"] != "host"
    xs, ys = run.cores["x"][chip], run.cores["y"][chip]
    router = ys * run.width + xs
    per = np.bincount(router, minlength=run.width * run.height)
    n = max(int(per.max(initial=1)), 1)
    kx = int(np.ceil(np.sqrt(n)))
    ky = -(-n // kx)
    grid = np.full((run.height * ky, run.width * kx), np.nan)
    seen = np.zeros(run.width * run.height, np.int64)
    for i, r in enumerate(router):
        j = seen[r]
        seen[r] += 1
        grid[ys[i] * ky + j // kx, xs[i] * kx + j % kx] = values[i]
    return grid, kx, ky


def _heat(ax, grid, kx: int, ky: int, title: str, fig=None, fmt: str = "%.3g", vmax: float | None = None,
          board: dict | None = None):
    """Draw ``grid`` (blocks of ``kx x ky`` cells per router) with router ticks; a colour bar if ``fig``;
    on a board (``run.json`` ``chip.board``, ``docs/systems.md``) white lines at the chip boundaries."""
    im = ax.imshow(grid, origin="lower", cmap="viridis", interpolation="nearest", aspect="auto",
                   vmin=0.0, vmax=vmax)
    if board:
        for cx in range(1, int(board["chips_x"])):
            ax.axvline(cx * int(board["chip_width"]) * kx - 0.5, color="white", lw=1.2)
        for cy in range(1, int(board["chips_y"])):
            ax.axhline(cy * int(board["chip_height"]) * ky - 0.5, color="white", lw=1.2)
    ax.set_title(title, fontsize=9)
    nx, ny = grid.shape[1] // kx, grid.shape[0] // ky
    step = max(nx // 16, 1), max(ny // 16, 1)
    ax.set_xticks([(i + 0.5) * kx - 0.5 for i in range(0, nx, step[0])], range(0, nx, step[0]))
    ax.set_yticks([(i + 0.5) * ky - 0.5 for i in range(0, ny, step[1])], range(0, ny, step[1]))
    ax.set_xlabel("router x")
    ax.set_ylabel("router y")
    if fig is not None:
        fig.colorbar(im, ax=ax, shrink=0.8, format=fmt)
    return im


@figure("core_busy.png")
def core_busy(run: RunData):
    """Mean busy cycles per step of each core's neuron unit and synapse unit, and its critical-core share,
    over the mesh (``cores.csv``)."""
    plt = pyplot()
    chip = run.cores["core"] != "host"
    panels = {"neuron_cycles_mean": "neuron-phase cycles / step (mean)",
              "synapse_busy_cycles_mean": "synapse-unit busy cycles / step (mean)",
              "critical_share": "share of steps as the critical core"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    data = {}
    for ax, (col, title) in zip(axes, panels.items()):
        grid, kx, ky = core_grid(run, run.cores[col][chip])
        data[col] = grid
        _heat(ax, grid, kx, ky, title, fig, "%.3g", board=run.info.get("chip", {}).get("board"))
    fig.suptitle(_title(run), fontsize=9)
    return fig, data


@figure("link_utilization.png")
def link_utilization(run: RunData):
    """Utilisation (busy cycles / simulated cycles) of each router's output port per direction, and of the
    busiest injection / ejection link of the cores on each router (``links.csv``)."""
    plt = pyplot()
    L = run.links
    dirs = ("E", "W", "N", "S", "inject", "eject")
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), layout="constrained")
    data = {}
    for d in dirs:
        grid = np.full((run.height, run.width), np.nan)
        m = L["direction"] == d
        for x, y, u in zip(L["x"][m], L["y"][m], L["utilization"][m]):
            grid[y, x] = u if np.isnan(grid[y, x]) else max(grid[y, x], u)
        data[d] = grid
    vmax = max(float(L["utilization"].max(initial=0.0)), 1e-12)  # one colour scale for every panel
    for ax, d in zip(axes.ravel(), dirs):
        im = _heat(ax, data[d], 1, 1, f"{d} links", vmax=vmax, board=run.info.get("chip", {}).get("board"))
    fig.colorbar(im, ax=axes, shrink=0.8, format="%.3f", label="utilisation")
    fig.suptitle(f"link utilisation: {_title(run)}", fontsize=9)
    return fig, data


@figure("latency.png")
def latency(run: RunData):
    """Per-token latency (us) over the run and its histogram (``tokens.csv`` ``latency_ns``)."""
    plt = pyplot()
    lat = run.tokens["latency_ns"] * 1e-3
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", gridspec_kw={"width_ratios": [2, 1]})
    a.plot(run.tokens["token"], lat, lw=0.8)
    a.axhline(float(run.summary["latency_ns"]["mean"]) * 1e-3, color="k", ls="--", lw=0.8, label="mean")
    a.set_xlabel("token")
    a.set_ylabel("latency (us)")
    a.legend(fontsize=7)
    counts, edges, _ = b.hist(lat, bins=min(50, max(len(lat) // 5, 5)))
    b.set_xlabel("latency (us)")
    b.set_ylabel("tokens")
    fig.suptitle(_title(run), fontsize=9)
    return fig, {"token": run.tokens["token"], "latency_us": lat, "hist_counts": counts, "hist_edges": edges}


@figure("traffic_per_step.png")
def traffic_per_step(run: RunData):
    """Packets and mesh hops per step (``steps.csv``)."""
    plt = pyplot()
    st = run.steps
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    ax.plot(st["step"], st["packets"], lw=0.8, label="packets")
    ax.plot(st["step"], st["hops"], lw=0.8, label="hops")
    ax.set_xlabel("step")
    ax.set_ylabel("per step")
    ax.legend(fontsize=7)
    ax.set_title(_title(run), fontsize=9)
    return fig, {"step": st["step"], "packets": st["packets"], "hops": st["hops"]}


def render_all(run: RunData) -> dict[str, tuple[bytes, dict]]:
    """``{file name: (png bytes, plotted data)}`` for every figure of :data:`FIGURES`."""
    out = {}
    for name, fn in FIGURES.items():
        fig, data = fn(run)
        out[name] = (png_bytes(fig), data)
    return out
