"""PTB and WikiText-2 loaders (files shipped in ``data/``; no downloads).

Conventions (``data/README.md``): each line is split on whitespace and one
``<eos>`` is appended per line (empty lines included).  The vocabulary is
built from the training split in order of first occurrence, with ``<eos>``
being the first word of the first line's end, exactly as in the PyTorch
``word_language_model`` example.  Every stored ``.gz`` file and its
decompressed text are checked against the sha256 sums of ``data/README.md``
when loaded; a mismatch raises :class:`nmsim.errors.DatasetError`.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from nmsim.errors import DatasetError
from nmsim.paths import data_dir

EOS = "<eos>"
SPLITS = ("train", "valid", "test")

#: dataset name -> directory under data/
DATASET_DIRS = {"ptb": "ptb", "wikitext-2": "wikitext-2"}
#: aliases accepted on the command line
ALIASES = {"ptb": "ptb", "wikitext-2": "wikitext-2", "wt2": "wikitext-2", "wikitext2": "wikitext-2"}

#: sha256 of the stored .gz files and of the decompressed text (data/README.md)
SHA256_GZ = {
    ("ptb", "train"): "c4c6455d85f60640431f7bc738d51265ba2d55dcce10e8906322d6f9e3dcca81",
    ("ptb", "valid"): "f2148d96d82f827399b7e5040868a4541bd2d2612ebaf5a2ff213bc07fd74eb8",
    ("ptb", "test"): "5015d206077ff3e96161868c5c280ec8a28e9ad5617ef99ee0e734aaef6130c5",
    ("wikitext-2", "train"): "0c202e0b5d919429261b7291d9b5998f0db680c0a6700c0ff2a886d0abe055d4",
    ("wikitext-2", "valid"): "3ac34ae2b6509075d52302c50a04a8a1970739ffe1a904f2cd374fefbea3cbf2",
    ("wikitext-2", "test"): "a2b26b5d2619cc1f6cd34c8e116a451aed09af51479346aadfbf508ceb8b192e",
}
SHA256_TEXT = {
    ("ptb", "train"): "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    ("ptb", "valid"): "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    ("ptb", "test"): "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    ("wikitext-2", "train"): "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
    ("wikitext-2", "valid"): "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
    ("wikitext-2", "test"): "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
}
#: tokens incl. <eos> per split and vocabulary sizes (data/README.md)
N_TOKENS = {
    ("ptb", "train"): 929_589, ("ptb", "valid"): 73_760, ("ptb", "test"): 82_430,
    ("wikitext-2", "train"): 2_088_628, ("wikitext-2", "valid"): 217_646,
    ("wikitext-2", "test"): 245_569,
}
VOCAB_SIZE = {"ptb": 10_000, "wikitext-2": 33_278}


def canonical_name(dataset: str) -> str:
    """Map a user-given dataset name (``ptb``, ``wt2``, ``wikitext-2``) to its canonical name."""
    key = str(dataset).strip().lower()
    if key not in ALIASES:
        raise DatasetError(
            f"unknown dataset {dataset!r} (known: ptb, wikitext-2 / wt2)"
        )
    return ALIASES[key]


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    return split


def split_path(dataset: str, split: str, root: Path | None = None) -> Path:
    ds = canonical_name(dataset)
    _check_split(split)
    return Path(root or data_dir()) / DATASET_DIRS[ds] / f"{split}.txt.gz"


@lru_cache(maxsize=16)
def _read_text(dataset: str, split: str, root: str) -> str:
    path = split_path(dataset, split, Path(root))
    if not path.is_file():
        raise DatasetError(f"dataset file missing: {path}")
    raw = path.read_bytes()
    got = hashlib.sha256(raw).hexdigest()
    if got != SHA256_GZ[(dataset, split)]:
        raise DatasetError(
            f"checksum mismatch for {path}: sha256 {got[:16]}..., expected "
            f"{SHA256_GZ[(dataset, split)][:16]}... (file altered or corrupted)"
        )
    try:
        text_bytes = gzip.decompress(raw)
    except (OSError, EOFError) as exc:  # pragma: no cover - guarded by sha above
        raise DatasetError(f"cannot decompress {path}: {exc}") from None
    got = hashlib.sha256(text_bytes).hexdigest()
    if got != SHA256_TEXT[(dataset, split)]:  # pragma: no cover
        raise DatasetError(f"checksum mismatch for decompressed {path}")
    return text_bytes.decode("utf-8")


def read_words(dataset: str, split: str, root: Path | None = None) -> list[str]:
    """All tokens of a split (whitespace split, one ``<eos>`` per line)."""
    ds = canonical_name(dataset)
    _check_split(split)
    text = _read_text(ds, split, str(root or data_dir()))
    words: list[str] = []
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        words.extend(line.split())
        words.append(EOS)
    return words


class Vocab:
    """Word <-> id mapping.  Ids follow first occurrence in the training split."""

    def __init__(self, words: list[str]):
        self.itos: list[str] = list(words)
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise DatasetError("vocabulary has duplicate words")
        if EOS not in self.stoi:
            raise DatasetError("vocabulary lacks <eos>")

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def from_words(cls, words: list[str]) -> "Vocab":
        seen: dict[str, None] = {}
        for w in words:
            if w not in seen:
                seen[w] = None
        return cls(list(seen))

    def encode(self, words: list[str]) -> np.ndarray:
        try:
            return np.fromiter((self.stoi[w] for w in words), dtype=np.int64, count=len(words))
        except KeyError as exc:
            raise DatasetError(f"word {exc.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> list[str]:
        return [self.itos[int(i)] for i in ids]


@dataclass
class Corpus:
    name: str
    vocab: Vocab
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def split(self, split: str) -> np.ndarray:
        return getattr(self, _check_split(split))


@lru_cache(maxsize=4)
def _load_corpus(ds: str, root: str) -> Corpus:
    train_words = read_words(ds, "train", Path(root))
    vocab = Vocab.from_words(train_words)
    return Corpus(
        name=ds,
        vocab=vocab,
        train=vocab.encode(train_words),
        valid=vocab.encode(read_words(ds, "valid", Path(root))),
        test=vocab.encode(read_words(ds, "test", Path(root))),
    )


def load_corpus(dataset: str, root: Path | None = None) -> Corpus:
    """Load (and checksum) all three splits of ``dataset``; cached per process."""
    return _load_corpus(canonical_name(dataset), str(root or data_dir()))


def tokenize(vocab: Vocab, text: str) -> np.ndarray:
    """Encode free text with the corpus convention (one ``<eos>`` per line)."""
    words: list[str] = []
    for line in text.splitlines():
        words.extend(line.split())
        words.append(EOS)
    return vocab.encode(words)


def batchify(tokens: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut the stream into ``batch_size`` contiguous columns: shape (n_steps, batch_size).

    Trailing tokens that do not fill a full row are dropped (as in the reference).
    """
    n = len(tokens) // batch_size
    return np.ascontiguousarray(tokens[: n * batch_size].reshape(batch_size, n).T)


def bptt_windows(n_steps: int, base: int, rng: np.random.Generator | None,
                 p_full: float = 0.95, std: float = 5.0, min_len: int = 5):
    """Yield ``(start, seq_len)`` windows over ``n_steps`` rows of a batchified stream.

    With ``rng`` (training): variable-length BPTT as in the reference -- base
    length ``base`` with probability ``p_full`` else ``base / 2``, then
    ``N(len, std)``, floored at ``min_len``.  Without ``rng`` (evaluation):
    fixed windows of ``base``.  Each window predicts tokens ``start+1 ..
    start+seq_len``.
    """
    i = 0
    while i < n_steps - 1:
        if rng is None:
            seq_len = base
        else:
            b = base if rng.random() < p_full else base / 2.0
            seq_len = max(min_len, int(rng.normal(b, std)))
        seq_len = min(seq_len, n_steps - 1 - i)
        yield i, seq_len
        i += seq_len
