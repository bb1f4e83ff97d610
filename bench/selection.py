"""Coreset selection speed and quality: ours against WaveCoder's k-center reference, at 10k, 50k and 200k.

    nice -n 5 python bench/selection.py            # pools 10k, 50k and 200k, n = 1% and 2%, median of 3 runs
    python bench/selection.py --skip-200k           # pools 10k and 50k only
    python bench/selection.py --quick               # pools 2k, 5k and 20k, a minute
    python bench/selection.py --census              # also: how many rows each pruning rule leaves, 50k / 500

Data: synthetic clustered float32 384-d unit vectors (MiniLM's width): 50 families of 40 leaves with Dirichlet
sizes, so there are dense families and sparse outliers as in code corpora.

Reference: a faithful re-implementation of WaveCoder's kCenterGreedy (microsoft/WaveCoder
src/data/raw_code_collection/utils/kcenter_greedy.py, itself from google/active-learning): every pick calls
sklearn ``pairwise_distances(features, features[[ind]])`` over the whole pool and ``np.minimum`` into an (N, 1)
array; the first pick is row 0 (``np.argmax(None)``). Every pick does the same full-pool work, so where the full
reference would take long, ``--ref-picks`` picks are timed and extrapolated linearly; the reference's radius is
then that of the same greedy sequence, which our k-center reproduces when started from row 0 (checked on the picks
the reference made). Times are medians of ``--repeat`` runs, ours and the reference's alike. The reference runs
twice per repeat: as WaveCoder runs it (BLAS threads as numpy sets them) and with BLAS held to one thread as ours
is: on a small loaded machine threaded matrix-vector products slow down far more than single-threaded ones.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

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
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def peak_memory(fn, *args, **kwargs) -> int:
    tracemalloc.start()
    fn(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def compare(pools: list[int], fractions: list[float], ref_cap: int, full_ref_work: int, repeat: int,
            with_kmeans: bool) -> list[dict]:  # fmt: skip
    rows = []
    for N in pools:
        X = clustered(N)
        for frac in fractions:
            n = int(N * frac)
            full = N * n <= full_ref_work  # pool rows x picks: the reference's cost
            per_pick, per_pick_1 = [], []
            for _ in range(repeat):  # interleaved, so both see the same load
                ref_picks, p = reference_kcenter(X, n, None if full else ref_cap)
                per_pick.append(p)
                with threadpool_limits(limits=1, user_api="blas"):
                    per_pick_1.append(reference_kcenter(X, n, None if full else ref_cap)[1])
            ref_s, ref1_s = float(np.median(per_pick)) * n, float(np.median(per_pick_1)) * n
            (same, _), _ = timed(kcenter, X, n, initial=[0])  # the reference's own start row
            # k-center from row 0 reproduces the reference picks (ties aside)
            assert same_up_to_ties(same[: len(ref_picks)].tolist(), ref_picks, X)
            ref_r = coverage(X, same)["covering_radius"]
            runs = [timed(kcenter, X, n, seed=0) for _ in range(repeat)]
            kc, kc_stats = runs[0][0]
            kc_s = float(np.median([t for _, t in runs]))
            km_s, km_r = float("nan"), float("nan")
            if with_kmeans:
                (km, _), km_s = timed(kmeans, X, n, seed=0)
                km_r = coverage(X, km)["covering_radius"]
            rnd, _ = random_subset(X, n, seed=0)
            rows.append({
                "pool": N, "n": n, "ref_s": ref_s, "ref1_s": ref1_s,
                "ref_note": "full" if full else f"{len(ref_picks)} picks x{n}",
                "ref_r": ref_r, "kc_s": kc_s, "kc_runs": [t for _, t in runs],
                "kc_r": coverage(X, kc)["covering_radius"],
                "work": kc_stats["rows_scanned"] / (N * n), "km_s": km_s, "km_r": km_r,
                "rnd_r": coverage(X, rnd)["covering_radius"], "kc_mem": peak_memory(kcenter, X, n, seed=0),
                "pool_mem": X.nbytes, "load": load_avg(),
            })  # fmt: skip
            r = rows[-1]
            print(f"  pool {N:>7,} n {n:>5,}: ref {ref_s:8.1f}s / 1 thread {ref1_s:8.1f}s ({r['ref_note']}), "
                  f"kcenter {kc_s:6.3f}s ({' '.join(f'{t:.3f}' for t in r['kc_runs'])}), {ref_s / kc_s:5.1f}x / "
                  f"{ref1_s / kc_s:5.1f}x, kmeans {km_s:6.1f}s, load {r['load']}", flush=True)  # fmt: skip
    return rows


def census(N: int, n: int) -> None:
    """Per pick, the rows each exact pruning rule leaves in play on the benchmark pool (plain greedy from row 0):

    - Elkan's row test (the triangle inequality): row i can move only if ||c - a_i|| < 2 d_i;
    - Voronoi cells of the picks: cell j is skipped when ||c - c_j|| >= 2 max_{i in j} d_i;
    - rows that actually move (d_i drops);
    - the lazy pass's row-centre distances, per pick (``rows_scanned / n``)."""
    X = clustered(N)
    C = np.empty((n, X.shape[1]), dtype=np.float32)
    d = np.full(N, np.inf, dtype=np.float32)  # Euclidean distance to the nearest pick
    a = np.zeros(N, dtype=np.int64)
    elkan = cells = moved = 0
    row = 0
    for k in range(n):
        C[k] = X[row]
        if k:
            cc = np.sqrt(np.maximum(2.0 - 2.0 * (C[:k] @ C[k]), 0.0))  # new centre to every earlier one
            elkan += int((cc[a] < 2.0 * d).sum())
            cell_max = np.zeros(k, dtype=np.float32)
            np.maximum.at(cell_max, a, d)
            open_cell = cc < 2.0 * cell_max
            cells += int(open_cell[a].sum())
        new = np.sqrt(np.maximum(2.0 - 2.0 * (X @ C[k]), 0.0))
        better = new < d
        moved += int(better.sum()) if k else 0
        d[better], a[better] = new[better], k
        d[row] = 0.0
        row = int(np.argmax(d))
    _, st = kcenter(X, n, initial=[0])
    print(f"\n### Rows in play per pick, pool {N:,}, n {n:,} (plain greedy from row 0)\n")
    print("| rule | rows in play per pick | share of the pool |")
    print("|---|---:|---:|")
    rules = [("Elkan row test: dist(c, a_i) < 2 d_i", elkan), ("Voronoi cells: dist(c, c_j) < 2 max_j d_i", cells),
             ("rows that actually move", moved)]  # fmt: skip
    for name, count in rules:
        print(f"| {name} | {count / (n - 1):,.0f} | {count / (n - 1) / N:.1%} |")
    print(
        f"| lazy pass: row-centre distances computed | {st['rows_scanned'] / n:,.0f} | "
        f"{st['rows_scanned'] / n / N:.1%} |"
    )


def fit_1m(pools: list[int], secs: list[float]) -> tuple[float, float]:
    """Least-squares power law t = a N^b through the measured points, evaluated at N = 1M."""
    b, log_a = np.polyfit(np.log(pools), np.log(secs), 1)
    return float(np.exp(log_a) * 1e6**b), float(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small pools (2k, 5k, 20k), for a smoke run")
    ap.add_argument("--ref-picks", type=int, default=100, help="reference picks timed when it is extrapolated")
    ap.add_argument("--repeat", type=int, default=3, help="runs per point; times are medians")
    ap.add_argument("--skip-200k", action="store_true", help="leave out the 200k pool")
    ap.add_argument("--no-kmeans", action="store_true", help="leave out k-means (its time dominates at 200k)")
    ap.add_argument("--census", action="store_true", help="rows each pruning rule leaves in play, 50k / 500")
    args = ap.parse_args()
    pools = [2_000, 5_000, 20_000] if args.quick else [10_000, 50_000] + ([] if args.skip_200k else [200_000])
    full_work = 5_000 * 100 if args.quick else 10_000 * 200
    print(f"load average at the start: {load_avg()} (1/5/15 min), cpus {os.cpu_count()}", flush=True)

    rows = compare(pools, [0.01, 0.02], args.ref_picks, full_work, args.repeat, not args.no_kmeans)
    print("\n### k-center / k-means vs WaveCoder reference (synthetic hierarchical 384-d unit vectors)\n")
    print("| pool | n | reference s | reference, 1 BLAS thread s | ours k-center s | speed-up | speed-up vs "
          "1-thread reference | row-centre distances, share of plain | "
          "radius ours / ref | k-means s | k-means radius / ref | random radius / ref | load |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['pool']:,} | {r['n']:,} | {r['ref_s']:.1f} ({r['ref_note']}) | {r['ref1_s']:.1f} | "
              f"{r['kc_s']:.3f} | {r['ref_s'] / r['kc_s']:.0f}x | {r['ref1_s'] / r['kc_s']:.0f}x | {r['work']:.1%} | "
              f"{r['kc_r'] / r['ref_r']:.3f} | {r['km_s']:.1f} | "
              f"{r['km_r'] / r['ref_r']:.3f} | {r['rnd_r'] / r['ref_r']:.3f} | {r['load']} |")  # fmt: skip

    one = [r for r in rows if r["n"] == int(r["pool"] * 0.01)]
    print("\n### k-center at n = 1% of the pool: scaling (power law fitted to the rows above, extrapolated to 1M)\n")
    print("| pool | n | k-center s | k-center extra MiB | pool MiB |")
    print("|---:|---:|---:|---:|---:|")
    for r in one:
        print(f"| {r['pool']:,} | {r['n']:,} | {r['kc_s']:.3f} | {r['kc_mem'] / 2**20:.0f} | "
              f"{r['pool_mem'] / 2**20:.0f} |")  # fmt: skip
    if len(one) > 1:
        ps = [r["pool"] for r in one]
        kc1m, kcb = fit_1m(ps, [r["kc_s"] for r in one])
        print(f"| 1,000,000 (fit) | 10,000 | {kc1m:.0f} (t ~ N^{kcb:.2f}) | "
              f"{one[-1]['kc_mem'] * 1e6 / ps[-1] / 2**20:.0f} (linear) | {1e6 * 384 * 4 / 2**20:.0f} |")  # fmt: skip
    if args.census:
        census(50_000 if not args.quick else 5_000, 500 if not args.quick else 50)
    print(f"\nload average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
