"""Step-by-step spike comparison of nmsim with Lava's bit-accurate Loihi LIF (``PyLifModelBitAcc``).

Lava (``lava-nc`` 0.10.0) is an optional external tool.  Its wheel needs Python < 3.11, so it lives in its
own virtualenv (``scripts/setup_lava.sh``; location :func:`lava_python`) and runs as a separate program,
:mod:`nmsim.validate.lava_driver`, which reads each network from an ``.npz`` file and writes its spikes.
Without that virtualenv :func:`run_study` returns a study marked skipped.

Each case is one population of Lava ``LIF`` neurons fed by an input ``RingBuffer`` through a ``Dense``
projection, with a recurrent ``Dense`` projection onto itself.  nmsim runs the same network on the
``loihi`` preset with the ``loihi_lif`` model (parameter mapping: :func:`nmsim_network`, ``docs/nir.md``
§Lava).  Cases: random networks (decays, biases, thresholds and initial states drawn over Lava's ranges),
one that drives ``v`` into saturation and ``u`` past its 24-bit wrap, and a subset that nmsim's plain
``lif`` model represents exactly (``du = 4095``, ``dv = 0``: no current memory, no leak; reset to zero).
Lava's LIF resets only to zero; nmsim's subtract reset has no Lava counterpart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nmsim.describe.network import Network

SKIP_MESSAGE = "skipped: no Lava virtualenv (run scripts/setup_lava.sh; lava-nc 0.10.0 needs Python < 3.11)"
ACT_SHIFT = 6  #: Loihi left-shifts synaptic input and the threshold by 6 bits (Lava ``act_shift``, ``vth_shift``)
DS_OFFSET = 1  #: Lava's current decay is ``du + 1`` (``ds_offset``); the voltage's is ``dv`` (``dm_offset = 0``)
CHIP = "loihi"


def lava_python() -> Path:
    """Interpreter of Lava's virtualenv: ``$NMSIM_LAVA_VENV/bin/python`` (default ``~/.cache/nmsim/lava-venv``)."""
    venv = os.environ.get("NMSIM_LAVA_VENV") or str(Path.home() / ".cache" / "nmsim" / "lava-venv")
    return Path(venv) / "bin" / "python"


def lava_available() -> bool:
    py = lava_python()
    if not py.exists():
        return False
    r = subprocess.run([str(py), "-c", "import lava.proc.lif.models"], capture_output=True)
    return r.returncode == 0


@dataclass
class LavaCase:
    """One network in Lava's terms (see :mod:`nmsim.validate.lava_driver`); ``model``: nmsim model to map onto."""

    name: str
    kind: str
    spikes_in: np.ndarray  # int[n_in, T]
    w_in: np.ndarray  # int[n, n_in]
    w_rec: np.ndarray  # int[n, n]
    params: dict  # du, dv, vth, bias_mant, bias_exp, u0, v0: int[n]
    model: str = "loihi_lif"

    @property
    def n(self) -> int:
        return int(self.w_in.shape[0])

    @property
    def steps(self) -> int:
        return int(self.spikes_in.shape[1])

    def arrays(self) -> dict:
        return dict(spikes_in=self.spikes_in, w_in=self.w_in, w_rec=self.w_rec, **self.params)


def _sparse(rng, shape, density, lo, hi) -> np.ndarray:
    return np.where(rng.random(shape) < density, rng.integers(lo, hi + 1, shape), 0)


def random_case(seed: int, kind: str = "random") -> LavaCase:
    """A random case drawn from ``seed``.  ``kind``: ``random`` (every parameter over Lava's range),
    ``saturation`` (strong excitation then inhibition: ``v`` saturates, ``u`` wraps) or ``lif``
    (``du = 4095``, ``dv = 0``, the subset nmsim's plain ``lif`` represents)."""
    rng = np.random.default_rng(seed)
    n, n_in, T = int(rng.integers(4, 33)), int(rng.integers(2, 17)), int(rng.integers(40, 121))
    spikes = (rng.random((n_in, T)) < rng.uniform(0.05, 0.5)).astype(np.int64)
    w_in = _sparse(rng, (n, n_in), rng.uniform(0.3, 1.0), -120, 254)
    w_in[0, :2] = (-60, 200)  # both signs in every matrix: Lava's mixed sign mode (even weights)
    w_rec = _sparse(rng, (n, n), rng.uniform(0.05, 0.4), -200, 200)
    np.fill_diagonal(w_rec, 0)
    w_rec[0, 1], w_rec[1, 0] = -50, 80
    draw = lambda lo, hi: rng.integers(lo, hi + 1, n)  # noqa: E731
    p = dict(du=draw(0, 4095), dv=draw(0, 4095), vth=draw(20, 3000), bias_mant=np.where(rng.random(n) < 0.5, 0,
             draw(-300, 300)), bias_exp=draw(0, 7), u0=draw(-5000, 5000), v0=draw(-5000, 5000))
    edge = rng.random(n)  # a share of neurons at the decay extremes (no decay / full decay)
    p["du"] = np.where(edge < 0.15, 0, np.where(edge > 0.85, 4095, p["du"]))
    p["dv"] = np.where(edge < 0.15, 0, np.where(edge > 0.85, 4095, p["dv"]))
    model = "loihi_lif"
    if kind == "saturation":
        T, n_in = 80, 16  # 16 inputs x 254 << 6 per step: u passes 2**23 (and wraps) after ~33 steps
        spikes = np.zeros((n_in, T), np.int64)
        spikes[:, :40] = 1  # every input every step for 40 steps, then nothing
        w_in = np.full((n, n_in), 254)
        w_in[n // 2:] = -256  # half the neurons are driven down into the negative bound
        p.update(du=np.zeros(n, np.int64), dv=np.zeros(n, np.int64), vth=np.full(n, 2**17 - 1),
                 bias_mant=np.zeros(n, np.int64), u0=np.zeros(n, np.int64), v0=np.zeros(n, np.int64))
        w_rec = np.zeros((n, n), np.int64)
    elif kind == "lif":
        p.update(du=np.full(n, 4095), dv=np.zeros(n, np.int64), u0=np.zeros(n, np.int64), v0=draw(-40, 40) * 128,
                 bias_mant=np.where(rng.random(n) < 0.5, 0, draw(-2, 2) * 16), bias_exp=np.full(n, 3))
        model = "lif"
    elif kind != "random":
        raise ValueError(f"case kind {kind!r}; choices: random, saturation, lif")
    p = {k: np.asarray(v, np.int64) for k, v in p.items()}
    return LavaCase(f"{kind}-{seed}", kind, spikes, w_in.astype(np.int64), w_rec.astype(np.int64), p, model)


def nmsim_network(case: LavaCase, w_in: np.ndarray, w_rec: np.ndarray) -> Network:
    """The case as an nmsim network (``docs/nir.md`` §Lava), from the weights Lava used (``w_in``, ``w_rec``).

    Lava's mixed-sign 8-bit weights are even (``-256..254``); nmsim's 8-bit synapses hold ``w / 2`` (transposed
    to ``[src, dst]``) and the neuron shifts its input by ``6 + 1``.  ``loihi_lif``: ``threshold = vth << 6``,
    ``bias = bias_mant << bias_exp``, ``du = du + 1``, ``dv = dv``, ``input_shift = 7``, ``u_init = u0``,
    ``v_init = v0``.  Plain ``lif`` (``du = 4095``, ``dv = 0``, ``u0 = 0``, biases and ``v0`` multiples of 128,
    no saturation): every voltage is then a multiple of 128, so nmsim runs in units of 128: ``decay = 0``,
    ``threshold = vth >> 1`` (``v > vth * 64`` iff ``v / 128 > vth >> 1`` for ``v`` a multiple of 128),
    ``bias / 128``, ``v_init = v0 / 128``, reset to zero."""
    for w in (w_in, w_rec):
        if (w % 2).any():
            raise ValueError(f"{case.name}: Lava used odd weights (not mixed-sign); nmsim's mapping needs even ones")
    p = case.params
    bias = np.where(p["bias_exp"] >= 0, p["bias_mant"] << np.maximum(p["bias_exp"], 0),
                    p["bias_mant"] >> np.maximum(-p["bias_exp"], 0))
    net = Network(case.name)
    net.add_input("inp", case.spikes_in.shape[0])
    if case.model == "lif":
        if (p["du"] != 4095).any() or (p["dv"] != 0).any() or (p["u0"] != 0).any() or (bias % 128).any() \
                or (p["v0"] % 128).any():
            raise ValueError(f"{case.name}: the plain lif model needs du=4095, dv=0, u0=0, bias and v0 in units of 128")
        net.add_lif("lif", case.n, threshold=p["vth"] >> 1, decay=0, bias=bias // 128, reset="zero",
                    v_min=-(2**23 - 1) // 128, v_max=(2**23 - 1) // 128, v_init=p["v0"] // 128)
    else:
        net.add_population("lif", "loihi_lif", case.n, threshold=p["vth"] << ACT_SHIFT, du=p["du"] + DS_OFFSET,
                           dv=p["dv"], bias=bias, input_shift=ACT_SHIFT + 1, u_init=p["u0"], v_init=p["v0"])
    net.connect("inp", "lif", w_in.T // 2)
    if np.any(w_rec):
        net.connect("lif", "lif", w_rec.T // 2)
    return net


def run_nmsim(case: LavaCase, w_in: np.ndarray, w_rec: np.ndarray, chip: str = CHIP) -> np.ndarray:
    """nmsim's spikes ``uint8[T, n]`` of the case on ``chip``."""
    from nmsim.compile.build import gather
    from nmsim.pipeline import build
    from nmsim.sim.engine import simulate

    model = build(chip, nmsim_network(case, w_in, w_rec))
    res = simulate(model, case.steps, inputs={"inp": case.spikes_in.T}, record=("fired",))
    return gather(model, res.fired, "lif")


def run_lava(cases: list[LavaCase], workdir: Path) -> list[dict]:
    """Run every case in one Lava process; returns the driver's outputs (spikes, u, v, weights used)."""
    args = []
    for c in cases:
        src, dst = workdir / f"{c.name}.in.npz", workdir / f"{c.name}.out.npz"
        np.savez(src, **c.arrays())
        args += [str(src), str(dst)]
    driver = Path(__file__).with_name("lava_driver.py")
    r = subprocess.run([str(lava_python()), str(driver), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"Lava driver failed (exit {r.returncode}): {r.stderr.strip().splitlines()[-1:]}")
    outs = []
    for c in cases:
        with np.load(workdir / f"{c.name}.out.npz") as z:
            outs.append({k: z[k] for k in z.files})
    return outs


@dataclass
class CaseResult:
    name: str
    kind: str
    model: str
    neurons: int
    steps: int
    spikes_lava: int
    spikes_nmsim: int
    steps_identical: int  #: steps whose spike vectors agree exactly
    first_difference: int | None  #: first differing step (None: spike trains identical)
    saturated: bool  #: Lava's final ``v`` of some neuron sits on a 24-bit bound (saturation exercised)

    @property
    def identical(self) -> bool:
        return self.first_difference is None


@dataclass
class LavaStudy:
    skipped: str | None = None
    lava_version: str = ""
    results: list[CaseResult] = field(default_factory=list)

    @property
    def networks(self) -> int:
        return len(self.results)

    @property
    def identical(self) -> int:
        return sum(r.identical for r in self.results)

    @property
    def steps(self) -> int:
        return sum(r.steps for r in self.results)

    def summary(self) -> dict:
        if self.skipped:
            return {"skipped": self.skipped}
        return {"networks": self.networks, "identical": self.identical, "steps": self.steps,
                "steps_identical": sum(r.steps_identical for r in self.results), "lava_version": self.lava_version}


def default_cases(quick: bool = False) -> list[LavaCase]:
    """The study's cases: random (``loihi_lif``), ``lif``-representable, and the saturation case."""
    n_rand, n_lif = (6, 3) if quick else (40, 10)
    return ([random_case(s) for s in range(n_rand)] + [random_case(1000 + s, "lif") for s in range(n_lif)]
            + [random_case(2000, "saturation")])


def run_study(cases: list[LavaCase] | None = None, quick: bool = False, chip: str = CHIP) -> LavaStudy:
    """Run ``cases`` (default :func:`default_cases`) in Lava and in nmsim and compare the spikes step by step."""
    if not lava_available():
        return LavaStudy(skipped=SKIP_MESSAGE)
    cases = default_cases(quick) if cases is None else cases
    with tempfile.TemporaryDirectory(prefix="nmsim-lava-") as td:
        outs = run_lava(cases, Path(td))
    r = subprocess.run([str(lava_python()), "-c", "import importlib.metadata as m; print(m.version('lava-nc'))"],
                       capture_output=True, text=True)
    study = LavaStudy(lava_version=r.stdout.strip() or "unknown")
    for c, o in zip(cases, outs):
        w_in, w_rec = o["w_in_used"], o["w_rec_used"]
        lava = o["spikes"].astype(np.uint8)
        nm = run_nmsim(c, w_in, w_rec, chip)
        same = (lava == nm).all(axis=1)
        diff = np.flatnonzero(~same)
        study.results.append(CaseResult(
            c.name, c.kind, c.model, c.n, c.steps, int(lava.sum()), int(nm.sum()), int(same.sum()),
            int(diff[0]) if diff.size else None, bool((np.abs(o["v"]) >= 2**23 - 1).any())))
    return study


SECTION_TITLE = "## 4. Lava: bit-accurate Loihi LIF"
SUMMARY_LABEL = "Lava bit-accurate Loihi LIF"


def summary_line(study: LavaStudy) -> str:
    """One line for the report's summary table."""
    if study.skipped:
        return study.skipped
    s = study.summary()
    return (f"{s['identical']} of {s['networks']} networks spike-identical at every step "
            f"({s['steps_identical']} of {s['steps']} steps)")


def report_section(study: LavaStudy, out: Path) -> list[str]:
    """Markdown lines of the Lava section; writes ``out/lava.csv`` (one row per network) unless skipped."""
    md = [SECTION_TITLE, ""]
    if study.skipped:
        return md + [f"Lava comparison {study.skipped}.", ""]
    rows = [[r.name, r.kind, r.model, r.neurons, r.steps, r.spikes_lava, r.spikes_nmsim, r.steps_identical,
             "" if r.first_difference is None else r.first_difference, r.saturated] for r in study.results]
    header = ["network", "kind", "nmsim_model", "neurons", "steps", "spikes_lava", "spikes_nmsim",
              "steps_identical", "first_difference", "v_saturated"]
    (Path(out) / "lava.csv").write_text("\n".join(",".join(map(str, r)) for r in [header] + rows) + "\n")
    by_kind = {}
    for r in study.results:
        k = by_kind.setdefault(r.kind, [0, 0, 0, 0, 0])
        k[0] += 1
        k[1] += r.identical
        k[2] += r.steps
        k[3] += r.steps_identical
        k[4] += r.spikes_lava
    table = ["| cases | nmsim model | networks | spike-identical | steps compared | steps identical | Lava spikes |",
             "|---|---|---|---|---|---|---|"]
    models = {r.kind: r.model for r in study.results}
    for kind, (n, ok, st, sok, spk) in by_kind.items():
        table.append(f"| {kind} | `{models[kind]}` | {n} | **{ok}** | {st} | {sok} | {spk} |")
    s = study.summary()
    md += [f"Lava {study.lava_version} (PyPI `lava-nc`) runs in its own Python 3.10 virtualenv "
           "(`scripts/setup_lava.sh`; its wheel needs Python < 3.11) as a separate program, "
           "`nmsim/validate/lava_driver.py`, with `Loihi1SimCfg(select_tag=\"bit_accurate_loihi\")` pinned to "
           "`PyLifModelBitAcc` and `PyDenseModelBitAcc`. Each network: an input `RingBuffer`, a `Dense` projection "
           "into one `LIF` population and a recurrent `Dense` onto it; nmsim runs the same network on the `loihi` "
           "preset (`nmsim.validate.lava_compare`, mapping in `docs/nir.md` §Lava). Spike vectors are compared at "
           "every step.", "",
           "\n".join(table), "",
           f"Total: **{s['identical']} of {s['networks']}** networks and {s['steps_identical']} of {s['steps']} "
           "steps spike-identical. `random`: every parameter drawn over Lava's ranges (du, dv 0..4095 including "
           "both ends, vth, bias mantissa and exponent, initial u and v); `lif`: the subset nmsim's plain `lif` "
           "model represents (du = 4095, dv = 0, biases and v in units of 128); `saturation`: every input every "
           "step for 40 steps through maximal weights, so v sits on +-(2^23 - 1) and u wraps past 2^23. Lava's "
           "`LIF` resets only to zero, so nmsim's subtract reset has no Lava counterpart and is not compared. "
           "nmsim's plain `lif` cannot represent Lava's dynamics in general (no current state u; its leak "
           "`v - floor(v*decay/4096)` rounds differently from Loihi's `trunc(v*(4096-dv)/4096)`), which is why "
           "the `loihi_lif` model exists. Per network: `lava.csv`.", ""]
    return md


def update_report(path: Path, study: LavaStudy) -> None:
    """Replace (or append) the Lava section and its summary row in an existing ``report.md``, leaving the
    rest untouched (regenerating only this study; the CSV goes beside the report)."""
    path = Path(path)
    text = path.read_text().split("\n")
    sec = report_section(study, path.parent)
    if SECTION_TITLE in text:
        i = text.index(SECTION_TITLE)
        j = next((k for k in range(i + 1, len(text)) if text[k].startswith("## ")), len(text))
        text = text[:i] + sec + text[j:]
    else:
        text = text[:-1] + sec + text[-1:] if text and text[-1] == "" else text + sec
    row = f"| {SUMMARY_LABEL} | {summary_line(study)} |"
    rows = [k for k, line in enumerate(text) if line.startswith(f"| {SUMMARY_LABEL} |")]
    if rows:
        text[rows[0]] = row
    elif "## Summary" in text:
        k = text.index("## Summary") + 1
        while k < len(text) and not text[k].startswith("|"):
            k += 1
        while k < len(text) and text[k].startswith("|"):
            k += 1
        text.insert(k, row)
    path.write_text("\n".join(text))


def main(argv=None) -> int:
    """``python -m nmsim.validate.lava_compare [--quick] [--update-report REPORT.md]``: run the study, print
    its summary, and optionally rewrite only the Lava section of an existing report."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m nmsim.validate.lava_compare")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--update-report", type=Path, default=None)
    args = ap.parse_args(argv)
    study = run_study(quick=args.quick)
    print(summary_line(study))
    if args.update_report is not None:
        update_report(args.update_report, study)
        print(f"updated {args.update_report}")
    return 0 if study.skipped or study.identical == study.networks else 1


if __name__ == "__main__":
    sys.exit(main())
