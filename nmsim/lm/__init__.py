"""Torch-free language-model workload pieces.

* :mod:`nmsim.lm.data`      -- PTB / WikiText-2 loading, checksums, vocabulary.
* :mod:`nmsim.lm.intformat` -- fixed-point helpers, LUTs, saturation.
* :mod:`nmsim.lm.modelfile` -- the exported ``.nmm`` model file (save/load/verify).
* :mod:`nmsim.lm.golden`    -- the NumPy integer golden reference.
* :mod:`nmsim.lm.metrics`   -- activity, synaptic-op counts, perplexity.

Training, pruning, quantization and export (torch) live in the ``workloads``
package; nothing here imports torch.
"""
