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
from nmsim.validate.sanafe_import import SanafeNet, import_snn, parse_arch

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


# --------------------------------------------------------------------------- network generator


def write_random_snn(path: Path, arch_path: Path, *, n_in: int, n_lif: int, density: float, n_steps: int,
                     p_in: float, seed: int, tiles: int | None = None, name: str = "random",
                     weights=(-3, -2, -1, 1, 2, 3, 4, 5), thresholds=(2, 9)) -> Path:
    """Write a random recurrent LIF network in SANA-FE's SNN format (integer parameters, leak 0 or 1).

    Inputs sit on tile 0 core 0, each on its own ``input`` soma unit of the architecture; LIF neurons
    are dealt round-robin over the cores of the first ``tiles`` tiles (default all).
    """
    arch = parse_arch(arch_path)
    in_units = [u.name for u in arch.units["soma"] if u.model == "input"]
    lif_unit = next(u.name for u in arch.units["soma"] if u.model != "input")
    if len(in_units) < n_in:
        raise ValueError(f"{arch_path}: {len(in_units)} input soma units for {n_in} inputs")
    rng = np.random.default_rng(seed)
    T = tiles or arch.width * arch.height
    cores = [f"{t}.{c}" for t in range(T) for c in range(arch.cores_per_tile)]
    L = ["# Random network in SANA-FE's SNN format, written by nmsim.validate.sanafe_compare.write_random_snn",
         f"# seed {seed}: {n_in} inputs, {n_lif} LIF neurons, density {density}, input rate {p_in}",
         "network:", f"  name: {name}", "  groups:", "    - name: in", "      attributes: [log_spikes: true]",
         "      neurons:"]
    spikes = (rng.random((n_steps, n_in)) < p_in).astype(int)
    for i in range(n_in):
        L.append(f"        - {i}: [spikes: [{', '.join(map(str, spikes[:, i]))}]]")
    L += ["    - name: lif", f"      attributes: [log_spikes: true, soma_hw_name: {lif_unit}]", "      neurons:"]
    for i in range(n_lif):
        thr = int(rng.integers(*thresholds))
        a = [f"threshold: {thr}.0", f"leak_decay: {rng.choice(['1.0', '1.0', '0.0'])}",
             f"reset_mode: {rng.choice(['hard', 'soft'])}"]
        if rng.random() < 0.05:
            a.append(f"bias: {int(rng.integers(1, 3))}.0")
        L.append(f"        - {i}: [{', '.join(a)}]")
    L.append("  edges:")
    w_in = rng.random((n_in, n_lif)) < density * 2
    w_rec = rng.random((n_lif, n_lif)) < density
    for src, mask in (("in", w_in), ("lif", w_rec)):
        for a, b in zip(*np.nonzero(mask)):
            w = int(rng.choice(weights))
            L.append(f"    - {src}.{a} -> lif.{b}: [weight: {w}.0]")
    L.append("mappings:")
    for i in range(n_in):
        L.append(f"  - in.{i}: [core: 0.0, soma: \"{in_units[i]}\"]")
    for i in range(n_lif):
        L.append(f"  - lif.{i}: [core: {cores[i % len(cores)]}]")
    path.write_text("\n".join(L) + "\n")
    return path


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


def run_nmsim(snet: SanafeNet, n_steps: int) -> tuple[SideResult, dict]:
    """Run an imported network on its imported chip; also return nmsim-only detail."""
    from nmsim.account import account
    from nmsim.compile.build import gather
    from nmsim.map.placement import place_manual
    from nmsim.pipeline import build
    from nmsim.sim import simulate
    from nmsim.validate.microbench import host_array

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
    # SANA-FE updates a neuron whenever a spike reaches it, even if the inputs cancel; nmsim's 'active'
    # needs u != 0.  Count the difference: neurons reached by >= 1 synapse, but idle in nmsim.
    reached = _reached(model, res)
    active = per("neuron_update_active")
    host_fired = res.fired[:, int(model.core_neuron_ptr[C]):].sum(axis=1)
    out = SideResult(fired=res.fired.sum(axis=1).astype(np.int64), packets=per("packet_send") + per("io_packet"),
                     hops=(per("flit_hop_east_west") + per("flit_hop_north_south")) // chip.flits_per_packet,
                     synaptic_events=int(per("synaptic_op").sum()), updates=(active + host_fired).astype(np.int64),
                     energy=energy, step_time=res.step_cycles / chip.clock.frequency_hz, spikes=[sorted(s) for s in spikes],
                     wall_s=time.perf_counter() - t0)
    detail = {"cancelled_updates": reached, "action_pj": rep.by_action(), "step_cycles": res.step_cycles,
              "update_pj": chip.energy.pj["neuron_update_active"] - chip.energy.pj["neuron_update_idle"]}
    return out, detail


def _reached(model, res) -> np.ndarray:
    """Per step: on-chip neurons that received >= 1 synaptic event in the previous step but were idle
    (``u == 0``, ``v == 0``, no bias) in nmsim: SANA-FE updates those, nmsim does not."""
    n_steps, N = res.fired.shape
    C = model.n_cores
    h0 = int(model.core_neuron_ptr[C])
    # synapse targets reached by each firing neuron
    out = np.zeros(n_steps, np.int64)
    rows = model.route_row
    # replay the functional model to know v and u (integer LIF; cheap for validation-sized networks)
    p = model.neuron_param
    v = model.neuron_state[:, 0].copy()
    acc = np.zeros(N, np.int64)
    hit = np.zeros(N, bool)
    for t in range(n_steps):
        u = acc
        lif = np.arange(N) < h0
        idle = lif & hit & (u == 0) & (v == 0) & (p[:, 2] == 0)
        out[t] = int(idle.sum())
        v1 = v - ((v * p[:, 1]) >> 12) + p[:, 2] + u
        v1 = np.minimum(np.maximum(v1, p[:, 4]), p[:, 5])
        fired = res.fired[t].astype(bool)
        v = np.where(lif, np.where(fired, np.where(p[:, 3] == 0, v1 - p[:, 0], 0), v1), 0)
        acc = np.zeros(N, np.int64)
        hit = np.zeros(N, bool)
        for g in np.flatnonzero(fired):
            for k in range(model.route_ptr[g], model.route_ptr[g + 1]):
                r = rows[k]
                a, b = model.row_ptr[r], model.row_ptr[r + 1]
                tg = model.syn_target[a:b]
                np.add.at(acc, tg, model.syn_weight[a:b] * res.payload[t, g] if res.payload is not None else 1)
                hit[tg] = True
    return out


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
    def energy_within_2pct(self) -> bool:
        return abs(self.energy_rel()) <= 0.02

    @property
    def ok(self) -> bool:
        return (self.spikes_identical and self.packets_identical and self.hops_identical
                and self.synaptic_events_identical and self.energy_within_2pct)


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
            workdir: Path | None = None) -> Comparison:
    snet = import_snn(snn, arch)
    n = n_steps or max(snet.n_input_steps, 1)
    nm, detail = run_nmsim(snet, n)
    sf = run_sanafe(arch, snn, n)
    if workdir is not None and (arch0 := without_spike_out_latency(arch, workdir)) is not None:
        detail["sanafe_step_time_no_spike_out"] = run_sanafe(arch0, snn, n).step_time
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
    out.append(("random-mesh", "random recurrent network, 32 inputs + 200 LIF on mesh_arch.yaml, high activity",
                mesh, write_random_snn(workdir / "random_mesh_snn.yaml", mesh, n_in=32, n_lif=200, density=0.05,
                                       n_steps=20, p_in=0.3, seed=1, name="random_mesh"), 20))
    loihi = sanafe_loihi_file()
    if loihi is not None and not quick:
        out.append(("random-loihi", "random recurrent network, 64 inputs + 1500 LIF over 16 tiles of SANA-FE's "
                    "loihi.yaml (from the installed wheel), sparse activity",
                    loihi, write_random_snn(workdir / "random_loihi_snn.yaml", loihi, n_in=64, n_lif=1500,
                                            density=0.01, n_steps=20, p_in=0.1, seed=2, tiles=16,
                                            name="random_loihi", weights=(-4, -3, -2, -1, 1, 2, 3),
                                            thresholds=(6, 12)), 20))
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
