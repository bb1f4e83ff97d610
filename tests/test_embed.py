"""Embedding cache: hits, misses, duplicates, torn chunks; one check with the real MiniLM encoder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from codecurate.curate import embed
from codecurate.curate.embed import embed_texts, texts_for


class FakeEncoder:
    """Deterministic vectors from the text hash; records what it was asked to encode."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str], **_: object):
        import torch

        self.seen.extend(texts)
        seeds = [int(hashlib.md5(t.encode()).hexdigest()[:8], 16) for t in texts]
        return torch.tensor(np.stack([np.random.default_rng(s).standard_normal(8) for s in seeds]), dtype=torch.float32)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEncoder:
    enc = FakeEncoder()
    monkeypatch.setattr(embed, "load_encoder", lambda *a, **k: enc)
    return enc


def test_texts_for_fields() -> None:
    code = "def f():\n    '''Doc.'''\n    return 1"
    recs = [{"code": code, "docstring": "Doc.", "code_no_docstring": "def f():\n    return 1"}, {"code": "x = 1"}]
    assert texts_for(recs, "code") == [recs[0]["code"], "x = 1"]
    assert texts_for(recs, "docstring") == ["Doc.", ""]
    assert texts_for(recs, "both") == ["Doc.\ndef f():\n    return 1", "x = 1"]


def test_cache_reuse_and_duplicates(tmp_path: Path, fake: FakeEncoder) -> None:
    texts = [f"def f{i}(): return {i}" for i in range(10)] + ["def f3(): return 3"]
    X, st = embed_texts(texts, backend="fp32", device="cpu", cache=tmp_path, chunk_size=4)
    assert X.shape == (11, 8) and X.dtype == np.float32
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(X[3], X[10])  # a duplicate text gets the same vector, embedded once
    assert st["embedded"] == 10 and st["cached"] == 0 and len(fake.seen) == 10
    assert len(list(Path(st["cache_dir"]).glob("*.keys.npy"))) == 3  # 10 unique texts in chunks of 4

    fake.seen.clear()
    more = texts + ["def g(): pass"]
    Y, st2 = embed_texts(more, backend="fp32", device="cpu", cache=tmp_path, chunk_size=4)
    assert fake.seen == ["def g(): pass"]
    assert st2["embedded"] == 1 and st2["cached"] == 11
    assert np.array_equal(Y[:11], X)


def test_torn_chunk_is_recomputed(tmp_path: Path, fake: FakeEncoder) -> None:
    texts = [f"t{i}" for i in range(6)]
    X, st = embed_texts(texts, backend="fp32", device="cpu", cache=tmp_path, chunk_size=2)
    # A kill between the vectors and the keys file leaves vectors without keys: that chunk is not trusted.
    keys = sorted(Path(st["cache_dir"]).glob("*.keys.npy"))
    keys[0].unlink()
    fake.seen.clear()
    Y, st2 = embed_texts(texts, backend="fp32", device="cpu", cache=tmp_path, chunk_size=2)
    assert len(fake.seen) == 2 and st2["embedded"] == 2 and st2["cached"] == 4
    assert np.array_equal(X, Y)


def test_cache_separates_settings(tmp_path: Path, fake: FakeEncoder) -> None:
    _, a = embed_texts(["x"], backend="fp32", device="cpu", cache=tmp_path)
    _, b = embed_texts(["x"], backend="bf16", device="cpu", cache=tmp_path)
    _, c = embed_texts(["x"], backend="fp32", device="cpu", cache=tmp_path, max_seq_length=64)
    assert len({a["cache_dir"], b["cache_dir"], c["cache_dir"]}) == 3
    assert b["embedded"] == c["embedded"] == 1
    _, d = embed_texts(["x"], backend="fp32", device="cpu", cache=tmp_path, use_cache=False)
    assert d["embedded"] == 1


@pytest.mark.slow
def test_real_minilm_cached_equals_fresh(tmp_path: Path) -> None:
    texts = ["def add(a, b):\n    return a + b", "def sub(a, b):\n    return a - b", "class A:\n    pass"]
    X, st = embed_texts(texts, encoder="minilm", backend="fp32", device="cpu", cache=tmp_path)
    assert X.shape == (3, 384) and st["embedded"] == 3
    Y, st2 = embed_texts(texts, encoder="minilm", backend="fp32", device="cpu", cache=tmp_path)
    assert st2["embedded"] == 0 and np.array_equal(X, Y)
    sims = X @ X.T
    assert sims[0, 1] > sims[0, 2]  # add/sub are closer to each other than to a class
