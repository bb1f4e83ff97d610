"""`codecurate curate` end to end: outputs, report, manifest, bad input, and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from codecurate.cli import main


def write_pool(path: Path, n: int = 60) -> list[dict]:
    langs = ["python", "go", "java"]
    recs = [{"id": f"r{i}", "code": f"def f{i}(x):\n    return x * {i}", "language": langs[i % 3], "docstring": "d"}
            for i in range(n)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return recs


def write_embeddings(path: Path, n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    np.save(path, X)
    return X


def curate(*args: str) -> int:
    return main(["curate", "-q", *args])


@pytest.mark.parametrize("method", ["kcenter", "kmeans", "random"])
def test_outputs_report_and_manifest(tmp_path: Path, method: str) -> None:
    pool = write_pool(tmp_path / "seeds.jsonl")
    write_embeddings(tmp_path / "emb.npy", len(pool))
    out = tmp_path / "run" / "coreset.jsonl"
    rc = curate(str(tmp_path / "seeds.jsonl"), "--embeddings", str(tmp_path / "emb.npy"), "-n", "12",
                "--method", method, "-o", str(out), "--report")  # fmt: skip
    assert rc == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12
    by_id = {r["id"]: r for r in pool}
    for rank, r in enumerate(rows):
        sel = r.pop("selection")
        assert r == by_id[r["id"]]  # source fields kept unchanged
        assert sel["method"] == method and sel["rank"] == rank and isinstance(sel["cluster"], int)
    report = json.loads((tmp_path / "run" / "coreset.report.json").read_text())
    assert report["method"] == method and report["n"] == 12 and report["pool_size"] == 60
    assert sum(int(size) * count for size, count in report["cluster_sizes"].items()) == 60
    assert {"covering_radius", "mean_nearest_distance"} <= set(report["random"])
    assert (tmp_path / "run" / "coreset.map.png").read_bytes()[:4] == b"\x89PNG"
    manifest = json.loads((tmp_path / "run" / "coreset.jsonl.manifest.json").read_text())
    assert manifest["stage"] == "curate"
    assert manifest["counts"] == {"pool": 60, "selected": 12, "embedded": 0, "cached": 0}


def test_quota_and_initial(tmp_path: Path) -> None:
    write_pool(tmp_path / "seeds.jsonl")
    write_embeddings(tmp_path / "emb.npy", 60)
    (tmp_path / "init.jsonl").write_text('{"id": "r7"}\n{"id": "r1"}\n')
    out = tmp_path / "c.jsonl"
    rc = curate(str(tmp_path / "seeds.jsonl"), "--embeddings", str(tmp_path / "emb.npy"), "-n", "10", "-o", str(out),
                "--initial", str(tmp_path / "init.jsonl"))  # fmt: skip
    assert rc == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()][:2] == ["r7", "r1"]
    rc = curate(str(tmp_path / "seeds.jsonl"), "--embeddings", str(tmp_path / "emb.npy"), "-n", "10", "-o", str(out),
                "--quota", "python=6", "go=0.2")  # fmt: skip
    assert rc == 0
    langs = [json.loads(line)["language"] for line in out.read_text().splitlines()]
    assert (langs.count("python"), langs.count("go"), langs.count("java")) == (6, 2, 2)


BAD = {
    "malformed": ('{"code": "x", "language": "python"}\n{"code": "y", "language": \n', "seeds.jsonl:2: invalid JSON"),
    "missing": ('{"code": "x", "language": "python"}\n{"code": "y"}\n', "seeds.jsonl:2: field 'language'"),
    "not_string": ('{"code": 3, "language": "python"}\n', "seeds.jsonl:1: field 'code': expected a string"),
    "empty": ("\n", "seeds.jsonl: empty input"),
    "too_many": ('{"code": "x", "language": "python"}\n' * 3, "-n 5 is larger than the pool (3 records)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_one_line_error_no_output(tmp_path: Path, capsys: pytest.CaptureFixture, case: str) -> None:
    content, expected = BAD[case]
    (tmp_path / "seeds.jsonl").write_text(content)
    out = tmp_path / "out" / "coreset.jsonl"
    assert curate(str(tmp_path / "seeds.jsonl"), "-n", "5", "-o", str(out), "--report") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("codecurate curate: error: ") and expected in err and "\n" not in err
    assert not out.exists() and not list(tmp_path.glob("out/*"))


def test_kmeans_sample_smaller_than_n_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "seeds.jsonl").write_text('{"code": "x", "language": "python"}\n' * 8)
    args = ("-n", "5", "--method", "kmeans", "--kmeans-sample", "3", "-o", str(tmp_path / "c.jsonl"))
    assert curate(str(tmp_path / "seeds.jsonl"), *args) == 2
    assert "--kmeans-sample must be 0 or at least -n (5)" in capsys.readouterr().err


def test_unreadable_paths(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert curate(str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "c.jsonl")) == 2
    assert "nope.jsonl: no such file" in capsys.readouterr().err
    assert curate(str(tmp_path), "-o", str(tmp_path / "c.jsonl")) == 2
    assert "is a directory" in capsys.readouterr().err
    write_pool(tmp_path / "seeds.jsonl", 6)
    np.save(tmp_path / "emb.npy", np.ones((5, 4), dtype=np.float32))
    assert curate(str(tmp_path / "seeds.jsonl"), "-n", "2", "--embeddings", str(tmp_path / "emb.npy")) == 2
    assert "expected shape (6, d)" in capsys.readouterr().err
    (tmp_path / "init.jsonl").write_text('{"id": "zzz"}\n')
    assert curate(str(tmp_path / "seeds.jsonl"), "-n", "2", "--initial", str(tmp_path / "init.jsonl")) == 2
    assert "init.jsonl:1: field 'id': 'zzz' is not in the input pool" in capsys.readouterr().err


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One uninterrupted run with the real encoder on ~300 mined stdlib functions, shared by the slow tests."""
    tmp = tmp_path_factory.mktemp("real")
    seeds = tmp / "seeds.jsonl"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    assert main(["mine", "-q", str(stdlib / "http"), str(stdlib / "email"), "-o", str(seeds)]) == 0
    args = [str(seeds), "-n", "15", "--chunk-size", "8", "--batch-size", "8", "--report"]
    out = tmp / "coreset.jsonl"
    assert curate(*args, "--cache-dir", str(tmp / "cache"), "-o", str(out)) == 0
    return {"tmp": tmp, "seeds": seeds, "args": args, "out": out, "pool": sum(1 for _ in seeds.open())}


@pytest.mark.slow
def test_end_to_end_real_encoder(real_run: dict) -> None:
    tmp, pool = real_run["tmp"], real_run["pool"]
    report = json.loads((tmp / "coreset.report.json").read_text())
    assert pool > 200 and report["pool_size"] == pool and report["n"] == 15
    assert report["covering_radius"] <= report["random"]["covering_radius"]
    manifest = json.loads((tmp / "coreset.jsonl.manifest.json").read_text())
    assert manifest["counts"]["embedded"] == pool and manifest["counts"]["cached"] == 0
    # Another size and method reuse every cached vector.
    km = tmp / "km.jsonl"
    assert curate(str(real_run["seeds"]), "-n", "30", "--method", "kmeans", "--cache-dir", str(tmp / "cache"),
                  "-o", str(km)) == 0  # fmt: skip
    counts = json.loads((tmp / "km.jsonl.manifest.json").read_text())["counts"]
    assert counts["embedded"] == 0 and counts["cached"] == pool
    assert len(km.read_text().splitlines()) == 30


@pytest.mark.slow
def test_sigkill_during_embedding_then_resume(real_run: dict, tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "coreset.jsonl"
    args = [*real_run["args"], "--cache-dir", str(cache), "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "codecurate", "curate", "-q", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while not list(cache.glob("*/*.keys.npy")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(cache.glob("*/*.keys.npy")))
    assert 0 < done < real_run["pool"] / 8, "the kill should land mid-embedding"
    assert not out.exists()

    assert curate(*args) == 0
    counts = json.loads((tmp_path / "coreset.jsonl.manifest.json").read_text())["counts"]
    assert counts["cached"] >= 8 * done and counts["embedded"] + counts["cached"] == real_run["pool"]
    assert out.read_bytes() == real_run["out"].read_bytes()  # same coreset as the uninterrupted run
