"""Small hand-built ``CompiledModel`` s for the engine tests (the TOML/compile stage is not used).

:func:`make_model` is the package's one direct builder (:func:`nmsim.compile.lif.lif_model`) with this
suite's default timing; :func:`lif_reference` is an independent plain-NumPy LIF network.
"""

from __future__ import annotations

import numpy as np

from nmsim.compile.lif import DEFAULT_TIMING, lif_model, lif_params  # noqa: F401 (re-exported)

#: Timing used when a field is not given (cycles): the builder's defaults with 4-packet buffers.
BASE_TIMING = {**DEFAULT_TIMING, "router_buffer_packets": 4}


def make_model(*, timing=None, **kw):
    """:func:`nmsim.compile.lif.lif_model` over :data:`BASE_TIMING`, host payloads 1 bit wide."""
    return lif_model(timing={**BASE_TIMING, **(timing or {})}, host_payload_bits=1, **kw)


def lif_reference(lif, v0, edges, n_lif, host_payloads, n_steps):
    """Spec §1 in plain NumPy integers, in network ids: ``(fired uint8[n_steps, N], v int64[n_lif])``.

    Independent of the kernels: dense weight matrix, one matrix product per step.
    """
    n_host = host_payloads.shape[1]
    N = n_lif + n_host
    Wm = np.zeros((N, n_lif), np.int64)
    for s, t, w in edges:
        Wm[s, t] += w
    thr, dec, bias, reset, vmin, vmax = (np.asarray(lif, np.int64)[:, j] for j in range(6))
    v = np.asarray(v0, np.int64).copy()
    u = np.zeros(n_lif, np.int64)
    fired = np.zeros((n_steps, N), np.uint8)
    for t in range(n_steps):
        v1 = np.clip(v - ((v * dec) >> 12) + bias + u, vmin, vmax)
        f = v1 > thr
        v = np.where(f, np.where(reset == 0, v1 - thr, 0), v1)
        payload = np.concatenate([f.astype(np.int64), host_payloads[t]])
        fired[t] = payload != 0
        u = payload @ Wm
    return fired, v
