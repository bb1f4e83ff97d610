"""Coreset selection speed and quality: ours against WaveCoder's k-center reference, plus scaling to 1M functions.

    nice python bench/selection.py            # pools 10k, 50k and 200k, n = 1% and 2%; scaling at 10k/50k/200k
    python bench/selection.py --skip-200k     # pools 10k and 50k only (200k takes long on a loaded machine)
    python bench/selection.py --quick         # pools 2k, 5k and 20k, a minute

Data: synthetic clustered float32 384-d unit vectors (MiniLM's width): 1,000 Gaussian clusters with Dirichlet
sizes around random centres, so there are dense families and sparse outliers as in code corpora.

Reference: a faithful re-implementation of WaveCoder's kCenterGreedy (microsoft/WaveCoder
src/data/raw_code_collection/utils/kcenter_greedy.py, itself from google/active-learning): every pick calls
sklearn ``pairwise_distances(features, features[[ind]])`` over the whole pool and ``np.minimum`` into an (N, 1)
array; the first pick is row 0 (``np.argmax(None)``). Where the full reference would take too long, a fixed number
of picks is timed and extrapolated linearly (every pick does the same full-pool work); the reference's radius is
then that of the same greedy sequence, which our k-center reproduces when started from row 0 (checked where the
reference runs in full).
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from codecurate.curate import select as _select
from codecurate.curate.diversity import coverage
from codecurate.curate.select import kcenter, kmeans, random_subset


def clustered(
    n: int, d: int = 384, families: int = 50, leaves: int = 40, seed: int = 0, flat: bool = False
) -> np.ndarray:
    """Unit vectors in a two-level hierarchy: `families` random directions, each with `leaves` sub-centres
    (within-family cos about 0.6), points around leaves (cos about 0.8 to their leaf), Dirichlet leaf sizes.
    ``flat=True`` draws points around 2,000 independent centres with wide noise: the worst case for pruning."""
    rng = np.random.default_rng(seed)

    def unit(a: np.ndarray) -> np.ndarray:
        return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)

    if flat:
        centres = unit(rng.standard_normal((families * leaves, d)))
        labels = rng.integers(len(centres), size=n)
        return unit(centres[labels] + 0.06 * rng.standard_normal((n, d)))
    fam = unit(rng.standard_normal((families, d)))
    leaf = unit(np.repeat(fam, leaves, axis=0) + 0.04 * rng.standard_normal((families * leaves, d)))
    labels = rng.choice(len(leaf), size=n, p=rng.dirichlet(np.full(len(leaf), 0.5)))
    return unit(leaf[labels] + 0.025 * rng.standard_normal((n, d)))


def reference_kcenter(features: np.ndarray, n: int, max_picks: int | None = None) -> tuple[list[int], float]:
    """WaveCoder's loop; returns (picks, seconds per pick)."""
    from sklearn.metrics import pairwise_distances

    min_distances = None
    picks: list[int] = []
    start = time.perf_counter()
    for _ in range(n if max_picks is None else min(n, max_picks)):
        ind = int(np.argmax(min_distances)) if min_distances is not None else 0
        dist = pairwise_distances(features, features[[ind]], metric="euclidean")
        min_distances = dist if min_distances is None else np.minimum(min_distances, dist)
        picks.append(ind)
    return picks, (time.perf_counter() - start) / len(picks)


def load_avg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def same_up_to_ties(a: list[int], b: list[int], X: np.ndarray) -> bool:
    """Equal pick sequences, or sequences that first differ where the two rows are equally far (within 1e-6 in
    float64) from the earlier picks: a float32 tie that the rounding of the dot products decides."""
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), None)
    if i is None:
        return True
    earlier = X[a[:i]].astype(np.float64)
    da, db = ((1.0 - earlier @ X[r].astype(np.float64)).min() for r in (a[i], b[i]))
    print(f"    picks differ first at {i}: rows {a[i]} and {b[i]} at distances {da:.9f} and {db:.9f} (a tie)")
    return abs(da - db) < 1e-6


def timed(fn, *args, **kwargs):
    tracemalloc.start()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


def compare(pools: list[int], fractions: list[float], ref_cap: int, full_ref_work: int) -> list[dict]:
    rows = []
    for N in pools:
        X = clustered(N)
        for frac in fractions:
            n = int(N * frac)
            full = N * n <= full_ref_work  # pool rows x picks: the reference's cost
            ref_picks, per_pick = reference_kcenter(X, n, None if full else ref_cap)
            ref_s = per_pick * n
            (same, _), _, _ = timed(kcenter, X, n, initial=[0])  # the reference's own start row
            # k-center from row 0 reproduces the reference picks (ties aside)
            assert same_up_to_ties(same[: len(ref_picks)].tolist(), ref_picks, X)
            ref_r = coverage(X, same)["covering_radius"]
            (kc, _), kc_s, kc_mem = timed(kcenter, X, n, seed=0)
            # The previous candidate step (np.take of the rows, then a matvec), same bound: what the in-place
            # FAISS dot product changed.
            in_place, _select._dots_at = _select._dots_at, _select._dots
            try:
                (old, _), old_s, _ = timed(kcenter, X, n, seed=0)
            finally:
                _select._dots_at = in_place
            assert same_up_to_ties(old.tolist(), kc.tolist(), X)
            (km, _), km_s, km_mem = timed(kmeans, X, n, seed=0)
            rnd, _ = random_subset(X, n, seed=0)
            kc_r, km_r = coverage(X, kc)["covering_radius"], coverage(X, km)["covering_radius"]
            rows.append({
                "pool": N, "n": n, "ref_s": ref_s, "ref_note": "full" if full else f"{len(ref_picks)} picks x{n}",
                "ref_r": ref_r, "kc_s": kc_s, "old_s": old_s, "kc_r": kc_r, "km_s": km_s, "km_r": km_r,
                "rnd_r": coverage(X, rnd)["covering_radius"], "kc_mem": kc_mem, "km_mem": km_mem,
            })  # fmt: skip
            r = rows[-1]
            print(f"  pool {N:>7,} n {n:>5,}: ref {ref_s:8.1f}s ({r['ref_note']}), kcenter {kc_s:6.2f}s "
                  f"(gathering: {old_s:6.2f}s), kmeans {km_s:6.1f}s, load {load_avg()}", flush=True)  # fmt: skip
    return rows


def scaling(pools: list[int], frac: float) -> list[dict]:
    rows = []
    for N in pools:
        X = clustered(N, seed=1)
        n = max(1, int(N * frac))
        _, kc_s, kc_mem = timed(kcenter, X, n, seed=0)
        _, km_s, km_mem = timed(kmeans, X, n, seed=0)
        rows.append({"pool": N, "n": n, "kc_s": kc_s, "km_s": km_s, "kc_mem": kc_mem, "km_mem": km_mem,
                     "pool_mem": X.nbytes})  # fmt: skip
        print(f"  scaling pool {N:>7,}: kcenter {kc_s:6.2f}s kmeans {km_s:6.1f}s", flush=True)
    return rows


def fit_1m(pools: list[int], secs: list[float]) -> tuple[float, float]:
    """Least-squares power law t = a N^b through the measured points, evaluated at N = 1M."""
    b, log_a = np.polyfit(np.log(pools), np.log(secs), 1)
    return float(np.exp(log_a) * 1e6**b), float(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small pools (5k, 20k), for a smoke run")
    ap.add_argument("--ref-picks", type=int, default=100, help="reference picks timed when it is extrapolated")
    ap.add_argument("--skip-200k", action="store_true", help="leave out the 200k pool (comparison and scaling)")
    ap.add_argument("--no-scaling", action="store_true", help="only the comparison with the reference")
    args = ap.parse_args()
    pools = [2_000, 5_000, 20_000] if args.quick else [10_000, 50_000] + ([] if args.skip_200k else [200_000])
    full_work = 5_000 * 100 if args.quick else 50_000 * 500
    scale_pools = pools
    print(f"load average at the start: {load_avg()} (1/5/15 min), cpus {os.cpu_count()}", flush=True)

    rows = compare(pools, [0.01, 0.02], args.ref_picks, full_work)
    print("\n### k-center / k-means vs WaveCoder reference (synthetic hierarchical 384-d unit vectors)\n")
    print("| pool | n | reference s | ours k-center s | speed-up | gathering candidates s | speed-up | "
          "radius ours / ref | k-means s | k-means radius / ref | random radius / ref |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['pool']:,} | {r['n']:,} | {r['ref_s']:.1f} ({r['ref_note']}) | {r['kc_s']:.2f} | "
              f"{r['ref_s'] / r['kc_s']:.0f}x | {r['old_s']:.2f} | {r['ref_s'] / r['old_s']:.0f}x | "
              f"{r['kc_r'] / r['ref_r']:.3f} | {r['km_s']:.1f} | {r['km_r'] / r['ref_r']:.3f} | "
              f"{r['rnd_r'] / r['ref_r']:.3f} |")  # fmt: skip
    if args.no_scaling:
        print(f"\nload average at the end: {load_avg()}")
        return

    srows = scaling(scale_pools, 0.01)
    print("\n### Scaling at n = 1% of the pool (measured, then a power-law fit extrapolated to 1M)\n")
    print("| pool | n | k-center s | k-means s | k-center extra MiB | k-means extra MiB | pool MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in srows:
        print(f"| {r['pool']:,} | {r['n']:,} | {r['kc_s']:.2f} | {r['km_s']:.1f} | {r['kc_mem'] / 2**20:.0f} | "
              f"{r['km_mem'] / 2**20:.0f} | {r['pool_mem'] / 2**20:.0f} |")  # fmt: skip
    ps = [r["pool"] for r in srows]
    kc1m, kcb = fit_1m(ps, [r["kc_s"] for r in srows])
    km1m, kmb = fit_1m(ps, [r["km_s"] for r in srows])
    print(f"| 1,000,000 (fit) | 10,000 | {kc1m:.0f} (t ~ N^{kcb:.2f}) | {km1m:.0f} (t ~ N^{kmb:.2f}) | "
          f"{srows[-1]['kc_mem'] * 1e6 / ps[-1] / 2**20:.0f} (linear) | - | {1e6 * 384 * 4 / 2**20:.0f} |")  # fmt: skip

    print(f"\nload average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
