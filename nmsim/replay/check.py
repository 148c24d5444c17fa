"""Bit-exactness of a replay: every token's per-layer payloads and logits against the golden reference.

:class:`TokenChecker` receives, in token order, what the chip produced for each token (every layer's
payloads, then the logits — or the last layer's payloads when the decoder is on the host) and compares it
with the golden integer reference's values.  Logits are compared, hashed and scored in chunks of
:data:`CHUNK` tokens, never stored whole, so memory stays bounded in the number of tokens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

#: Tokens per chunk of logits compared / hashed / scored at once (= ``GoldenModel.run``'s chunk, so that the
#: perplexity sums group exactly as the golden's and the two perplexities are equal to the last bit).
CHUNK = 512


@dataclass
class Mismatch:
    token: int
    layer: str          #: "L1".."LL" or "logits"
    index: int          #: first differing unit / word
    chip: int
    golden: int

    def text(self) -> str:
        return (f"token {self.token}, {self.layer}[{self.index}]: chip {self.chip} != golden {self.golden}")

    def to_dict(self) -> dict:
        return {"token": self.token, "layer": self.layer, "index": self.index, "chip": self.chip,
                "golden": self.golden}


def decode_batch(golden, Y: np.ndarray) -> np.ndarray:
    """int32 logits ``saturate_32(Y @ E_int^T + b_dec)`` of a batch of last-layer payloads, computed exactly
    as :meth:`nmsim.lm.golden.GoldenModel.run` does (float64 BLAS only when the golden proved every partial
    sum exact, else int64).  Also the host's decoder with ``decoder="host"``."""
    from nmsim.lm.intformat import saturate

    if golden.fast_ok:
        lgf = Y.astype(np.float64) @ golden.embf.T
        lgf += golden.dec_biasf
        return saturate(lgf.astype(np.int64), 32).astype(np.int32)
    return saturate(Y @ golden.emb.T + golden.dec_bias, 32).astype(np.int32)


def _layer_rank(layer: str, n_layers: int) -> int:
    return n_layers + 1 if layer == "logits" else int(layer[1:])


class TokenChecker:
    """Compares a replay's outputs with the golden reference, token by token (see the module docstring).

    ``golden``: the :class:`nmsim.lm.golden.GoldenModel`; ``tokens``: the replayed token ids;
    ``emb_dim``/``vocab_size``/``n_layers``: the model's sizes; ``on_chip_decoder``: whether the chip
    produces logits (else the host decodes the chip's last-layer payloads).
    """

    def __init__(self, golden, tokens: np.ndarray, n_layers: int, emb_dim: int, vocab_size: int,
                 on_chip_decoder: bool):
        self.golden, self.tokens, self.n_layers = golden, tokens, n_layers
        self.on_chip_decoder = on_chip_decoder
        self.n_tokens = len(tokens)
        csize = min(CHUNK, self.n_tokens)
        self._logits = np.zeros((csize, vocab_size), np.int32)   # chip logits (decoder on chip)
        self._ychip = np.zeros((csize, emb_dim), np.int64)       # chip last-layer payloads (decoder on host)
        self._ygold = np.zeros((csize, emb_dim), np.int64)       # golden last-layer payloads
        self._tok = np.zeros(csize, np.int64)
        self._csize, self._start, self._fill = csize, 0, 0
        self.pending: dict[int, list] = {}    #: token -> golden per-layer payloads, while in flight
        self.first: Mismatch | None = None
        self.bad_tokens: set[int] = set()
        self._sha = hashlib.sha256()
        self.nll = 0.0
        self.nll_golden = 0.0
        self.n_pred = 0
        self.done = 0

    # -- golden side
    def expect(self, tau: int, golden_layers: list) -> None:
        """The golden per-layer payloads of token ``tau`` (``golden_layers[l]`` for layer ``l+1``)."""
        self.pending[tau] = golden_layers

    # -- chip side
    def layer(self, tau: int, li: int, chip_y: np.ndarray) -> None:
        """Layer ``li`` (0-based)'s payloads for token ``tau``."""
        self._note(tau, f"L{li + 1}", chip_y, self.pending[tau][li])

    def finish(self, tau: int, chip_row: np.ndarray) -> None:
        """Token ``tau``'s logits (decoder on chip) or last-layer payloads (decoder on host) are in."""
        assert tau == self._start + self._fill, "tokens finish in order"
        f = self._fill
        if self.on_chip_decoder:
            self._logits[f] = chip_row
        else:
            self._ychip[f] = chip_row
        self._ygold[f] = self.pending.pop(tau)[-1]
        self._tok[f] = tau
        self._fill += 1
        self.done += 1
        if self._fill == self._csize:
            self.flush()

    def flush(self) -> None:
        """Compare, hash and score the buffered tokens' logits."""
        from nmsim.lm.metrics import nll_from_float_logits

        n = self._fill
        if n == 0:
            return
        g = self.golden
        gold = decode_batch(g, self._ygold[:n])
        lg = self._logits[:n] if self.on_chip_decoder else decode_batch(g, self._ychip[:n])
        for r in np.flatnonzero((lg != gold).any(axis=1)):
            self._note(int(self._tok[r]), "logits", lg[r].astype(np.int64), gold[r].astype(np.int64))
        self._sha.update(np.ascontiguousarray(lg, dtype="<i4").tobytes())
        tgt = self.tokens[self._start + 1: self._start + n + 1]
        if len(tgt):  # exactly as GoldenModel.run(targets_logprob=True) scores its chunks
            self.nll += nll_from_float_logits(lg[:len(tgt)].astype(np.float64), tgt, g.logit_scale)
            self.nll_golden += nll_from_float_logits(gold[:len(tgt)].astype(np.float64), tgt, g.logit_scale)
            self.n_pred += len(tgt)
        self._start += n
        self._fill = 0

    def close(self) -> None:
        """Flush the last chunk; every token must have finished."""
        self.flush()
        assert self.done == self.n_tokens and not self.pending, "schedule did not finish every token"

    @property
    def logits_sha256(self) -> str:
        return self._sha.hexdigest()

    def _note(self, tau: int, layer: str, chip_v: np.ndarray, gold_v: np.ndarray) -> None:
        if np.array_equal(chip_v, gold_v):
            return
        self.bad_tokens.add(tau)
        L = self.n_layers
        if self.first is None or (tau, _layer_rank(layer, L)) < (self.first.token, _layer_rank(self.first.layer, L)):
            i = int(np.flatnonzero(chip_v != gold_v)[0])
            self.first = Mismatch(tau, layer, i, int(chip_v[i]), int(gold_v[i]))
