"""The paper study end to end on a tiny spec: one command, resume, export reproduces the tables."""
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "validation"))

MAIN = """schema_version = 1
name = "tiny-paper"
kind = "replay"
[base]
dataset = "ptb"
tokens = 3
decoder = "host"
[grid]
chip = ["loihi"]
model = ["ptb-egru-small-s90", "ptb-lstm-small-s0"]
[[points]]
placement = "balanced"
[[points]]
placement = "snake"
"chip.power.unused_cores" = "on"
"chip.timestep.mode" = "barrier"
"""

CFG = """main_spec = "{main}"
egru = "ptb-egru-small-s90"
baseline = "ptb-lstm-small-s0"
chips = ["loihi"]
tokens = 3
decoder = "host"
mc_samples = 2
mc_seed = 1
mc_models = ["ptb-egru-small-s90", "ptb-lstm-small-s0"]
params = ["energy.packet_send"]
"""


def test_tiny_study_resume_and_export(tmp_path):
    ps = importlib.import_module("paper_study")
    uq = importlib.import_module("paper_study_uq")
    (tmp_path / "main.toml").write_text(MAIN)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(CFG.format(main=tmp_path / "main.toml"))
    out, store = tmp_path / "out", tmp_path / "store"
    args = ["--workers", "0", "--config", str(cfg), "--out", str(out), "--store", str(store)]
    assert ps.main(args) == 0
    readme = (out / "README.md").read_bytes()
    csvs = {n: (out / n).read_bytes() for n in ("results.csv", "sensitivity.csv", "montecarlo.csv")}
    assert (out / "tornado.png").stat().st_size > 0 and (out / "montecarlo.png").stat().st_size > 0
    text = readme.decode()
    assert "old default: memory-packed placement, all cores on" in text
    assert "| loihi | energy.packet_send | 55.5 / 166.5 |" in text  # loihi packet_send 111 pJ ± 50%
    # rerun = resume: nothing recomputed, identical bytes
    assert ps.main(args) == 0
    assert (out / "README.md").read_bytes() == readme
    assert all((out / n).read_bytes() == b for n, b in csvs.items())
    # the tables are a pure function of the exported CSVs
    (out / "README.md").unlink()
    import tomllib
    ps.write_tables(out, tomllib.loads(cfg.read_text()), store)
    assert (out / "README.md").read_bytes() == readme
    # Monte Carlo draws are seeded: same spec text twice, values inside the range
    c = tomllib.loads(cfg.read_text())
    assert uq.mc_spec(c) == uq.mc_spec(c)
    for line in uq.mc_spec(c).splitlines():
        if line.startswith('"chip.energy.packet_send"'):
            assert 55.5 <= float(line.split("=")[1]) <= 166.5


def test_ratio_pairing_and_quantiles():
    uq = importlib.import_module("paper_study_uq")
    rows = [{"chip": "c", "model": m, "chip.x": x, "synaptic_ops_per_token": o, "energy_per_token_nj": e,
             "latency_per_token_us": lt}
            for m, x, o, e, lt in (("E", "1", "10", "4", "2"), ("B", "1", "100", "8", "8"),
                                   ("E", "2", "10", "6", "2"), ("B", "2", "100", "8", "4"))]
    rs = uq.ratios(rows, "E", "B")
    assert [(r["ops"], r["energy"], r["latency"]) for r in rs] == [(0.1, 0.5, 0.25), (0.1, 0.75, 0.5)]
    # numpy linear quantiles of [0, 1, ..., 20]: 5% -> 1, median 10, 95% -> 19
    assert uq.quantiles([float(i) for i in range(21)]) == (1.0, 10.0, 19.0)


def test_floors_by_hand():
    """The floors table from hand-made rows: shares, the readout as chip minus host, and the step floor
    as steps x the chip's shortest step (spinnaker2: 1 ms tick; loihi: barrier 4650 cycles at 10 GHz)."""
    ps = importlib.import_module("paper_study")
    f = {"kind": "egru", "sizes": [2, 4, 2], "G": 3, "V": 10, "E": 2,
         "dens": {(0, "W"): 0.5, (0, "R"): 0.25, (1, "W"): 1.0, (1, "R"): 0.5}}
    # stack ops: 3*4*(0.5*1*2 + 0.25*0.5*4) + 3*2*(1.0*0.5*4 + 0.5*1.0*2) = 18 + 18 = 36; dense input 3*4*0.5*2 = 12
    assert ps.dense_input_share(f, [0.5, 1.0]) == 12 / 36
    row = lambda chip, dec, en, lat, st: {  # noqa: E731
        "chip": chip, "model": "E", "decoder": dec, "placement": "balanced", "chip.power.unused_cores": "gated",
        "energy_per_token_nj": str(en), "latency_per_token_us": str(lat), "energy_static_nj": str(st),
        "energy_barrier_nj": "10", "activity_L1": "0.5", "activity_L2": "1.0"}
    rows = [row("spinnaker2", "host", 100, 3000, 25), row("spinnaker2", "chip", 160, 4000, 40),
            row("loihi", "host", 50, 9.3, 5), {**row("loihi", "host", 1, 1, 1), "model": "other"}]
    fl = ps.floors(rows, {"E": f}, ("E",))
    by = {(x["chip"], x["decoder"]): x for x in fl}
    assert set(by) == {("spinnaker2", "host"), ("spinnaker2", "chip"), ("loihi", "host")}
    h, c, lo = by["spinnaker2", "host"], by["spinnaker2", "chip"], by["loihi", "host"]
    assert (h["mode"], h["static"], h["barrier"], h["readout_nj"]) == ("fixed", 0.25, 0.1, None)
    assert h["floor_us"] == 3 * 1000.0 and h["floor_share"] == 1.0      # 2 layers + 1 steps x 1 ms
    assert c["floor_us"] == 4 * 1000.0 and (c["readout_nj"], c["readout_us"]) == (60.0, 1000.0)
    assert lo["mode"] == "barrier" and abs(lo["floor_us"] - 3 * 0.465) < 1e-12  # 4650 cycles / 10 GHz
    assert abs(lo["floor_share"] - 0.15) < 1e-12
