"""How well a coreset covers its pool: covering radius, mean nearest-selected distance, cluster sizes, a 2-D map.

All distances are cosine distances, ``1 - cos(x, y)``, on L2-normalised embeddings (0 = same direction, 2 =
opposite). A random selection of the same size, drawn with the same seed, is the baseline every number is
reported against.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from codecurate.curate.select import CHUNK_ROWS, nearest_selected


def coverage(X: np.ndarray, selected: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    """Coverage of pool ``X`` (N, d) by rows ``selected`` (n,).

    Returns ``covering_radius`` (max over the pool of the distance to the nearest selected row),
    ``mean_nearest_distance`` (its mean), ``cluster_sizes`` (histogram: number of pool rows whose nearest selected
    row is a given one -> how many selected rows have that size; sizes include the selected row itself).
    """
    assign, dist = nearest_selected(X, selected, chunk_rows)
    sizes = np.bincount(assign, minlength=len(selected))
    values, counts = np.unique(sizes, return_counts=True)
    return {
        "covering_radius": float(dist.max()),
        "mean_nearest_distance": float(dist.mean()),
        "cluster_sizes": {int(v): int(c) for v, c in zip(values, counts, strict=True)},
    }


def diversity_report(
    X: np.ndarray, selected: np.ndarray, method: str, seed: int = 0, chunk_rows: int = CHUNK_ROWS
) -> dict[str, Any]:
    """The report JSON: our selection's coverage next to a random selection of equal size (same seed)."""
    ours = coverage(X, selected, chunk_rows)
    rand = np.random.default_rng(seed).choice(X.shape[0], len(selected), replace=False)
    base = coverage(X, rand, chunk_rows)
    return {
        "method": method,
        "n": int(len(selected)),
        "pool_size": int(X.shape[0]),
        "distance": "cosine (1 - cos) on L2-normalised embeddings",
        "covering_radius": ours["covering_radius"],
        "mean_nearest_distance": ours["mean_nearest_distance"],
        "cluster_sizes": ours["cluster_sizes"],
        "random": {
            "covering_radius": base["covering_radius"],
            "mean_nearest_distance": base["mean_nearest_distance"],
            "cluster_sizes": base["cluster_sizes"],
        },
    }


def pca_2d(X: np.ndarray, rows: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
    """Project ``X[rows]`` on the top two principal axes of ``X[fit_rows]`` (SVD of the centred sample)."""
    sample = np.asarray(X[np.sort(fit_rows)], dtype=np.float64)
    mean = sample.mean(axis=0)
    _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)
    return (np.asarray(X[rows], dtype=np.float64) - mean) @ vt[:2].T


def plot_map(
    X: np.ndarray,
    selected: np.ndarray,
    path: str | os.PathLike,
    title: str = "",
    max_points: int = 20000,
    seed: int = 0,
) -> None:
    """PNG of the pool (grey, at most `max_points` sampled rows) with the coreset (red) in PCA coordinates."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    from codecurate.io import atomic_write

    N = X.shape[0]
    rng = np.random.default_rng(seed)
    pool_rows = np.sort(rng.choice(N, max_points, replace=False)) if max_points < N else np.arange(N)
    pts = pca_2d(X, np.concatenate([pool_rows, np.asarray(selected)]), pool_rows)
    pool_xy, sel_xy = pts[: len(pool_rows)], pts[len(pool_rows) :]
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.scatter(pool_xy[:, 0], pool_xy[:, 1], s=3, c="0.75", lw=0, label=f"pool ({N:,})")
    ax.scatter(sel_xy[:, 0], sel_xy[:, 1], s=10, c="tab:red", lw=0, label=f"coreset ({len(selected):,})")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title or "coreset in the embedding space (PCA)")
    ax.legend(loc="best", markerscale=2, frameon=False)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
