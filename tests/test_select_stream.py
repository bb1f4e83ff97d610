"""k-means' empty-cluster fill streams the pool in chunks and agrees with a brute-force search over all rows."""

from __future__ import annotations

import numpy as np
import pytest

from codecurate.curate.select import _nearest_free, kmeans


def _brute(X: np.ndarray, C: np.ndarray, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    free = np.ones(len(X), dtype=bool)
    free[taken] = False
    rows, sims = [], []
    for c in C:
        s = np.where(free, X @ c, -np.inf)
        r = int(np.flatnonzero(s == s.max())[0])  # ties: lowest row
        rows.append(r)
        sims.append(s[r])
        free[r] = False
    return np.array(rows), np.array(sims, dtype=np.float32)


@pytest.mark.parametrize("chunk_rows", [7, 64, 10_000])
def test_nearest_free_matches_brute_force(chunk_rows: int) -> None:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 16)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    # Centroids close together compete for the same rows: the later ones must fall back to their next-best.
    C = X[5] + 0.05 * rng.standard_normal((12, 16)).astype(np.float32)
    taken = rng.choice(300, 40, replace=False)
    rows, sims = _nearest_free(X, C, taken, chunk_rows)
    ref_rows, ref_sims = _brute(X, C.astype(np.float32), taken)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_allclose(sims, ref_sims, rtol=0, atol=1e-5)
    assert len(set(rows.tolist()) | set(taken.tolist())) == len(rows) + len(taken)


def test_kmeans_n_equal_to_pool_with_duplicates_returns_every_row() -> None:
    # 20 distinct points each repeated 3 times, n = N: most clusters are empty and every row must be used once.
    base = np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32)
    X = np.repeat(base / np.linalg.norm(base, axis=1, keepdims=True), 3, axis=0)
    idx, stats = kmeans(X, len(X), seed=0, niter=5, chunk_rows=16)
    assert sorted(idx.tolist()) == list(range(len(X)))
    assert stats["empty_clusters"] > 0
