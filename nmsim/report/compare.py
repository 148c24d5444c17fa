"""Several replay runs side by side (``nmsim compare``): one table with ratios against the first run and a bar
figure.  Reads only the runs' ``summary.json`` (through :mod:`nmsim.report.run_data`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nmsim.account import CATEGORIES

#: the parts of ``energy_nj_per_token`` that add up to its total: the categories and the wake-ups
ENERGY_KEYS = CATEGORIES + ("wake",)
from nmsim.errors import NmsimError
from nmsim.report.figures import COLORS, pyplot


def load_runs(run_dirs) -> list[tuple[str, dict]]:
    """``[(label, summary)]`` of run directories (label: the directory name, made unique by its index)."""
    out, seen = [], set()
    for i, d in enumerate(run_dirs):
        p = Path(d) / "summary.json"
        if not p.is_file():
            raise NmsimError(f"{d}: no summary.json (not an `nmsim run` output directory)")
        try:
            s = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise NmsimError(f"{p}: malformed JSON ({exc})") from None
        label = Path(d).resolve().name or str(d)
        if label in seen:
            label = f"{label}#{i + 1}"
        seen.add(label)
        out.append((label, s))
    return out


def check_same_model(runs: list[tuple[str, dict]]) -> None:
    """One :class:`NmsimError` line if the runs' ``logits_sha256`` differ."""
    shas = {label: s.get("logits_sha256") for label, s in runs}
    if len(set(shas.values())) > 1:
        raise NmsimError("--same-model: logits hashes differ: "
                         + ", ".join(f"{k} {str(v)[:12]}" for k, v in shas.items()))


def metrics(s: dict) -> dict[str, float | str | bool]:
    """The compared quantities of one summary, in table order (numbers unless noted)."""
    e, t, lat = s["energy_nj_per_token"], s["traffic"], s["latency_ns"]
    n = max(int(s["tokens"]), 1)
    m: dict = {"chip": s["chip"], "model": s["model"], "placement": s["placement"], "decoder": s["decoder"],
               "mode": s["mode"], "tokens": s["tokens"], "cores used": s["cores_used"],
               "latency mean (us)": lat["mean"] / 1e3, "latency p99 (us)": lat["p99"] / 1e3,
               "throughput (tokens/s)": s["throughput_tokens_per_s"],
               "energy/token (nJ)": e["total"]}
    m.update({f"  {c} (nJ)": e.get(c, 0.0) for c in ENERGY_KEYS})
    m.update({"packets/token": t["packets"] / n, "hops/token": t["hops"] / n,
              "max link utilisation": t["max_link_utilization"],
              "synaptic ops/token": s["synaptic_ops_per_token"]})
    m.update({f"activity {k}": v for k, v in s["activity"].items()})
    m.update({"perplexity": s["perplexity"], "bit_exact": bool(s["bit_exact"]),
              "logits_sha256": str(s["logits_sha256"])[:16]})
    return m


def _cell(v, ref) -> str:
    if isinstance(v, bool) or isinstance(v, str) or v is None:
        return str(v).lower() if isinstance(v, bool) else str(v)
    txt = (f"{v:.1f}" if abs(v) >= 100 else f"{v:.4g}") if isinstance(v, float) else str(v)
    if ref is None or isinstance(ref, (bool, str)):
        return txt
    return f"{txt} ({v / ref:.3g}x)" if ref else f"{txt} (-)"


def compare_table(runs: list[tuple[str, dict]]) -> str:
    """A Markdown table: one row per quantity, one column per run; numbers after the first run carry their
    ratio to it (``(-)`` where the first is 0)."""
    ms = [metrics(s) for _, s in runs]
    keys = list(ms[0])
    for m in ms[1:]:
        keys += [k for k in m if k not in keys]  # other layers' activity
    lines = ["| quantity | " + " | ".join(label for label, _ in runs) + " |",
             "|---|" + "---|" * len(runs)]
    for k in keys:
        ref = ms[0].get(k)
        cells = [_cell(ms[0].get(k, "-"), None)]
        cells += [_cell(m.get(k, "-"), ref if k not in ("tokens",) else None) for m in ms[1:]]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_figure(runs: list[tuple[str, dict]]):
    """Bars per run: mean latency (us), energy per token by category (nJ, stacked), packets and synaptic ops
    per token.  Returns ``(figure, data)`` with the plotted values."""
    plt = pyplot()
    labels = [label for label, _ in runs]
    ms = [metrics(s) for _, s in runs]
    x = np.arange(len(runs))
    data = {"labels": labels, "latency_us": np.array([m["latency mean (us)"] for m in ms]),
            "energy_nj": {c: np.array([m[f"  {c} (nJ)"] for m in ms]) for c in ENERGY_KEYS},
            "packets_per_token": np.array([m["packets/token"] for m in ms]),
            "synaptic_ops_per_token": np.array([m["synaptic ops/token"] for m in ms])}
    fig, axes = plt.subplots(1, 4, figsize=(4 + 2.2 * len(runs) * 1.6, 4), layout="constrained")
    axes[0].bar(x, data["latency_us"], color="#1f77b4")
    axes[0].set_title("latency / token (us, mean)", fontsize=9)
    bottom = np.zeros(len(runs))
    for c, v in data["energy_nj"].items():
        axes[1].bar(x, v, bottom=bottom, label=c, color=COLORS[c])
        bottom += v
    axes[1].set_title("energy / token (nJ)", fontsize=9)
    axes[1].legend(fontsize=7)
    axes[2].bar(x, data["packets_per_token"], color="#2ca02c")
    axes[2].set_title("packets / token", fontsize=9)
    axes[3].bar(x, data["synaptic_ops_per_token"], color="#ff7f0e")
    axes[3].set_title("synaptic ops / token", fontsize=9)
    for ax in axes:
        ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=7)
    return fig, data
