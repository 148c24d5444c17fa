"""Run networks in Lava's bit-accurate Loihi LIF model; a stand-alone program for Lava's own virtualenv.

    LAVA_PYTHON lava_driver.py IN.npz OUT.npz [IN.npz OUT.npz ...]

Runs under Lava's interpreter (``scripts/setup_lava.sh``; lava-nc 0.10 needs Python < 3.11), so it imports
only numpy and lava, never nmsim.  Each ``IN.npz`` holds one network in Lava's own terms:

- ``spikes_in``  ``int[n_in, T]``: input spikes (a ``RingBuffer`` source, column ``t`` sent at step ``t``);
- ``w_in`` ``int[n, n_in]`` and ``w_rec`` ``int[n, n]``: ``Dense`` weights (Lava's ``[dst, src]`` order);
- ``du, dv, vth, bias_mant, bias_exp, u0, v0`` ``int[n]``: ``LIF`` parameters and initial state.

Every ``Dense`` and ``LIF`` runs with ``Loihi1SimCfg(select_tag="bit_accurate_loihi")``, pinned to
``PyDenseModelBitAcc`` and ``PyLifModelBitAcc`` (the source and sink: their fixed-point models).  ``OUT.npz`` gets ``spikes int8[T, n]`` (a ``RingBuffer``
sink on ``LIF.s_out``), the final ``u``, ``v``, the weights as Lava used them (``w_in_used``,
``w_rec_used``, after its 8-bit clipping) and ``lava_version``.
"""

import sys

import numpy as np


def run_one(src: str, dst: str) -> None:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi1SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.dense.models import PyDenseModelBitAcc
    from lava.proc.io.sink import PyReceiveModelFixed, RingBuffer as Sink
    from lava.proc.io.source import PySendModelFixed, RingBuffer as Source
    from lava.proc.lif.models import PyLifModelBitAcc
    from lava.proc.lif.process import LIF

    z = np.load(src)
    spikes_in = z["spikes_in"].astype(np.int32)
    n_in, T = spikes_in.shape
    n = int(z["du"].shape[0])
    src_p = Source(data=spikes_in)
    d_in = Dense(weights=z["w_in"].astype(np.int32))
    d_rec = Dense(weights=z["w_rec"].astype(np.int32))
    lif = LIF(shape=(n,), du=z["du"].astype(np.int32), dv=z["dv"].astype(np.int32), vth=z["vth"].astype(np.int32),
              bias_mant=z["bias_mant"].astype(np.int32), bias_exp=z["bias_exp"].astype(np.int32),
              u=z["u0"].astype(np.int32), v=z["v0"].astype(np.int32))
    sink = Sink(shape=(n,), buffer=T)
    src_p.s_out.connect(d_in.s_in)
    d_in.a_out.connect(lif.a_in)
    lif.s_out.connect(d_rec.s_in)
    d_rec.a_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    try:
        cfg = Loihi1SimCfg(select_tag="bit_accurate_loihi", exception_proc_model_map={
            Source: PySendModelFixed, Sink: PyReceiveModelFixed, Dense: PyDenseModelBitAcc, LIF: PyLifModelBitAcc})
        lif.run(condition=RunSteps(num_steps=T), run_cfg=cfg)
        spikes = np.asarray(sink.data.get()).T.astype(np.int8)
        out = dict(spikes=spikes, u=np.asarray(lif.u.get(), np.int64), v=np.asarray(lif.v.get(), np.int64),
                   w_in_used=np.asarray(d_in.weights.get(), np.int64),
                   w_rec_used=np.asarray(d_rec.weights.get(), np.int64))
    finally:
        lif.stop()
    import lava
    out["lava_version"] = np.array(getattr(lava, "__version__", "unknown"))
    np.savez(dst, **out)


def main(argv) -> int:
    if len(argv) < 2 or len(argv) % 2:
        print("usage: lava_driver.py IN.npz OUT.npz [IN.npz OUT.npz ...]", file=sys.stderr)
        return 2
    for i in range(0, len(argv), 2):
        run_one(argv[i], argv[i + 1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
