"""Embedding cache: hits, misses, duplicates, torn chunks; one check with the real MiniLM encoder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from codecurate.curate import embed
from codecurate.curate.embed import EncoderSettings, embed_texts, encoder_settings, texts_for


class FakeEncoder:
    """Deterministic vectors from the text hash; records what it was asked to encode."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.batch_sizes: list[object] = []

    def encode(self, texts: list[str], **kw: object):
        import torch

        self.seen.extend(texts)
        self.batch_sizes.append(kw.get("batch_size"))
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


def test_encoder_settings_travel_as_one_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The curate flags --encoder ... --max-seq-length form one `EncoderSettings` section, and the embedding code
    loads the encoder from that object (names as the flags, no renames on the way)."""
    import json

    from codecurate.cli import main
    from codecurate.config import from_dict, to_dict
    from codecurate.curate.coreset import CurateConfig

    enc = FakeEncoder()
    loads: list[tuple] = []
    monkeypatch.setattr(embed, "load_encoder", lambda *a: loads.append(a) or enc)
    pool = tmp_path / "seeds.jsonl"
    pool.write_text("".join(json.dumps({"code": f"def f{i}(): return {i}", "language": "python"}) + "\n"
                            for i in range(9)))  # fmt: skip
    rc = main(
        [
            "curate",
            "-q",
            str(pool),
            "-n",
            "3",
            "-o",
            str(tmp_path / "c.jsonl"),
            "--encoder-backend",
            "fp32",
            "--device",
            "cpu",
            "--batch-size",
            "5",
            "--max-seq-length",
            "64",
            "--cache-dir",
            str(tmp_path / "k"),
        ]
    )
    assert rc == 0 and loads == [("minilm", "fp32", "cpu", 64)] and set(enc.batch_sizes) == {5}
    cfg = from_dict(CurateConfig, {"input": "s.jsonl", "encoder_backend": "fp32", "device": "cpu", "batch_size": 5})
    assert cfg.encoding == EncoderSettings(encoder_backend="fp32", device="cpu", batch_size=5)
    nested = {"input": "s.jsonl", "encoding": {"encoder_backend": "fp32", "device": "cpu", "batch_size": 5}}
    assert from_dict(CurateConfig, nested) == cfg == CurateConfig("s.jsonl", encoder_backend="fp32", device="cpu",
                                                                  batch_size=5)  # fmt: skip
    with pytest.deprecated_call():  # flat reads stay for older callers, as deprecated aliases
        assert cfg.device == "cpu" and cfg.executor == "local"
    assert set(to_dict(cfg)) == set(CURATE_KEYS)  # flags, YAML and manifest keys as before the sections
    manifest = json.loads((tmp_path / "c.jsonl.manifest.json").read_text())
    assert set(manifest["config"]) == set(CURATE_KEYS) and manifest["config"]["max_seq_length"] == 64
    # Library callers may still name fields one by one (backend= is encoder_backend=); both forms share a cache.
    _, a = embed_texts(["x"], EncoderSettings(encoder_backend="fp32", device="cpu"), cache=tmp_path / "k2")
    _, b = embed_texts(["x"], backend="fp32", device="cpu", cache=tmp_path / "k2")
    assert a["cache_dir"] == b["cache_dir"] and b["embedded"] == 0
    with pytest.raises(TypeError):
        encoder_settings(None, precision="fp32")


# CurateConfig's keys before EncoderSettings and RayOptions became its sections.
CURATE_KEYS = {
    "input",
    "output",
    "n",
    "method",
    "seed",
    "quota",
    "initial",
    "embed_field",
    "encoder",
    "encoder_backend",
    "device",
    "batch_size",
    "max_seq_length",
    "embeddings",
    "cache_dir",
    "cache",
    "chunk_size",
    "executor",
    "ray_address",
    "ray_workers",
    "ray_gpus_per_worker",
    "kmeans_iter",
    "kmeans_sample",
    "report",
    "map_points",
}


@pytest.mark.slow
def test_real_minilm_cached_equals_fresh(tmp_path: Path) -> None:
    texts = ["def add(a, b):\n    return a + b", "def sub(a, b):\n    return a - b", "class A:\n    pass"]
    X, st = embed_texts(texts, encoder="minilm", backend="fp32", device="cpu", cache=tmp_path)
    assert X.shape == (3, 384) and st["embedded"] == 3
    Y, st2 = embed_texts(texts, encoder="minilm", backend="fp32", device="cpu", cache=tmp_path)
    assert st2["embedded"] == 0 and np.array_equal(X, Y)
    sims = X @ X.T
    assert sims[0, 1] > sims[0, 2]  # add/sub are closer to each other than to a class


@pytest.mark.parametrize("damage", ["truncate vectors", "zero vectors", "truncate keys", "empty keys"])
def test_damaged_chunk_is_reported_deleted_and_embedded_again(
    tmp_path: Path, fake: FakeEncoder, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    texts = [f"t{i}" for i in range(6)]
    X, st = embed_texts(texts, backend="fp32", device="cpu", cache=tmp_path, chunk_size=2)
    keys = sorted(Path(st["cache_dir"]).glob("*.keys.npy"))[1]
    vecs = keys.with_name(keys.name.replace(".keys.npy", ".npy"))
    if damage == "truncate vectors":  # a partial copy between machines
        vecs.write_bytes(vecs.read_bytes()[:-20])
    elif damage == "zero vectors":  # same size, data gone (a crash before the blocks reached the disk)
        data = vecs.read_bytes()
        vecs.write_bytes(data[:128] + bytes(len(data) - 128))
    elif damage == "truncate keys":
        keys.write_bytes(keys.read_bytes()[:100])
    else:
        keys.write_bytes(b"")
    fake.seen.clear()
    with caplog.at_level("WARNING"):
        Y, st2 = embed_texts(texts, backend="fp32", device="cpu", cache=tmp_path, chunk_size=2)
    assert len(fake.seen) == 2 and st2["embedded"] == 2 and st2["cached"] == 4
    assert np.array_equal(X, Y)
    warned = [m for m in caplog.messages if "damaged cache chunk" in m]
    assert len(warned) == 1 and str(vecs) in warned[0]
    # Healed: a third run embeds nothing and warns about nothing.
    fake.seen.clear()
    caplog.clear()
    Z, st3 = embed_texts(texts, backend="fp32", device="cpu", cache=tmp_path, chunk_size=2)
    assert st3["embedded"] == 0 and np.array_equal(X, Z) and not caplog.messages


def test_shards_heal_a_damaged_shard_and_matrix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from codecurate.curate import shards

    texts = [f"t{i}" for i in range(10)]
    digests = embed.text_digests(texts)
    X = np.random.default_rng(0).standard_normal((10, 8)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    settings = {"encoder": "e", "backend": "fp32", "max_seq_length": 0}
    for i, (s, e) in enumerate(shards.shard_bounds(10, 4)):
        shards.write_shard(tmp_path, i, X[s:e], digests[s:e])
    index = shards.write_index(tmp_path, settings, 10, 4, 8, complete=True)
    shards.assemble(tmp_path, index)
    assert shards.finished_shards(tmp_path, digests, 4, settings) == [True, True, True]

    shard1 = tmp_path / "shard-00001.npy"
    shard1.write_bytes(shard1.read_bytes()[:-4])  # truncated
    matrix = tmp_path / "embeddings.npy"
    matrix.write_bytes(matrix.read_bytes()[:-8])
    with caplog.at_level("WARNING"):
        assert shards.finished_shards(tmp_path, digests, 4, settings) == [True, False, True]
    assert not shard1.exists() and not (tmp_path / "shard-00001.keys.npy").exists()
    assert any("damaged shard" in m and str(shard1) in m for m in caplog.messages)
    shards.write_shard(tmp_path, 1, X[4:8], digests[4:8])  # what the rerun does for the missing shard
    assert np.array_equal(shards.open_shards(tmp_path), X)  # the damaged matrix is rebuilt from the shards
    assert any("damaged matrix" in m for m in caplog.messages)

    # Same size, rows zeroed: caught by the row check, and open_shards refuses to build from it in one line.
    data = shard1.read_bytes()
    shard1.write_bytes(data[:128] + bytes(len(data) - 128))
    matrix.unlink()
    with pytest.raises(embed.UserError, match=r"shard-00001\.npy: damaged shard \(row 0 is not a unit vector"):
        shards.open_shards(tmp_path)
    assert not matrix.exists() and not list(tmp_path.glob(".*.tmp"))
