"""Dataset loading, checksums, vocabulary and batching (torch-free)."""

import gzip
import shutil

import numpy as np
import pytest

from nmsim.errors import DatasetError
from nmsim.lm import data as D


def test_ptb_counts_and_vocab():
    c = D.load_corpus("ptb")
    # figures from data/README.md
    assert len(c.vocab) == 10_000
    assert (len(c.train), len(c.valid), len(c.test)) == (929_589, 73_760, 82_430)
    assert "<eos>" in c.vocab.stoi and "<unk>" in c.vocab.stoi
    first = "consumers may want to move their telephones a little closer to the tv set".split()
    assert c.vocab.decode(c.valid[: len(first) + 1]) == first + ["<eos>"]
    # ids follow first occurrence in train
    assert c.train[0] == 0 and c.vocab.stoi[c.vocab.itos[5]] == 5
    assert int(c.train.max()) == 9_999


def test_wikitext2_counts():
    c = D.load_corpus("wt2")
    assert c.name == "wikitext-2"
    assert len(c.vocab) == 33_278
    assert (len(c.train), len(c.valid), len(c.test)) == (2_088_628, 217_646, 245_569)
    # the train file starts with an empty line -> first token is <eos>
    assert c.vocab.itos[c.train[0]] == "<eos>"
    assert c.vocab.decode(c.train[1:5]) == ["=", "Valkyria", "Chronicles", "III"]


def test_unknown_dataset_split_and_oov():
    with pytest.raises(DatasetError, match="unknown dataset 'imdb'"):
        D.load_corpus("imdb")
    with pytest.raises(DatasetError, match="unknown split"):
        D.read_words("ptb", "dev")
    v = D.load_corpus("ptb").vocab
    with pytest.raises(DatasetError, match="'zyzzyva' is not in the vocabulary"):
        D.tokenize(v, "the zyzzyva")
    assert list(D.tokenize(v, "the cat\n")) == [v.stoi["the"], v.stoi["cat"], v.stoi["<eos>"]]


def test_checksum_failure(tmp_path):
    src = D.split_path("ptb", "valid")
    (tmp_path / "ptb").mkdir()
    text = gzip.decompress(src.read_bytes()).replace(b"consumers", b"customers")
    (tmp_path / "ptb" / "valid.txt.gz").write_bytes(gzip.compress(text))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        D.read_words("ptb", "valid", root=tmp_path)
    shutil.copy(src, tmp_path / "ptb" / "valid.txt.gz")  # the original passes
    assert D.read_words("ptb", "valid", root=tmp_path)[0] == "consumers"
    with pytest.raises(DatasetError, match="missing"):
        D.read_words("ptb", "test", root=tmp_path)


def test_batchify_and_windows():
    toks = np.arange(103)
    b = D.batchify(toks, 4)
    assert b.shape == (25, 4)
    assert list(b[:, 1]) == list(range(25, 50))  # contiguous columns
    wins = list(D.bptt_windows(25, 7, None))
    assert wins == [(0, 7), (7, 7), (14, 7), (21, 3)]
    rng = np.random.default_rng(0)
    wins = list(D.bptt_windows(1000, 35, rng))
    assert sum(L for _, L in wins) == 999
    assert all(L >= 5 for _, L in wins[:-1])
    assert all(a + L == b for (a, L), (b, _) in zip(wins, wins[1:]))
