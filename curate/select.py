"""Coreset selection on embedding arrays: k-center greedy, k-means representatives, random.

Every function takes ``X``: an ``(N, d)`` float32 array of L2-normalised rows (a ``np.memmap`` works: the pool is
read in row chunks of ``chunk_rows``, so memory beyond the pool is O(N) plus one chunk) and returns
``(indices, stats)``: ``indices`` is an ``(n,)`` int64 array of unique pool rows in selection order, ``stats`` a
dict whose ``cluster`` and ``distance`` arrays are aligned with ``indices``.

Distances are cosine distances, ``1 - cos(x, y)``, which on unit vectors equal ``||x - y||^2 / 2``: a monotone
function of the Euclidean distance, so the farthest-point order is the same under both.
"""

from __future__ import annotations

from contextlib import nullcontext as _no_limits
from typing import Any

import numpy as np

CHUNK_ROWS = 65536  # 65536 x 384 float32 = 96 MiB per temporary block


def _chunks(n: int, size: int) -> range:
    return range(0, n, max(1, size))


def _dots(X: np.ndarray, rows: np.ndarray | None, v: np.ndarray, chunk_rows: int) -> np.ndarray:
    """``X[rows] @ v`` (all rows when ``rows`` is None), computed chunk by chunk so a memmap is never copied whole."""
    m = X.shape[0] if rows is None else len(rows)
    out = np.empty(m, dtype=np.float32)
    for s in _chunks(m, chunk_rows):
        e = min(m, s + chunk_rows)
        block = X[s:e] if rows is None else np.take(X, rows[s:e], axis=0)  # take: faster than fancy indexing
        out[s:e] = block @ v
    return out


def _dots_at(X: np.ndarray, rows: np.ndarray, v: np.ndarray, chunk_rows: int) -> np.ndarray:
    """``X[rows] @ v`` without copying the rows out: FAISS's ``fvec_inner_products_by_idx`` reads each row in place
    (4-5x faster than ``np.take`` then a matvec on a 10% subset, measured). Needs a C-contiguous float32 ``X`` (a
    ``np.load(..., mmap_mode="r")`` matrix is one); anything else is gathered chunk by chunk."""
    if X.dtype != np.float32 or not X.flags.c_contiguous:
        return _dots(X, rows, v, chunk_rows)
    import faiss

    out = np.empty(len(rows), dtype=np.float32)
    ids = np.ascontiguousarray(rows, dtype=np.int64)
    vec = np.ascontiguousarray(v, dtype=np.float32)
    sp = faiss.swig_ptr
    faiss.fvec_inner_products_by_idx(sp(out), sp(vec), sp(X), sp(ids), X.shape[1], 1, len(ids))
    return out


def _unique_in_order(rows: np.ndarray | list[int] | None) -> np.ndarray:
    arr = np.asarray(rows if rows is not None else [], dtype=np.int64)
    return arr[np.sort(np.unique(arr, return_index=True)[1])]


def nearest_selected(
    X: np.ndarray, selected: np.ndarray, chunk_rows: int = CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """For every pool row, the position in ``selected`` of its nearest selected row and the cosine distance to it.

    Exact search (FAISS ``IndexFlatIP``), pool streamed in chunks. Returns ``(assign (N,) int64, dist (N,) float32)``.
    """
    import faiss

    index = faiss.IndexFlatIP(X.shape[1])
    index.add(np.ascontiguousarray(X[np.asarray(selected)], dtype=np.float32))
    assign = np.empty(X.shape[0], dtype=np.int64)
    dist = np.empty(X.shape[0], dtype=np.float32)
    for s in _chunks(X.shape[0], chunk_rows):
        block = np.ascontiguousarray(X[s : s + chunk_rows], dtype=np.float32)
        sims, ids = index.search(block, 1)
        assign[s : s + len(block)] = ids[:, 0]
        dist[s : s + len(block)] = np.maximum(1.0 - sims[:, 0], 0.0)
    return assign, dist


class _StaleBounds:
    """Lazy farthest-first bookkeeping: per row, a lower bound on its largest cosine to the centres.

    ``sim[i]`` is the exact maximum of ``x_i . c`` over the first ``seen[i]`` centres, so a lower bound on the
    maximum over all of them: ``1 - sim[i]`` over-estimates the row's distance to its nearest centre. A row whose
    bound is exact (``seen[i] == k``) and lowest of all is the farthest row, whatever the stale rows' true values,
    since those can only be higher. Picked rows hold ``+inf``.
    """

    def __init__(self, X: np.ndarray, n: int, chunk_rows: int, target: int = 128, spread: float = 0.5) -> None:
        self.X, self.chunk_rows, self.target, self.spread = X, chunk_rows, target, spread
        self.centers = np.empty((n, X.shape[1]), dtype=np.float32)
        self.k = 0
        self.sim = np.full(X.shape[0], -np.inf, dtype=np.float32)
        self.seen = np.zeros(X.shape[0], dtype=np.int32)
        self.delta = np.float32(0.01)  # width of the band of stale rows refreshed together; adapted to ``target``
        self.dots = 0
        self.in_place = X.dtype == np.float32 and X.flags.c_contiguous

    def add(self, row: int) -> None:
        self.centers[self.k] = np.asarray(self.X[row], dtype=np.float32)
        self.k += 1
        self.sim[row], self.seen[row] = np.inf, np.iinfo(np.int32).max

    def farthest(self) -> int:
        """The row farthest from every centre (lowest index among exact ties): refresh the stale rows whose bound
        is lowest, a band at a time, until the lowest bound is an exact one."""
        k = self.k
        while True:
            i = int(np.argmin(self.sim))
            if self.seen[i] >= k:
                return i
            low = self.sim[i]
            stale = self.seen < k
            # ``<=``: row i is always in the band, so every round brings at least one row up to date and the loop
            # ends however the band width has drifted (many exact duplicates keep halving it).
            rows = np.flatnonzero(stale & (self.sim <= low + self.delta) if np.isfinite(low) else stale)
            # Rows refreshed early cost nothing extra (each row meets each centre at most once); the band only
            # trades passes over the (N,) arrays against rows refreshed that did not need it yet.
            if len(rows) < self.target // 2:
                self.delta = min(self.delta * 2, np.float32(4.0))  # 4 covers every cosine
            elif len(rows) > 2 * self.target:
                self.delta = max(self.delta / 2, np.float32(1e-12))
            self.refresh(rows)

    def refresh(self, rows: np.ndarray) -> None:
        """Bring ``sim`` of ``rows`` up to date with every centre, grouped by how many centres each has missed so
        one matrix product serves a group and computes at most twice the products it needs."""
        k = self.k
        seen = self.seen[rows]
        order = np.argsort(seen, kind="stable")
        rows, seen = rows[order], seen[order]
        start = 0
        while start < len(rows):
            first = int(seen[start])
            end = max(start + 1, int(np.searchsorted(seen, k - int((k - first) * self.spread), side="right")))
            for s in _chunks(end - start, self.chunk_rows):
                group = rows[start + s : min(end, start + s + self.chunk_rows)]
                if first == k - 1 and self.in_place:
                    best = _dots_at(self.X, group, self.centers[first], self.chunk_rows)
                else:
                    block = np.take(self.X, group, axis=0) if isinstance(self.X, np.ndarray) else self.X[group]
                    best = (np.asarray(block, dtype=np.float32) @ self.centers[first:k].T).max(axis=1)
                self.sim[group] = np.maximum(self.sim[group], best)
                self.dots += len(group) * (k - first)
            start = end
        self.seen[rows] = k


def kcenter(
    X: np.ndarray,
    n: int,
    seed: int = 0,
    initial: np.ndarray | list[int] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    prune: bool = True,
    row_stats: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Greedy farthest-point selection (Gonzalez 1985; Sener & Savarese 2018, arXiv:1708.00489).

    Start from ``initial`` (rows already chosen, kept first in the output) or one row drawn by
    ``np.random.default_rng(seed)``; then repeatedly add ``argmax_i min_{c in S} ||x_i - c||``. The result is a
    2-approximation of the optimal covering radius.

    ``prune=True`` (default) is lazy: a row's distance to its nearest centre only shrinks as centres are added, so a
    stale value is an upper bound, and only rows whose bound reaches the current farthest distance need their
    distances to the centres added since they were last brought up to date (:class:`_StaleBounds`). Rows deep inside
    covered regions are left alone for hundreds of picks, and the rows that are refreshed meet many new centres at
    once: one matrix product (BLAS GEMM) per group instead of one pass over the pool per pick. The picks are exactly
    the plain pass's (lowest row among exact float32 ties). ``prune=False`` is the plain pass: one product of the
    whole pool with each new centre. BLAS runs single-threaded while pruning: the products are small, and on shared
    or few-core machines thread hand-off costs more than it saves.

    stats: ``cluster`` (own rank), ``distance`` (cosine distance to the nearest earlier pick when chosen; NaN for
    the first pick and for ``initial`` rows), ``covering_radius``, ``rows_scanned`` (row-centre distances computed;
    the plain pass computes ``N`` per pick). ``row_stats=True`` adds ``assign`` (N,) position of each row's nearest
    pick and ``min_distance`` (N,) cosine distance to it, from one exact search (:func:`nearest_selected`): the
    lazy pass leaves most rows' values stale, which is where its speed comes from.
    """
    from threadpoolctl import threadpool_limits

    N = X.shape[0]
    if not 0 < n <= N:
        raise ValueError(f"n must be in 1..{N}, got {n}")
    picks = [int(i) for i in _unique_in_order(initial)]
    if len(picks) > n:
        raise ValueError(f"{len(picks)} initial rows but n = {n}")
    pick_dist = np.full(n, np.nan, dtype=np.float32)
    state = _StaleBounds(X, n, chunk_rows) if prune else _PlainPass(X, n, chunk_rows)
    # threadpool_limits limits the BLAS libraries loaded when it is made, and undoes that on exit. FAISS (read in
    # place below) brings its own threads: imported first, so they are limited too (otherwise the first call in a
    # process ran 15x slower on a loaded 2-core box, measured).
    import faiss  # noqa: F401

    with threadpool_limits(limits=1, user_api="blas") if prune else _no_limits():
        for row in picks:
            state.add(row)
        if not picks:
            picks.append(int(np.random.default_rng(seed).integers(N)))
            state.add(picks[0])
        while len(picks) < n:
            row = state.farthest()
            pick_dist[len(picks)] = max(1.0 - float(state.sim[row]), 0.0)
            picks.append(row)
            state.add(row)
        last = state.farthest()  # the covering radius: the distance the next pick would have
        radius = max(1.0 - float(state.sim[last]), 0.0) if np.isfinite(state.sim[last]) else 0.0
    stats: dict[str, Any] = {
        "cluster": np.arange(n),
        "distance": pick_dist,
        "covering_radius": radius,
        "rows_scanned": state.dots,
    }
    out = np.asarray(picks, dtype=np.int64)
    if row_stats:
        stats["assign"], stats["min_distance"] = nearest_selected(X, out, chunk_rows)
    return out, stats


class _PlainPass:
    """The textbook pass: every row's largest cosine to the centres, updated over the whole pool per centre."""

    def __init__(self, X: np.ndarray, n: int, chunk_rows: int) -> None:
        self.X, self.chunk_rows = X, chunk_rows
        self.sim = np.full(X.shape[0], -np.inf, dtype=np.float32)
        self.dots = 0

    def add(self, row: int) -> None:
        np.maximum(self.sim, _dots(self.X, None, np.asarray(self.X[row], dtype=np.float32), self.chunk_rows),
                   out=self.sim)  # fmt: skip
        self.sim[row] = np.inf
        self.dots += self.X.shape[0]

    def farthest(self) -> int:
        return int(np.argmin(self.sim))


def kmeans(
    X: np.ndarray, n: int, seed: int = 0, niter: int = 20, chunk_rows: int = CHUNK_ROWS, max_train: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    """Spherical k-means with k = n (FAISS), then the row nearest each centroid among that centroid's members.

    Every row belongs to one cluster, so the representatives are unique. A cluster left empty (duplicate rows,
    or n close to N) takes the nearest row to its centroid that no other cluster has taken; so exactly n unique
    rows come back. Order: largest cluster first (a prefix is a sensible smaller coreset).

    Memory besides the pool: the training sample (``min(N, 256 n, max_train)`` rows), the centroids, O(N) labels, and
    O(e^2 + e * chunk) for ``e`` empty clusters; the pool is only streamed. When FAISS sees GPUs (``faiss-gpu``),
    training and the assignment search run on all of them.

    stats: ``cluster`` (k-means cluster id), ``distance`` (cosine distance of the pick to its centroid),
    ``cluster_size`` (members of each pick's cluster), ``empty_clusters``, ``inertia`` (FAISS objective).
    """
    import faiss

    N, d = X.shape
    if not 0 < n <= N:
        raise ValueError(f"n must be in 1..{N}, got {n}")
    gpu = faiss.get_num_gpus() > 0  # 0 with faiss-cpu
    # FAISS subsamples 256 rows per centroid for training; read only those from a memmap (`max_train` fewer).
    cap = min(N, 256 * n, max_train or N)
    rng = np.random.default_rng(seed)
    train_rows = np.sort(rng.choice(N, cap, replace=False)) if cap < N else np.arange(N)
    train = np.ascontiguousarray(X[train_rows], dtype=np.float32)
    km = faiss.Kmeans(
        d, n, niter=niter, seed=seed, spherical=True, max_points_per_centroid=-(-cap // n), min_points_per_centroid=1,
        gpu=gpu,
    )  # fmt: skip
    km.train(train)
    centroids = km.centroids / np.maximum(np.linalg.norm(km.centroids, axis=1, keepdims=True), 1e-12)
    index = faiss.IndexFlatIP(d)
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    if gpu:
        index = faiss.index_cpu_to_all_gpus(index)
    labels = np.empty(N, dtype=np.int64)
    sims = np.empty(N, dtype=np.float32)
    for s in _chunks(N, chunk_rows):
        block = np.ascontiguousarray(X[s : s + chunk_rows], dtype=np.float32)
        sim, lab = index.search(block, 1)
        labels[s : s + len(block)], sims[s : s + len(block)] = lab[:, 0], sim[:, 0]
    sizes = np.bincount(labels, minlength=n)
    # Nearest member per cluster: sort by (label, -sim, row) and keep the first row of each label.
    order = np.lexsort((np.arange(N), -sims, labels))
    first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
    rep = np.full(n, -1, dtype=np.int64)
    rep[labels[first]] = first
    rep_sim = np.full(n, np.nan, dtype=np.float32)
    rep_sim[labels[first]] = sims[first]
    empty = np.flatnonzero(rep < 0)
    if len(empty):
        rep[empty], rep_sim[empty] = _nearest_free(X, centroids[empty], rep[rep >= 0], chunk_rows)
    rank = np.lexsort((np.arange(n), -sizes))
    stats = {
        "cluster": rank,
        "distance": np.maximum(1.0 - rep_sim[rank], 0.0),
        "cluster_size": sizes[rank],
        "empty_clusters": int(len(empty)),
        "inertia": float(km.obj[-1]) if len(km.obj) else float("nan"),
    }
    return rep[rank], stats


def _nearest_free(
    X: np.ndarray, centroids: np.ndarray, taken: np.ndarray, chunk_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``e`` centroids in turn, the most similar row not in ``taken`` nor given to an earlier centroid.

    The pool is streamed once, keeping each centroid's ``e`` most similar free rows: earlier centroids take at
    most ``e - 1`` of them, so one is always left, and memory stays O(e^2 + e * chunk) however large the pool.
    Returns ``(rows (e,) int64, similarities (e,) float32)``.
    """
    e = len(centroids)
    C = np.ascontiguousarray(centroids, dtype=np.float32)
    is_taken = np.zeros(X.shape[0], dtype=bool)
    is_taken[taken] = True
    best_sim = np.full((e, 0), -np.inf, dtype=np.float32)
    best_row = np.zeros((e, 0), dtype=np.int64)
    step = max(1, min(chunk_rows, (1 << 24) // e))  # (step, e) float32 block stays under 64 MiB
    for s in _chunks(X.shape[0], step):
        block = np.asarray(X[s : s + step], dtype=np.float32)
        sims = (block @ C.T).T
        sims[:, is_taken[s : s + len(block)]] = -np.inf
        cat_sim = np.concatenate([best_sim, sims], axis=1)
        cat_row = np.concatenate([best_row, np.broadcast_to(np.arange(s, s + len(block)), sims.shape)], axis=1)
        keep = min(e, cat_sim.shape[1])
        top = np.argpartition(-cat_sim, keep - 1, axis=1)[:, :keep]
        best_sim, best_row = np.take_along_axis(cat_sim, top, 1), np.take_along_axis(cat_row, top, 1)
    rows = np.empty(e, dtype=np.int64)
    out_sim = np.empty(e, dtype=np.float32)
    for j in range(e):
        for k in np.lexsort((best_row[j], -best_sim[j])):  # most similar first, ties by row
            if not is_taken[best_row[j, k]] and best_sim[j, k] > -np.inf:
                rows[j], out_sim[j] = best_row[j, k], best_sim[j, k]
                is_taken[rows[j]] = True
                break
        else:  # unreachable while n <= N (see above); checked because selection output depends on it
            raise RuntimeError("k-means: no free row left for an empty cluster")
    return rows, out_sim


def random_subset(
    X: np.ndarray, n: int, seed: int = 0, initial: np.ndarray | list[int] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Uniform sample without replacement from ``np.random.default_rng(seed)``: the baseline.

    ``initial`` rows come first. stats: ``cluster`` (own rank), ``distance`` (NaN: random picks are not ordered by
    distance).
    """
    N = X.shape[0]
    if not 0 < n <= N:
        raise ValueError(f"n must be in 1..{N}, got {n}")
    init = _unique_in_order(initial)
    if len(init) > n:
        raise ValueError(f"{len(init)} initial rows but n = {n}")
    rest = np.setdiff1d(np.arange(N), init)
    extra = np.random.default_rng(seed).choice(rest, n - len(init), replace=False)
    picks = np.concatenate([init, extra]).astype(np.int64)
    return picks, {"cluster": np.arange(n), "distance": np.full(n, np.nan, dtype=np.float32)}


METHODS = {"kcenter": kcenter, "kmeans": kmeans, "random": random_subset}
