"""Selection on synthetic clustered unit vectors: validity, quality against random, fast path against brute force."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from codecurate.curate import select
from codecurate.curate.coreset import parse_quotas, select_by_language
from codecurate.curate.diversity import coverage, diversity_report
from codecurate.curate.select import _StaleBounds, kcenter, kmeans, random_subset
from codecurate.errors import UserError


def clustered(n: int, d: int = 32, k: int = 40, spread: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)).astype(np.float32)
    # Uneven cluster sizes, as in real code corpora: a few big families, many small ones.
    sizes = rng.dirichlet(np.full(k, 0.5))
    X = centres[rng.choice(k, size=n, p=sizes)] + spread * rng.standard_normal((n, d)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def brute_kcenter(X: np.ndarray, n: int, first: int) -> list[int]:
    """The textbook version: full distance matrix, one argmax per pick."""
    X64 = X.astype(np.float64)  # the Gram form in float64: N x N memory, not N x N x d
    sq = (X64 * X64).sum(axis=1)
    D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * X64 @ X64.T, 0.0))
    picks = [first]
    mind = D[first].copy()
    for _ in range(n - 1):
        mind[picks] = -1
        nxt = int(np.argmax(mind))
        picks.append(nxt)
        mind = np.minimum(mind, D[nxt])
    return picks


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return clustered(2000)


@pytest.mark.parametrize("method", [kcenter, kmeans, random_subset])
def test_indices_unique_from_pool(X: np.ndarray, method) -> None:
    idx, stats = method(X, 60, seed=3)
    assert idx.dtype == np.int64 and len(idx) == 60 and len(np.unique(idx)) == 60
    assert idx.min() >= 0 and idx.max() < len(X)
    assert len(stats["cluster"]) == len(stats["distance"]) == 60


@pytest.mark.parametrize("method", [kcenter, kmeans, random_subset])
def test_deterministic_for_a_seed(X: np.ndarray, method) -> None:
    a, _ = method(X, 50, seed=7)
    b, _ = method(X, 50, seed=7)
    c, _ = method(X, 50, seed=8)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kcenter_covers_better_than_random(seed: int) -> None:
    X = clustered(3000, seed=seed)
    ours, stats = kcenter(X, 80, seed=seed)
    rand, _ = random_subset(X, 80, seed=seed)
    r_ours = coverage(X, ours)["covering_radius"]
    assert r_ours == pytest.approx(stats["covering_radius"], abs=1e-5)
    assert r_ours < coverage(X, rand)["covering_radius"]


def test_kmeans_mean_distance_better_than_random(X: np.ndarray) -> None:
    ours, _ = kmeans(X, 80, seed=0)
    rand, _ = random_subset(X, 80, seed=0)
    assert coverage(X, ours)["mean_nearest_distance"] < coverage(X, rand)["mean_nearest_distance"]


def test_kcenter_pruned_matches_brute_force() -> None:
    X = clustered(600, d=16, k=12, seed=5)
    fast, stats = kcenter(X, 70, seed=4)
    plain, _ = kcenter(X, 70, seed=4, prune=False)
    assert fast.tolist() == plain.tolist() == brute_kcenter(X, 70, int(fast[0]))
    assert stats["rows_scanned"] < 70 * len(X)  # pruning really skipped rows


def test_kcenter_memmap_in_small_chunks(tmp_path: Path, X: np.ndarray) -> None:
    path = tmp_path / "pool.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    a, sa = kcenter(mm, 40, seed=1, chunk_rows=97, row_stats=True)
    b, sb = kcenter(X, 40, seed=1)
    assert np.array_equal(a, b)
    assert sa["covering_radius"] == pytest.approx(sb["covering_radius"])
    cos = 1.0 - X.astype(np.float64) @ X[a].astype(np.float64).T
    np.testing.assert_allclose(sa["min_distance"], np.maximum(cos.min(axis=1), 0.0), atol=1e-5)
    assert sa["covering_radius"] == pytest.approx(cos.min(axis=1).max(), abs=1e-5)
    assert "assign" not in sb and "min_distance" not in sb  # the lazy pass leaves them stale: only on request


def test_kcenter_initial_rows_come_first(X: np.ndarray) -> None:
    idx, stats = kcenter(X, 30, initial=[5, 9, 5, 100])
    assert idx[:3].tolist() == [5, 9, 100]
    assert len(np.unique(idx)) == 30
    assert np.isnan(stats["distance"][:3]).all() and not np.isnan(stats["distance"][3:]).any()
    # Each later pick is at least as far from earlier picks as every following one (greedy order).
    assert np.all(np.diff(stats["distance"][3:]) <= 1e-6)


@pytest.mark.parametrize("method", [kcenter, kmeans, random_subset])
def test_exactly_n_unique_with_duplicates_and_n_near_pool(method) -> None:
    base = clustered(50, d=8, k=5, seed=2)
    X = np.repeat(base, 4, axis=0)  # 200 rows, 50 distinct vectors
    for n in (49, 120, 199, 200):
        idx, _ = method(X, n, seed=0)
        assert len(idx) == n and len(np.unique(idx)) == n


def test_kmeans_reports_empty_clusters_filled() -> None:
    X = np.repeat(clustered(30, d=8, k=3, seed=1), 5, axis=0)
    idx, stats = kmeans(X, 100, seed=0)
    assert stats["empty_clusters"] > 0  # only 30 distinct points for 100 centroids
    assert len(np.unique(idx)) == 100


def test_n_out_of_range(X: np.ndarray) -> None:
    for method in (kcenter, kmeans, random_subset):
        with pytest.raises(ValueError):
            method(X, len(X) + 1)
        with pytest.raises(ValueError):
            method(X, 0)


def test_coverage_against_numpy(X: np.ndarray) -> None:
    sel = np.array([0, 10, 200, 999])
    cos = 1.0 - X @ X[sel].T
    rep = coverage(X, sel)
    assert rep["covering_radius"] == pytest.approx(cos.min(axis=1).max(), abs=1e-5)
    assert rep["mean_nearest_distance"] == pytest.approx(cos.min(axis=1).mean(), abs=1e-5)
    sizes = np.bincount(cos.argmin(axis=1), minlength=4)
    assert rep["cluster_sizes"] == {int(s): int((sizes == s).sum()) for s in np.unique(sizes)}
    report = diversity_report(X, sel, "kcenter")
    assert set(report) >= {"method", "n", "pool_size", "covering_radius", "mean_nearest_distance", "cluster_sizes"}
    assert set(report["random"]) >= {"covering_radius", "mean_nearest_distance"}


def test_quotas_split_and_errors() -> None:
    langs = ["python"] * 50 + ["go"] * 30 + ["java"] * 20
    assert parse_quotas(["python=10", "go=0.5"], 20, langs) == {"python": 10, "go": 10}
    # The remainder (10) is shared by the unlisted languages in proportion to their pool size (30:20).
    assert parse_quotas(["python=10"], 20, langs) == {"python": 10, "go": 6, "java": 4}
    for bad in (["rust=1"], ["python=60"], ["python"], ["python=x"], ["python=30", "go=30"]):
        with pytest.raises(UserError):
            parse_quotas(bad, 40, langs)


def test_select_by_language_meets_quotas() -> None:
    X = clustered(300, seed=3)
    langs = ["python"] * 150 + ["go"] * 100 + ["java"] * 50
    quotas = {"python": 12, "go": 6, "java": 2}
    for method in ("kcenter", "kmeans", "random"):
        rows, cluster, _ = select_by_language(X, langs, quotas, method, 0, np.array([], dtype=np.int64), 10)
        assert len(np.unique(rows)) == 20 and len(np.unique(cluster)) == 20
        picked = [langs[r] for r in rows]
        assert {lang: picked.count(lang) for lang in quotas} == quotas
        # Interleaved: the first half already holds every language with a quota above 1.
        assert {"python", "go", "java"} <= set(picked[:10])


def test_stale_bounds_never_above_the_true_distance() -> None:
    # The lazy pass rests on one invariant: a row's stored similarity is exact over the centres it has seen and so
    # never above its true largest similarity; rows it calls up to date hold the true value.
    X = clustered(800, d=96, k=10, seed=4)
    state = _StaleBounds(X, 60, chunk_rows=97, target=8)
    state.add(0)
    for _ in range(59):
        state.add(state.farthest())
        C = state.centers[: state.k]
        true = (X.astype(np.float64) @ C.astype(np.float64).T).max(axis=1)
        live = np.isfinite(state.sim)
        assert (state.sim[live] <= true[live] + 1e-6).all()
        fresh = live & (state.seen == state.k)
        np.testing.assert_allclose(state.sim[fresh], true[fresh], atol=1e-6)
    assert (state.seen[np.isfinite(state.sim)] < state.k).mean() > 0.3  # most rows really were left stale


@pytest.mark.parametrize("band", [1, 16, 256, 10**9])
def test_kcenter_lazy_matches_plain_whatever_the_band(band: int, monkeypatch) -> None:
    # band 1 refreshes one row at a time, 10**9 every stale row at once: the picks must not depend on it.
    monkeypatch.setattr(select, "_StaleBounds", partial(_StaleBounds, target=band))
    X = clustered(1500, d=96, k=30, seed=6)
    X[700:720] = X[700]  # duplicates: zero distances must not be pruned wrongly
    fast, stats = kcenter(X, 120, seed=2, row_stats=True)
    plain, plain_stats = kcenter(X, 120, seed=2, prune=False, row_stats=True)
    # Same picks; among exact duplicates BLAS may round one copy's distance an ulp apart, so compare vectors.
    assert np.array_equal(X[fast], X[plain])
    np.testing.assert_allclose(stats["distance"], plain_stats["distance"], atol=1e-6)
    assert stats["covering_radius"] == pytest.approx(plain_stats["covering_radius"], abs=1e-6)
    if band <= 16:  # a wide band refreshes rows early, and on a pool this small early is nearly always
        assert stats["rows_scanned"] < 0.5 * 120 * len(X)  # most row-centre distances were never computed


def test_kcenter_lazy_memmap_initial(tmp_path: Path) -> None:
    X = clustered(1200, d=96, k=20, seed=7)
    np.save(tmp_path / "pool.npy", X)
    mm = np.load(tmp_path / "pool.npy", mmap_mode="r")
    a, _ = kcenter(mm, 60, initial=[3, 11], chunk_rows=97)
    b, _ = kcenter(X, 60, initial=[3, 11], prune=False)
    assert a.tolist() == b.tolist() and a[:2].tolist() == [3, 11]


def test_kcenter_lazy_exactly_n_unique_near_pool() -> None:
    X = np.repeat(clustered(50, d=96, k=5, seed=2), 4, axis=0)  # 200 rows, 50 distinct vectors
    for n in (49, 50, 120, 199, 200):
        idx, stats = kcenter(X, n, seed=0)
        plain, _ = kcenter(X, n, seed=0, prune=False)
        assert len(np.unique(idx)) == n
        # Past 50 picks every remaining row is a copy at distance ~0: the order among them is rounding noise.
        assert np.array_equal(X[idx[:49]], X[plain[:49]])
        assert stats["covering_radius"] == pytest.approx(0.0, abs=1e-6) or n == 49


def test_kmeans_trains_on_at_most_max_train_rows_and_still_assigns_every_row(X: np.ndarray, monkeypatch) -> None:
    import faiss

    seen: list[int] = []
    train = faiss.Kmeans.train
    monkeypatch.setattr(faiss.Kmeans, "train", lambda self, x, *a, **k: seen.append(len(x)) or train(self, x, *a, **k))
    rows, st = kmeans(X, 20, seed=0, max_train=300)
    assert seen == [300]
    assert len(np.unique(rows)) == 20 and int(st["cluster_size"].sum()) == len(X)
    kmeans(X, 20, seed=0)
    assert seen[1] == min(len(X), 256 * 20)  # FAISS's own cap by default


@pytest.mark.parametrize(
    ("kind", "N", "d", "n"),
    [("random", 300, 16, 40), ("random", 1000, 96, 80), ("random", 2500, 384, 60),
     ("clustered", 400, 16, 50), ("clustered", 1500, 96, 120), ("clustered", 2500, 384, 100),
     ("random", 150, 16, 149), ("clustered", 200, 96, 200)],  # n close to and equal to the pool
)  # fmt: skip
def test_kcenter_picks_equal_the_plain_greedy_and_brute_force(kind: str, N: int, d: int, n: int) -> None:
    # Random pools give the lazy pass little to skip; clustered ones are what it is built for. Rows one centre
    # behind are read in place by FAISS, the others gathered and multiplied by BLAS, the plain pass is one BLAS
    # product per centre: equal picks show the paths agree.
    rng = np.random.default_rng(N + d)
    if kind == "random":
        X = rng.standard_normal((N, d)).astype(np.float32)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    else:
        X = clustered(N, d=d, k=max(4, N // 60), spread=0.2, seed=N)
    fast, _ = kcenter(X, n, seed=3)
    plain, _ = kcenter(X, n, seed=3, prune=False)
    assert fast.tolist() == plain.tolist() == brute_kcenter(X, n, int(fast[0]))


def hierarchical(n: int, d: int, families: int = 20, leaves: int = 20, seed: int = 0) -> np.ndarray:
    """bench/selection.py's pool shape: families of leaves of points (dense families, sparse outliers)."""
    rng = np.random.default_rng(seed)

    def unit(a: np.ndarray) -> np.ndarray:
        return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)

    fam = unit(rng.standard_normal((families, d)))
    leaf = unit(np.repeat(fam, leaves, axis=0) + 0.04 * rng.standard_normal((families * leaves, d)))
    labels = rng.choice(len(leaf), size=n, p=rng.dirichlet(np.full(len(leaf), 0.5)))
    return unit(leaf[labels] + 0.025 * rng.standard_normal((n, d)))


def test_kcenter_lazy_skips_most_work_on_a_hierarchical_pool() -> None:
    X = hierarchical(20_000, 96)
    fast, stats = kcenter(X, 200, seed=0)
    plain, plain_stats = kcenter(X, 200, seed=0, prune=False)
    assert fast.tolist() == plain.tolist()
    assert plain_stats["rows_scanned"] == 200 * len(X)
    assert stats["rows_scanned"] < 0.5 * 200 * len(X)  # measured 0.37: most rows sit deep inside covered regions


def test_kcenter_non_contiguous_pool_takes_the_gathering_path() -> None:
    # A strided view cannot be read in place by FAISS: the rows are gathered instead, with the same picks.
    X = clustered(1200, d=96, k=20, seed=9)
    wide = np.repeat(X, 2, axis=1)[:, ::2]
    assert not wide.flags.c_contiguous and np.array_equal(wide, X)
    a, _ = kcenter(wide, 50, seed=1)
    b, _ = kcenter(X, 50, seed=1)
    assert a.tolist() == b.tolist()


def test_kcenter_holds_every_blas_to_one_thread_from_the_first_call() -> None:
    # FAISS brings its own BLAS and is imported lazily: a limit made before that import left it threaded, and the
    # first selection in a process ran 15x slower on a loaded 2-core machine. A fresh interpreter shows it.
    import subprocess
    import sys

    probe = """
import json, numpy as np
from threadpoolctl import threadpool_info
from codecurate.curate import select
seen = []
at = select._dots_at
def spy(*a, **k):
    seen.append(sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}))
    return at(*a, **k)
select._dots_at = spy
X = np.random.default_rng(0).standard_normal((500, 16)).astype(np.float32)
X /= np.linalg.norm(X, axis=1, keepdims=True)
select.kcenter(X, 20)
print(json.dumps(seen))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    seen = __import__("json").loads(out)
    assert seen and all(s == [1] for s in seen)


@pytest.mark.parametrize("band", [1, 128])
def test_kcenter_lazy_ends_on_a_pool_of_many_exact_duplicates(band: int) -> None:
    # 30 vectors, 100 copies each: every band holds a hundred equal rows, so the band keeps halving; it once shrank
    # to zero and the search never ended. Run in a child process so a regression fails the test instead of hanging.
    import subprocess
    import sys

    probe = f"""
from functools import partial
import numpy as np
from codecurate.curate import select
select._StaleBounds = partial(select._StaleBounds, target={band})
rng = np.random.default_rng(0)
B = rng.standard_normal((30, 16)).astype(np.float32)
X = np.repeat(B / np.linalg.norm(B, axis=1, keepdims=True), 100, axis=0)
for n in (30, 200, 3000):
    a, st = select.kcenter(X, n, seed=0)
    plain, _ = select.kcenter(X, n, seed=0, prune=False)
    assert len(np.unique(a)) == n and np.array_equal(X[a[:30]], X[plain[:30]]), n
    assert st["covering_radius"] < 1e-6, st["covering_radius"]
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
