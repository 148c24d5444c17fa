"""``report.md`` of a replay run: the key figures beside the PNG figures (:mod:`nmsim.report.figures`).

:func:`report_files` builds every report file of a run in memory (``nmsim run`` writes them with its other
outputs); :func:`write_report` regenerates them in a run directory (``nmsim report RUN_DIR``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nmsim.report.compare import ENERGY_KEYS
from nmsim.report.figures import FIGURES, render_all
from nmsim.report.run_data import RunData, load_run

CAPTIONS = {
    "energy_per_token.png": "Energy per token by category (nJ), stacked, over the run.",
    "core_busy.png": "Per core over the mesh: mean neuron-phase cycles and synapse-unit busy cycles per step, "
                     "and the share of steps in which the core ended last (the critical core).",
    "link_utilization.png": "Link utilisation (busy cycles / simulated cycles) per router and direction.",
    "latency.png": "Per-token latency over the run and its histogram.",
    "traffic_per_step.png": "Packets and mesh hops per step.",
}
#: how many of the most critical cores report.md lists
TOP_CORES = 5


def _num(v, fmt: str = ".3f") -> str:
    """``v`` formatted, or ``n/a`` for a value the run could not compute (``null`` in summary.json)."""
    return "n/a" if v is None else format(v, fmt)


def _key_figures(s: dict) -> list[str]:
    lat, e, t = s["latency_ns"], s["energy_nj_per_token"], s["traffic"]
    rows = [
        ("bit_exact", str(s["bit_exact"]).lower()),
        ("perplexity", f"{_num(s['perplexity'])} ({s['predictions']} predictions; golden "
                       f"{_num(s['golden_perplexity'])})"),
        ("logits_sha256", f"`{s['logits_sha256']}`"),
        ("latency per token", f"mean {lat['mean'] / 1e3:.3f} us, p50 {lat['p50'] / 1e3:.3f} us, "
                              f"p99 {lat['p99'] / 1e3:.3f} us, max {lat['max'] / 1e3:.3f} us"),
        ("throughput", f"{_num(s['throughput_tokens_per_s'], '.1f')} tokens/s (simulated)"),
        ("energy per token", f"{e['total']:.1f} nJ (" + ", ".join(f"{c} {e[c]:.1f}" for c in ENERGY_KEYS if c in e)
                             + ")"),
        ("traffic", f"{t['packets']} packets, {t['flits']} flits, {t['hops']} hops; max link utilisation "
                    f"{t['max_link_utilization']:.3f} (run), {t['peak_step_link_utilization']:.3f} (one step)"),
        ("synaptic ops per token", f"{s['synaptic_ops_per_token']:.1f}"),
        ("activity", ", ".join(f"{k} {v:.3f}" for k, v in s["activity"].items())),
        ("cores used", str(s["cores_used"])),
    ]
    nb = s.get("neurobench")
    if nb:
        rows.append(("NeuroBench", f"{nb['effective_macs_per_token']:.1f} effective MACs, "
                                   f"{nb['effective_acs_per_token']:.1f} ACs, {nb['dense_synaptic_ops_per_token']} "
                                   f"dense ops per token; activation sparsity {nb['activation_sparsity']:.3f}, "
                                   f"connection sparsity {nb['connection_sparsity']:.3f}, footprint "
                                   f"{nb['footprint_bytes']} bytes"))
    return ["| quantity | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]


def _critical_cores(run: RunData) -> list[str]:
    c = run.cores
    order = np.argsort(-c["critical_share"], kind="stable")[:TOP_CORES]
    lines = ["| core | x, y | populations | critical share | neuron cycles/step (mean, max) | "
             "synapse busy cycles/step (mean, max) | synaptic ops/step (mean) |", "|---|---|---|---|---|---|---|"]
    for i in order:
        if c["critical_share"][i] <= 0:
            break
        lines.append(f"| {c['core'][i]} | {c['x'][i]}, {c['y'][i]} | {c['populations'][i]} | "
                     f"{c['critical_share'][i]:.3f} | {c['neuron_cycles_mean'][i]:.1f}, {c['neuron_cycles_max'][i]} | "
                     f"{c['synapse_busy_cycles_mean'][i]:.1f}, {c['synapse_busy_cycles_max'][i]} | "
                     f"{c['synaptic_ops_mean'][i]:.1f} |")
    return lines


def report_md(run: RunData) -> str:
    s = run.summary
    cmd = " ".join(run.info.get("command", []))
    out = [f"# {s['model']} on {s['chip']}", "",
           f"{s['tokens']} tokens, {s['mode']} schedule, {s['placement']} placement, decoder on {s['decoder']}."
           + (f" Command: `{cmd}`." if cmd else ""), "",
           "## Key figures", "", *_key_figures(s), "",
           "## Critical cores", "",
           "The critical core of a step is the core whose work (neuron phase or synapse unit) ended last; "
           "ties go to the lowest core index (`docs/replay.md`). All cores: `cores.csv`; links: `links.csv`.", "",
           *_critical_cores(run), "", "## Figures", ""]
    for name in FIGURES:
        out += [f"![{name}]({name})", "", CAPTIONS[name], ""]
    return "\n".join(out)


def report_files(run: RunData) -> dict[str, bytes | str]:
    """``{file name: contents}``: every PNG of :data:`nmsim.report.figures.FIGURES` and ``report.md``."""
    files: dict[str, bytes | str] = {name: png for name, (png, _) in render_all(run).items()}
    files["report.md"] = report_md(run)
    return files


def write_report(run_dir: str | Path) -> dict[str, Path]:
    """Regenerate the figures and ``report.md`` of a run directory; returns ``{name: path}``."""
    from nmsim.output_files import write_atomic

    d = Path(run_dir)
    return {name: write_atomic(d / name, data) for name, data in report_files(load_run(d)).items()}
