"""`mine` and `curate` with ``--executor ray`` on a real local Ray instance give what ``--executor local`` gives;
embedding shards resume; ``--embeddings`` takes a shard folder."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from codecurate.cli import main
from codecurate.curate import shards
from codecurate.curate.coreset import CurateConfig
from codecurate.curate.coreset import run as curate_run
from codecurate.curate.embed import embed_texts, text_digests, texts_for
from codecurate.errors import UserError

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SHARD_ROWS = 32  # small shards so a ~110-record pool spans several of them and both actors get work


def _tree(root: Path) -> Path:
    """Two stdlib packages (~110 kept functions) plus one file that does not parse and one that is not UTF-8."""
    for pkg in ("json", "http"):
        shutil.copytree(STDLIB / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "broken.py").write_text("def f(:\n    pass\n")
    (root / "latin.py").write_bytes(b'def g():\n    """Caf\xe9."""\n    return 1\n')
    return root


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def mined(ray_local, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("mine")
    tree = _tree(base / "tree")
    out = {}
    for executor in ("local", "ray"):
        out[executor] = base / f"seeds-{executor}.jsonl"
        assert main(["mine", "-q", str(tree), "--executor", executor, "-o", str(out[executor])]) == 0
    return out


@pytest.mark.slow
def test_mine_ray_same_records_and_counts(mined: dict[str, Path]) -> None:
    local, ray = mined["local"], mined["ray"]
    assert len(_lines(local)) > 80
    assert ray.read_bytes() == local.read_bytes()  # same records, same order
    counts = [json.loads(Path(f"{p}.manifest.json").read_text())["counts"] for p in (local, ray)]
    assert counts[0] == counts[1]
    assert counts[1]["files_skipped"] == {"not_utf8": 1, "syntax_error": 1}


def _curate(seeds: Path, out: Path, executor: str, method: str, **kw) -> dict:
    cache = str(out.parent / "cache")
    cfg = CurateConfig(input=str(seeds), output=str(out), n=12, method=method, executor=executor,
                       encoder_backend="fp32", chunk_size=SHARD_ROWS, cache_dir=cache, **kw)  # fmt: skip
    return curate_run(cfg)


@pytest.mark.slow
def test_curate_ray_same_embeddings_and_coreset_then_resume(mined: dict[str, Path], tmp_path: Path) -> None:
    seeds = mined["local"]
    records = _lines(seeds)
    ray_out, local_out = tmp_path / "ray" / "coreset.jsonl", tmp_path / "local" / "coreset.jsonl"
    summary = _curate(seeds, ray_out, "ray", "kcenter", ray_workers=2)
    folder = tmp_path / "ray" / "coreset.embeddings"
    assert summary["embedded"] == len(records) and summary["embeddings"] == str(folder)
    index = json.loads((folder / "index.json").read_text())
    n_shards = -(-len(records) // SHARD_ROWS)
    assert index["complete"] and index["rows"] == len(records) and index["dim"] == 384
    assert [s["rows"] for s in index["shards"]] == [SHARD_ROWS] * (n_shards - 1) + [len(records) % SHARD_ROWS]

    for method in ("kcenter", "kmeans"):
        if method == "kmeans":  # the shards are reused: Ray embeds nothing the second time
            assert _curate(seeds, ray_out, "ray", method)["embedded"] == 0
        _curate(seeds, local_out, "local", method)
        assert [r["id"] for r in _lines(ray_out)] == [r["id"] for r in _lines(local_out)], method

    X_ray = np.load(folder / "embeddings.npy")
    # The local runs above filled their cache, so this reads the vectors `--executor local` selected on.
    X_local, st = embed_texts(texts_for(records), backend="fp32", device="cpu", cache=local_out.parent / "cache")
    assert st["embedded"] == 0
    np.testing.assert_allclose(X_ray, X_local, atol=1e-5, rtol=0)

    # Resume: one shard lost its commit mark (as if killed between vectors and keys); only it is recomputed.
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.glob("shard-*.npy")}
    (folder / "shard-00002.keys.npy").unlink()
    summary = _curate(seeds, ray_out, "ray", "kcenter")
    assert summary["embedded"] == SHARD_ROWS and summary["cached"] == len(records) - SHARD_ROWS
    changed = {p.name for p in folder.glob("shard-*.npy") if mtimes.get(p.name) != p.stat().st_mtime_ns}
    assert changed == {"shard-00002.npy", "shard-00002.keys.npy"}
    np.testing.assert_allclose(np.load(folder / "embeddings.npy"), X_ray, atol=1e-5, rtol=0)

    # The shard folder is a precomputed-embeddings input for a later run.
    assert main(["curate", "-q", str(seeds), "--embeddings", str(folder), "-n", "12",
                 "-o", str(tmp_path / "again.jsonl")]) == 0  # fmt: skip
    assert [r["id"] for r in _lines(tmp_path / "again.jsonl")] == [r["id"] for r in _lines(ray_out)]


def _fake_folder(folder: Path, texts: list[str], shard_rows: int, settings: dict) -> np.ndarray:
    X = np.random.default_rng(0).standard_normal((len(texts), 8)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    digests = text_digests(texts)
    folder.mkdir(parents=True)
    for i, (s, e) in enumerate(shards.shard_bounds(len(texts), shard_rows)):
        shards.write_shard(folder, i, X[s:e], digests[s:e])
    index = shards.write_index(folder, settings, len(texts), shard_rows, 8, complete=False)
    shards.assemble(folder, index)
    shards.write_index(folder, settings, len(texts), shard_rows, 8, complete=True)
    return X


def test_finished_shards_follow_texts_and_settings(tmp_path: Path) -> None:
    texts = [f"text {i}" for i in range(10)]
    settings = {"encoder": "minilm", "backend": "fp32", "max_seq_length": 0}
    X = _fake_folder(tmp_path / "emb", texts, 4, settings)
    np.testing.assert_array_equal(shards.open_shards(tmp_path / "emb"), X)
    edited = texts[:5] + ["changed"] + texts[6:]
    assert shards.finished_shards(tmp_path / "emb", text_digests(edited), 4, settings) == [True, False, True]
    other = {**settings, "backend": "bf16"}
    assert shards.finished_shards(tmp_path / "emb", text_digests(texts), 4, other) == [False] * 3
    assert shards.finished_shards(tmp_path / "emb", text_digests(texts), 5, settings) == [False] * 2
    # A job with other settings drops the old commit marks first, so its own index never vouches for old shards.
    assert shards.discard_stale(tmp_path / "emb", settings, 4) == 0
    assert shards.discard_stale(tmp_path / "emb", other, 4) == 3
    shards.write_index(tmp_path / "emb", other, len(texts), 4, None, complete=False)
    assert shards.finished_shards(tmp_path / "emb", text_digests(texts), 4, other) == [False] * 3
    shards.write_index(tmp_path / "emb", settings, len(texts), 4, 8, complete=True)
    (tmp_path / "emb" / "embeddings.npy").unlink()  # a lost matrix is rebuilt from the shards
    np.testing.assert_array_equal(shards.open_shards(tmp_path / "emb"), X)
    (tmp_path / "emb" / "embeddings.npy").unlink()
    (tmp_path / "emb" / "shard-00001.npy").write_bytes(b"torn")
    with pytest.raises(UserError, match="shard-00001"):
        shards.open_shards(tmp_path / "emb")


def test_embeddings_folder_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    texts = [f"def f{i}(): return {i}" for i in range(6)]
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"code": t, "language": "python"}) + "\n" for t in texts))
    folder = tmp_path / "emb"
    _fake_folder(folder, texts, 4, {"encoder": "minilm", "backend": "fp32", "max_seq_length": 0})
    index = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**index, "complete": False}))
    with pytest.raises(UserError, match="incomplete"):
        shards.open_shards(folder)
    (folder / "index.json").write_text(json.dumps(index))
    seeds.write_text(seeds.read_text() + json.dumps({"code": "x = 1", "language": "python"}) + "\n")
    rc = main(["curate", "-q", str(seeds), "--embeddings", str(folder), "-n", "2", "-o", str(tmp_path / "c.jsonl")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "expected shape (7, d)" in err
    assert not (tmp_path / "c.jsonl").exists()
