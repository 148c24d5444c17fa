"""Run the same SANA-FE-format networks in SANA-FE and in nmsim, side by side.

SANA-FE is the optional PyPI package ``sanafe`` (2.2.9, GPL-3.0; ``pip install
'nmsim[compare]'``), used as an external program through its Python API: it is
imported lazily, and without it :func:`run_study` returns a study marked
skipped.  Both simulators read the *same* YAML files: SANA-FE through
``sanafe.load_arch`` / ``sanafe.load_net``, nmsim through
:mod:`nmsim.validate.sanafe_import`.

Networks: SANA-FE's own shipped example (``example_snn.yaml`` on
``example_chip.yaml``, loaded from the installed ``sanafe`` package at run
time, never copied), nmsim's hand-written ``examples/sanafe/small_snn.yaml``
on ``examples/sanafe/mesh_arch.yaml``, and random networks written in SANA-FE's
format by :func:`write_random_snn` on that mesh and on SANA-FE's installed
``loihi.yaml``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nmsim.describe.actions import A
from nmsim.paths import project_root
from nmsim.validate.sanafe.generate import write_random_snn  # noqa: F401 - part of this module's API
from nmsim.validate.sanafe_import import SanafeNet, import_snn

#: step-time models of the nmsim side: nmsim's engine, or SANA-FE's analytic simple model on nmsim's counts
TIMINGS = ("nmsim", "sanafe-simple")
#: SANA-FE timing model each nmsim timing is compared with
SANAFE_TIMING = {"nmsim": "detailed", "sanafe-simple": "simple"}
SKIP_MESSAGE = "skipped: install nmsim[compare] (the optional package sanafe==2.2.9)"

#: nmsim actions summed into each SANA-FE energy category.
CATEGORIES = {
    "synapse": ("synaptic_op", "synapse_read"),
    "dendrite": (),
    "soma": ("neuron_update_active", "neuron_update_idle", "spike"),
    "network": ("packet_send", "io_packet", "flit_hop_east_west", "flit_hop_north_south", "local_delivery",
                "packet_receive"),
}


def sanafe_available() -> bool:
    try:
        import sanafe  # noqa: F401
    except ImportError:
        return False
    return True


def examples_dir() -> Path:
    return project_root() / "examples" / "sanafe"


def sanafe_example_files() -> tuple[Path, Path] | None:
    """(arch, snn) of SANA-FE's shipped example, from the installed wheel; None if it lacks them."""
    from importlib.resources import files

    try:
        base = files("sanafe.examples")
    except ModuleNotFoundError:
        return None
    arch, snn = Path(str(base / "example_chip.yaml")), Path(str(base / "example_snn.yaml"))
    return (arch, snn) if arch.exists() and snn.exists() else None


def sanafe_loihi_file() -> Path | None:
    from importlib.resources import files

    try:
        p = Path(str(files("sanafe.examples") / "loihi.yaml"))
    except ModuleNotFoundError:
        return None
    return p if p.exists() else None


# --------------------------------------------------------------------------- runs


@dataclass
class SideResult:
    """What one simulator reports, in SANA-FE's terms (energies in J, times in s)."""

    fired: np.ndarray  # int[n_steps] neurons fired per step (inputs included)
    packets: np.ndarray  # int[n_steps]
    hops: np.ndarray  # int[n_steps]
    synaptic_events: int
    updates: np.ndarray  # int[n_steps] neuron updates (SANA-FE's 'updated')
    energy: dict  # category -> J, plus "total"
    step_time: np.ndarray  # float[n_steps] seconds
    spikes: list  # per step: sorted list of "group.index" (logged neurons only)
    wall_s: float = 0.0


def run_nmsim(snet: SanafeNet, n_steps: int, timing: str = "nmsim") -> tuple[SideResult, dict]:
    """Run an imported network on its imported chip; also return nmsim-only detail.

    ``timing``: ``"nmsim"`` (step times from nmsim's event-driven engine) or ``"sanafe-simple"`` (SANA-FE's
    analytic ``simple`` model evaluated on nmsim's counts, :mod:`nmsim.validate.sanafe.simple_timing`).
    """
    from nmsim.account import account
    from nmsim.compile.build import gather
    from nmsim.map.placement import place_manual
    from nmsim.pipeline import build
    from nmsim.sim import simulate
    from nmsim.validate.microbench import host_array
    from nmsim.validate.sanafe.simple_timing import simple_step_times

    if timing not in TIMINGS:
        raise ValueError(f"timing {timing!r}; choices: {', '.join(TIMINGS)}")
    t0 = time.perf_counter()
    chip, net = snet.chip, snet.network
    pl = place_manual(chip, net, snet.core_of)
    model = build(chip, net, placement=pl)
    res = simulate(model, n_steps, host_array(model, snet.input_array(n_steps), n_steps))
    rep = account(res, chip.energy.vector_pj(), chip.static.core_power_mw, chip.n_cores, chip.clock.frequency_hz)
    cnt = res.counters
    C = chip.n_cores
    per = lambda a: cnt[:, :, A[a]].sum(axis=1)  # noqa: E731
    energy = {cat: sum(float(rep.action_pj[A[a]]) for a in acts) * 1e-12 for cat, acts in CATEGORIES.items()}
    energy["total"] = sum(energy.values()) + rep.static_total_pj * 1e-12 + float(rep.action_pj[A["barrier"]]) * 1e-12
    spikes = [[] for _ in range(n_steps)]
    for g, (pop, _) in snet.groups.items():
        f = gather(model, res.fired, pop)
        for t, i in zip(*np.nonzero(f[:, snet.logged[g]] if snet.logged[g].any() else f[:, :0])):
            spikes[t].append(f"{g}.{int(np.flatnonzero(snet.logged[g])[i])}")
    # SANA-FE updates a neuron whenever a spike reaches it, even if the inputs sum to 0: the imported LIF
    # neurons have update_on_event 1, so nmsim's 'active' counts the same updates
    active = per("neuron_update_active")
    host_fired = res.fired[:, int(model.core_neuron_ptr[C]):].sum(axis=1)
    step_time = (res.step_cycles / chip.clock.frequency_hz if timing == "nmsim"
                 else simple_step_times(snet, model, res))
    out = SideResult(fired=res.fired.sum(axis=1).astype(np.int64), packets=per("packet_send") + per("io_packet"),
                     hops=(per("flit_hop_east_west") + per("flit_hop_north_south")) // chip.flits_per_packet,
                     synaptic_events=int(per("synaptic_op").sum()), updates=(active + host_fired).astype(np.int64),
                     energy=energy, step_time=step_time, spikes=[sorted(s) for s in spikes],
                     wall_s=time.perf_counter() - t0)
    detail = {"action_pj": rep.by_action(), "step_cycles": res.step_cycles, "timing": timing,
              "nmsim_step_time": res.step_cycles / chip.clock.frequency_hz}
    return out, detail


def run_sanafe(arch_path: Path, snn_path: Path, n_steps: int, timing_model: str = "detailed") -> SideResult:
    import contextlib
    import io
    import os

    import sanafe

    t0 = time.perf_counter()
    arch = sanafe.load_arch(str(arch_path))
    net = sanafe.load_net(str(snn_path), arch)
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    # SANA-FE prints progress on the C++ stdout; keep the report's console clean
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(io.StringIO()):
        fd = os.dup(1)
        try:
            os.dup2(devnull.fileno(), 1)
            r = chip.sim(n_steps, timing_model=timing_model, spike_trace=True, perf_trace=True, message_trace=True)
        finally:
            os.dup2(fd, 1)
            os.close(fd)
    perf = r["perf_trace"]
    packets = np.zeros(n_steps, np.int64)
    for t, msgs in enumerate(r["message_trace"][:n_steps]):
        packets[t] = sum(1 for m in msgs if not m["placeholder"])
    e = r["energy"]
    return SideResult(fired=np.asarray(perf["fired"], np.int64), packets=packets,
                      hops=np.asarray(perf["hops"], np.int64), synaptic_events=int(r["spikes"]),
                      updates=np.asarray(perf["updated"], np.int64),
                      energy={k: float(e[k]) for k in ("synapse", "dendrite", "soma", "network", "total")},
                      step_time=np.asarray(perf["sim_time"], float),
                      spikes=[sorted(str(x) for x in s) for s in r["spike_trace"][:n_steps]],
                      wall_s=time.perf_counter() - t0)


# --------------------------------------------------------------------------- study


@dataclass
class Comparison:
    name: str
    description: str
    arch: str
    snn: str
    n_steps: int
    n_neurons: int
    n_synapses: int
    nm: SideResult
    sf: SideResult
    detail: dict
    notes: list

    @property
    def spikes_identical(self) -> bool:
        return bool((self.nm.fired == self.sf.fired).all()) and self.nm.spikes == self.sf.spikes

    @property
    def packets_identical(self) -> bool:
        return bool((self.nm.packets == self.sf.packets).all())

    @property
    def hops_identical(self) -> bool:
        return bool((self.nm.hops == self.sf.hops).all())

    @property
    def synaptic_events_identical(self) -> bool:
        return self.nm.synaptic_events == self.sf.synaptic_events

    def energy_rel(self, cat: str = "total") -> float:
        a, b = self.nm.energy[cat], self.sf.energy[cat]
        return 0.0 if a == b else (a - b) / b if b else math.inf

    @property
    def time_rel(self) -> float:
        """nmsim's simulated time / SANA-FE's - 1 (each with its timing model)."""
        return float(self.nm.step_time.sum() / self.sf.step_time.sum() - 1.0)

    @property
    def energy_within_2pct(self) -> bool:
        return abs(self.energy_rel()) <= 0.02

    @property
    def ok(self) -> bool:
        return (self.spikes_identical and self.packets_identical and self.hops_identical
                and self.synaptic_events_identical and self.updates_identical and self.energy_identical)

    @property
    def updates_identical(self) -> bool:
        """nmsim's active updates (plus its fired input neurons) equal SANA-FE's ``updated``, step by step."""
        return bool((self.nm.updates == self.sf.updates).all())

    @property
    def energy_identical(self) -> bool:
        """Every SANA-FE energy category within 1e-9 of nmsim's (relative)."""
        return all(abs(self.energy_rel(c)) <= 1e-9 for c in ("synapse", "dendrite", "soma", "network", "total"))


@dataclass
class SanafeStudy:
    skipped: str | None = None
    comparisons: list = field(default_factory=list)
    sanafe_version: str = ""
    missing: list = field(default_factory=list)  # what the installed wheel lacked


def without_spike_out_latency(arch: Path, workdir: Path) -> Path | None:
    """A copy of ``arch`` with every soma ``latency_spike_out`` set to 0 (None if none is non-zero): SANA-FE
    run on it shows how much of the time difference that nmsim-less latency explains."""
    import re

    text = Path(arch).read_text()
    pat = re.compile(r"(latency_spike_out:\s*)([^,}\s]+)")
    if all(float(v) == 0.0 for _, v in pat.findall(text)):
        return None
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{Path(arch).stem}_no_spike_out_latency.yaml"
    out.write_text(pat.sub(lambda m: m.group(1) + "0.0", text))
    return out


def compare(name: str, description: str, arch: Path, snn: Path, n_steps: int | None = None,
            workdir: Path | None = None, timing: str = "nmsim", snet: SanafeNet | None = None) -> Comparison:
    """Run ``snn`` on ``arch`` in both simulators.  ``n_steps`` None: the longest input spike list (a
    network without inputs needs it).  ``timing``: see :func:`run_nmsim`; SANA-FE then runs its matching
    model (``SANAFE_TIMING``)."""
    snet = snet or import_snn(snn, arch)
    if n_steps is None:
        if not snet.has_inputs:
            raise ValueError(f"{snn}: no input neurons, so no input length: give n_steps")
        n_steps = max(snet.n_input_steps, 1)
    n = n_steps
    nm, detail = run_nmsim(snet, n, timing)
    sf = run_sanafe(arch, snn, n, SANAFE_TIMING[timing])
    if workdir is not None and (arch0 := without_spike_out_latency(arch, workdir)) is not None:
        detail["sanafe_step_time_no_spike_out"] = run_sanafe(arch0, snn, n, SANAFE_TIMING[timing]).step_time
    else:
        detail["sanafe_step_time_no_spike_out"] = sf.step_time
    return Comparison(name=name, description=description, arch=str(arch), snn=str(snn), n_steps=n,
                      n_neurons=snet.network.n_neurons, n_synapses=snet.network.nnz, nm=nm, sf=sf, detail=detail,
                      notes=list(snet.notes.lines))


def networks(workdir: Path, quick: bool = False) -> list[tuple]:
    """(name, description, arch, snn, n_steps) of every comparison network."""
    out = []
    ex = sanafe_example_files()
    if ex is not None:
        out.append(("sanafe-example", "SANA-FE's shipped example_snn.yaml on example_chip.yaml (from the installed "
                    "wheel)", ex[0], ex[1], 3))
    mesh = examples_dir() / "mesh_arch.yaml"
    out.append(("small-chain", "nmsim examples/sanafe/small_snn.yaml on mesh_arch.yaml (hand-written, hops in all "
                "four directions)", mesh, examples_dir() / "small_snn.yaml", 10))
    workdir.mkdir(parents=True, exist_ok=True)
    out.append(("random-mesh", "random recurrent network, 32 inputs + 200 LIF on mesh_arch.yaml, high activity, "
                "10% zero weights, 5% repeated edges",
                mesh, write_random_snn(workdir / "random_mesh_snn.yaml", mesh, n_in=32, n_lif=200, density=0.05,
                                       n_steps=20, p_in=0.3, seed=1, name="random_mesh", zero_frac=0.1,
                                       dup_frac=0.05), 20))
    loihi = sanafe_loihi_file()
    if loihi is not None and not quick:
        out.append(("random-loihi", "random recurrent network, 64 inputs + 1500 LIF over 16 tiles of SANA-FE's "
                    "loihi.yaml (from the installed wheel), sparse activity, 10% zero weights, 5% repeated edges",
                    loihi, write_random_snn(workdir / "random_loihi_snn.yaml", loihi, n_in=64, n_lif=1500,
                                            density=0.01, n_steps=20, p_in=0.1, seed=2, tiles=16,
                                            name="random_loihi", weights=(-4, -3, -2, -1, 1, 2, 3),
                                            thresholds=(6, 12), zero_frac=0.1, dup_frac=0.05), 20))
    return out


def run_study(workdir: Path, quick: bool = False, progress=None) -> SanafeStudy:
    if not sanafe_available():
        return SanafeStudy(skipped=SKIP_MESSAGE)
    from importlib.metadata import version

    st = SanafeStudy(sanafe_version=version("sanafe"))
    if sanafe_example_files() is None:
        st.missing.append("the installed sanafe wheel contains no example_snn.yaml / example_chip.yaml, so SANA-FE's "
                          "own example network is not compared")
    if sanafe_loihi_file() is None and not quick:
        st.missing.append("the installed sanafe wheel contains no loihi.yaml, so the random-loihi network is not run")
    for name, desc, arch, snn, n_steps in networks(workdir, quick):
        if progress:
            progress(name)
        st.comparisons.append(compare(name, desc, arch, snn, n_steps, workdir=workdir / "variants"))
    return st
