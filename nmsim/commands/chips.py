"""``nmsim chips list`` and ``nmsim chips show NAME|PATH [--json]``."""

from __future__ import annotations

from nmsim.commands._args import needs_action
from nmsim.describe.chip import ChipSpec, list_chips, load_chip
from nmsim.output_files import dumps_json


#: the one-line help of the sub-command (``nmsim --help``)
HELP = "list shipped chip presets or show one, fully resolved"

def _unit(key: str) -> str:
    for suffix, unit in (("_hz", "Hz"), ("_bytes", "bytes"), ("_bits", "bits"), ("_cycles", "cycles"),
                         ("_packets", "packets"), ("_mw", "mW"), ("_pj", "pJ"), ("_v", "V"), ("_axons", "axons"), ("_ns", "ns")):
        if key.endswith(suffix):
            return unit
    return ""


def _freq(hz: float) -> str:
    for scale, unit in ((1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz")):
        if hz >= scale:
            return f"{hz / scale:g} {unit}"
    return f"{hz:g} Hz"


def summary_line(chip: ChipSpec) -> str:
    m = chip.mesh
    return (f"{chip.name:<12} {m.width}x{m.height} mesh, {m.cores_per_router} cores/router, "
            f"{chip.n_cores} cores, {chip.core.max_neurons} neurons/core, {_freq(chip.clock.frequency_hz)}")


def format_chip(chip: ChipSpec) -> str:
    d = chip.to_dict()
    out = [f"chip {chip.name} (schema_version {chip.schema_version}, {chip.path})"]
    if chip.description:
        out.append(f"  {chip.description}")
    for sec in ("clock", "mesh", "core", "noc", "timing", "barrier", "static"):
        out.append(f"[{sec}]")
        for k, v in d[sec].items():
            if isinstance(v, dict):
                x = v["value"]
                val = f"{int(x):_}" if isinstance(x, float) and x.is_integer() else (f"{x:g}" if isinstance(x, float) else str(x))
                out.append(f"  {k:<30} {val + ' ' + _unit(k):<18} # {v['source']}")
            else:
                out.append(f"  {k:<30} {v}")
    for sec in ("power", "timestep"):
        out.append(f"[{sec}]")
        for k, v in d[sec].items():
            x = v["value"]
            val = f"{x:g}" if isinstance(x, float) else str(x)
            out.append(f"  {k:<30} {val + ' ' + _unit(k):<18} # {v['source']}")
    if "operating_points" in d:
        op = d["operating_points"]
        out.append(f"[operating_points]  nominal {op['nominal']['value']!r}, selected {op['selected']['value']!r}, "
                   f"dynamic energy x {op['energy_scale']['value']:.6g}")
        for name, pt in op["points"].items():
            out.append(f"  [{name}]")
            for k, v in pt.items():
                out.append(f"    {k:<28} {v['value']:<18g} # {v['source']}")
    out.append("[energy]  (pJ per action)")
    for k, v in d["energy"].items():
        out.append(f"  {k:<30} {v['pj']:<9g} pJ       # {v['source']}")
    out.append("[derived]")
    dv = d["derived"]
    out.append(f"  {'n_routers':<30} {dv['n_routers']}")
    out.append(f"  {'n_cores':<30} {dv['n_cores']}")
    out.append(f"  {'io_router':<30} {dv['io_router']}  (router index y * width + x)")
    out.append(f"  {'flits_per_packet':<30} {dv['flits_per_packet']:<18} "
               f"# ceil(({chip.noc.header_bits} + {chip.noc.payload_bits}) / {chip.noc.link_width_bits})")
    if chip.barrier.model == "mesh":
        how = (f"{chip.barrier.base_cycles} + {chip.barrier.per_hop_cycles} x "
               f"({chip.mesh.width - 1} + {chip.mesh.height - 1})")
    else:
        how = "fixed"
    out.append(f"  {'barrier_cycles':<30} {str(dv['barrier_cycles']) + ' cycles':<18} # {how}")
    out.append(f"  {'cycle':<30} {dv['cycle_ns']:g} ns")
    return "\n".join(out)


def _list(args) -> int:
    for name in list_chips():
        print(summary_line(load_chip(name)))
    return 0


def _show(args) -> int:
    chip = load_chip(args.chip)
    if args.json:
        print(dumps_json(chip.to_dict()), end="")
    else:
        print(format_chip(chip))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("chips", help=HELP)
    sub = p.add_subparsers(dest="chips_command", metavar="ACTION")
    p.set_defaults(func=needs_action("chips", sub))
    pl = sub.add_parser("list", help="one line per preset in chips/")
    pl.set_defaults(func=_list)
    ps = sub.add_parser("show", help="print a resolved chip description with units and sources")
    ps.add_argument("chip", help="preset name (e.g. loihi) or path to a .toml file")
    ps.add_argument("--json", action="store_true", help="print JSON instead of text")
    ps.set_defaults(func=_show)
