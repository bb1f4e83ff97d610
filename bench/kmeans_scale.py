"""FAISS k-means cost on this CPU, fitted and extrapolated to 2M functions and k = 20,000 (docs/scale.md).

    nice python bench/kmeans_scale.py            # 7 sizes up to 512k x 384-d / 256k x 1024-d: minutes on 2 cores
    python bench/kmeans_scale.py --quick         # 3 small sizes, well under a minute

Times ``faiss.Kmeans`` with the settings of ``curate/select.py`` (spherical, niter 20, max_points_per_centroid
256) at several (N, k, d) with N = 256 k, so FAISS trains on every row as it would at the target (256 x 20,000 =
5.12M > 2M: no subsampling). Lloyd's iterations are brute-force inner products, so the cost model is
``t = c * N_train * k * d * niter`` multiply-adds; ``c`` is fitted (least squares through the origin) on the measured
rows and the fit's worst relative error is printed, so a poor fit is visible. The baseline row is one brute-force
assignment pass (``IndexFlatIP.search`` of all rows against the k centroids, what ``select.kmeans`` runs after
training): training should cost about ``niter`` of those.

Data: random unit vectors around 4k Gaussian centres. The brute-force cost does not depend on the data; only the
number of iterations could, and it is fixed here.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

TARGETS = [(2_000_000, 20_000, 384), (2_000_000, 20_000, 1024)]  # CodeSearchNet-sized pool, 20k picks
# (k, d); N = 256 k rows each, the most FAISS trains on without subsampling.
FULL = [(250, 384), (500, 384), (1000, 384), (2000, 384), (250, 1024), (500, 1024), (1000, 1024)]
QUICK = [(64, 384), (128, 384), (64, 1024)]


def unit_rows(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """(n, d) float32 unit rows scattered around 4 k random centres (clusters for k-means to find)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((4 * k, d), dtype=np.float32)
    x = centres[rng.integers(len(centres), size=n)] + 0.5 * rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def time_kmeans(x: np.ndarray, k: int, niter: int) -> tuple[float, float]:
    """(train seconds, seconds of one assignment pass of all rows against the trained centroids)."""
    import faiss

    km = faiss.Kmeans(
        x.shape[1], k, niter=niter, seed=0, spherical=True, max_points_per_centroid=256, min_points_per_centroid=1
    )
    start = time.perf_counter()
    km.train(x)
    train_s = time.perf_counter() - start
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(km.centroids)
    start = time.perf_counter()
    for s in range(0, len(x), 65536):  # chunked like select.kmeans, so a memmap pool is never read whole
        index.search(x[s : s + 65536], 1)
    return train_s, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 small sizes")
    ap.add_argument("--niter", type=int, default=20, help="Lloyd iterations (select.kmeans uses 20)")
    args = ap.parse_args()
    import faiss

    sizes = QUICK if args.quick else FULL
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, niter {args.niter}", flush=True)  # fmt: skip
    rows = []
    for k, d in sizes:
        n = 256 * k
        x = unit_rows(n, d, k)
        train_s, assign_s = time_kmeans(x, k, args.niter)
        madds = float(n) * k * d * args.niter
        rows.append((n, k, d, madds, train_s, assign_s))
        print(f"  N={n:,} k={k} d={d}: train {train_s:.1f}s, assign {assign_s:.2f}s", flush=True)
    work = np.array([r[3] for r in rows])
    secs = np.array([r[4] for r in rows])
    c = float(work @ secs / (work @ work))  # seconds per multiply-add, least squares through the origin
    worst = float(np.max(np.abs(c * work - secs) / secs))

    print("\n| N (= 256 k) | k | d | multiply-adds | train s | 1 assign pass s | train / assign | GFLOP/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, k, d, madds, train_s, assign_s in rows:
        print(f"| {n:,} | {k:,} | {d} | {madds:.2e} | {train_s:.1f} | {assign_s:.2f} | {train_s / assign_s:.1f}x | "
              f"{2 * madds / train_s / 1e9:.0f} |")  # fmt: skip
    print(f"\nfit: t = {c:.3e} s per multiply-add ({2 / c / 1e9:.0f} GFLOP/s), worst relative error {worst:.0%}")
    print("\n| target N | k | d | multiply-adds | train, extrapolated | assign pass, extrapolated |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, k, d in TARGETS:
        n_train = min(n, 256 * k)  # FAISS subsamples above 256 rows per centroid
        madds = float(n_train) * k * d * args.niter
        print(f"| {n:,} | {k:,} | {d} | {madds:.2e} | {c * madds / 3600:.1f} h | "
              f"{c * n * k * d / 60:.0f} min |")  # fmt: skip


if __name__ == "__main__":
    main()
