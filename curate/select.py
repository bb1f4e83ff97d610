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


def _to_euclid(dots: np.ndarray) -> np.ndarray:
    # ||x - y|| = sqrt(2 - 2 x.y) for unit vectors; clip guards against rounding just above 1.
    return np.sqrt(np.maximum(2.0 - 2.0 * dots, 0.0, dtype=np.float32))


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


def _projection(X: np.ndarray, dims: int, chunk_rows: int, sample: int = 8192) -> np.ndarray:
    """``(N, dims + 1)`` float32: each row's coordinates on the top ``dims`` principal directions ``V`` of a row
    sample, then an upper bound on the norm of its residual ``x - V V^T x``.

    For any rows ``x, c``, Cauchy-Schwarz on the residuals gives ``x . c <= P_x . P_c``. Any orthonormal ``V``
    would do; principal directions make the bound tight. The sample rows are fixed (seed 0): the bound, though
    not the picks, is independent of the caller's seed.
    """
    N = X.shape[0]
    rows = np.sort(np.random.default_rng(0).choice(N, sample, replace=False)) if sample < N else np.arange(N)
    S = np.asarray(X[rows], dtype=np.float32)
    S -= S.mean(axis=0)
    _, vecs = np.linalg.eigh(S.T @ S)
    V = np.ascontiguousarray(vecs[:, ::-1][:, :dims], dtype=np.float32)
    P = np.empty((N, dims + 1), dtype=np.float32)
    for s in _chunks(N, chunk_rows):
        block = np.asarray(X[s : s + chunk_rows], dtype=np.float32)
        y = block @ V
        sq = np.einsum("ij,ij->i", block, block, dtype=np.float64) - np.einsum("ij,ij->i", y, y, dtype=np.float64)
        # float32 rounding of y leaves up to ~1e-6 error in sq, so up to 1e-3 in its square root: adding 1e-3
        # keeps the residual norm an upper bound, which is what the bound needs.
        P[s : s + len(block), :dims] = y
        P[s : s + len(block), dims] = np.sqrt(np.maximum(sq, 0.0)) + 1e-3
    return P


def kcenter(
    X: np.ndarray,
    n: int,
    seed: int = 0,
    initial: np.ndarray | list[int] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    prune: bool = True,
    bound_dims: int = 64,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Greedy farthest-point selection (Gonzalez 1985; Sener & Savarese 2018, arXiv:1708.00489).

    Start from ``initial`` (rows already chosen, kept first in the output) or one row drawn by
    ``np.random.default_rng(seed)``; then repeatedly add ``argmax_i min_{c in S} ||x_i - c||``. The result is a
    2-approximation of the optimal covering radius.

    Each pick must lower the min-distance ``m_x`` of every row closer to the new centre ``c`` than to its nearest
    centre. A plain pass reads the whole ``(N, d)`` pool per pick (memory-bound); ``prune=True`` reads only rows
    that may move, and the picks stay exactly those of the plain pass. Rows are ruled out by a lower bound on
    ``||x - c||`` checked against ``m_x``:

    - projection (``bound_dims`` > 0): with ``P_x`` the row's top-``bound_dims`` principal coordinates plus its
      residual norm (:func:`_projection`), ``||x - c||^2 = 2 - 2 x . c >= 2 - 2 P_x . P_c``. One pass over the
      ``(N, bound_dims + 1)`` copy per pick instead of the ``(N, d)`` pool; in high dimension it rules out far more
      rows than triangle bounds between centres, which fail once distances concentrate.
    - Elkan's bound (ICML 2003), when ``bound_dims=0``: a row whose nearest centre ``a`` has
      ``||a - c|| >= 2 m_x`` keeps ``a``.

    Only the remaining rows are gathered from ``X`` for exact distances. BLAS runs single-threaded while pruning:
    the per-pick products are small, and on shared or few-core machines thread hand-off costs more than it saves
    (measured 10x slower on a loaded 2-core box). ``prune=False`` is the plain one-pass-per-pick version.

    stats: ``cluster`` (own rank), ``distance`` (cosine distance to the nearest earlier pick when chosen; NaN for
    the first pick and for ``initial`` rows), ``assign`` (N,) rank of each row's nearest pick, ``min_distance`` (N,)
    cosine distance to it, ``covering_radius``, ``rows_scanned`` (total rows whose exact distance was computed).
    """
    from threadpoolctl import threadpool_limits

    N = X.shape[0]
    if not 0 < n <= N:
        raise ValueError(f"n must be in 1..{N}, got {n}")
    picks = [int(i) for i in _unique_in_order(initial)]
    if len(picks) > n:
        raise ValueError(f"{len(picks)} initial rows but n = {n}")
    centers = np.empty((n, X.shape[1]), dtype=np.float32)
    # Euclidean distance to the nearest centre; chosen rows hold -1 so argmax never returns them, even when the
    # pool has fewer distinct vectors than n and every remaining distance is 0.
    mind = np.full(N, np.inf, dtype=np.float32)
    assign = np.full(N, -1, dtype=np.int64)
    pick_dist = np.full(n, np.nan, dtype=np.float32)
    scanned = 0
    project = prune and 0 < bound_dims < X.shape[1] and n > 1
    # threadpool_limits applies on creation and undoes on exit: one context for projection and picks.
    limits = threadpool_limits(limits=1, user_api="blas") if prune else _no_limits()
    P: np.ndarray | None = None
    # Row x is a candidate iff P_x . P_c > floor_x = 1 - m_x |m_x| / 2 (less a slack for float32 rounding), so one
    # product and one comparison per pick; floor_x changes only where m_x does. Chosen rows (m = -1) get 1.5:
    # never a candidate.
    floor = np.full(N, -np.inf, dtype=np.float32)

    def candidates(row: int, k: int) -> np.ndarray:
        if P is not None:
            return np.flatnonzero(P @ P[row] > floor)
        to_new = _to_euclid(centers[:k] @ centers[k])
        return np.flatnonzero(to_new[assign] < 2.0 * mind + 1e-4)

    def add(row: int, k: int) -> None:
        nonlocal scanned
        c = np.asarray(X[row], dtype=np.float32)
        centers[k] = c
        rows = candidates(row, k) if prune and k > 0 else None
        if rows is not None and len(rows) > N // 2:
            rows = None  # gathering most rows costs more than one straight pass
        if rows is None:
            d = _to_euclid(_dots(X, None, c, chunk_rows))
            idx = np.flatnonzero(d < mind)
            d = d[idx]
        else:
            d = _to_euclid(_dots_at(X, rows, c, chunk_rows))  # in place: a memmap pool is never gathered whole
            better = d < mind[rows]
            idx, d = rows[better], d[better]
        scanned += N if rows is None else len(rows)
        mind[idx], assign[idx] = d, k
        mind[row], assign[row] = -1.0, k
        if P is not None:
            idx = np.append(idx, row)
            floor[idx] = 1.0 - mind[idx] * np.abs(mind[idx]) / 2.0 - 1e-4

    with limits:
        if project:
            P = _projection(X, bound_dims, chunk_rows)
        for k, row in enumerate(picks):
            add(row, k)
        if not picks:
            picks.append(int(np.random.default_rng(seed).integers(N)))
            add(picks[0], 0)
        while len(picks) < n:
            row = int(np.argmax(mind))
            pick_dist[len(picks)] = float(mind[row]) ** 2 / 2.0
            picks.append(row)
            add(row, len(picks) - 1)
    cos_min = np.where(mind < 0, 0.0, mind**2 / 2.0).astype(np.float32)
    stats = {
        "cluster": np.arange(n),
        "distance": pick_dist,
        "assign": assign,
        "min_distance": cos_min,
        "covering_radius": float(cos_min.max()),
        "rows_scanned": scanned,
    }
    return np.asarray(picks, dtype=np.int64), stats


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
