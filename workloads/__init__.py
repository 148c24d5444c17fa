"""Torch side of the EGRU language-model workload.

Training (:mod:`workloads.train`), pruning (:mod:`workloads.prune`),
integer quantization (:mod:`workloads.quantize`) and export
(:mod:`workloads.export`) of the models that the simulator replays.  Only
these modules import torch; the simulator's runtime path uses the torch-free
:mod:`nmsim.lm` package (model file + golden reference).
"""
