"""Embed seed records and select a small, diverse coreset of them.

    codecurate curate seeds.jsonl -n 1000 --method kcenter -o run/coreset.jsonl --report

Methods: ``kcenter`` (greedy farthest point: smallest covering radius, the WaveCoder choice), ``kmeans`` (the
record nearest each of n spherical k-means centroids: typical rather than extreme examples), ``random`` (baseline).
Embeddings come from sentence-transformers (default: all-MiniLM-L6-v2, shipped as a pip package) and are cached
on disk, so an interrupted run resumes where it stopped and a rerun with another -n or method embeds nothing.
Distances are cosine distances (1 - cos) on L2-normalised embeddings.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from codecurate.config import flat_names, to_dict
from codecurate.curate.embed import EncoderSettings
from codecurate.errors import UserError, at
from codecurate.io import iter_records, side_path, write_json, write_jsonl
from codecurate.locks import output_lock
from codecurate.manifest import write_manifest
from codecurate.raycluster import RayOptions
from codecurate.records import SEED_REQUIRED, seed_id
from codecurate.timer import Timings

log = logging.getLogger(__name__)


@flat_names
@dataclass
class CurateConfig:
    input: str = field(metadata={"help": "seed records (.jsonl, .jsonl.gz, .parquet) with 'code' and 'language'",
                                 "positional": True})  # fmt: skip
    output: str = field(default="coreset.jsonl", metadata={"help": "output JSONL", "aliases": ["-o"]})
    n: int = field(default=1000, metadata={"help": "coreset size", "aliases": ["-n"]})
    method: Literal["kcenter", "kmeans", "random"] = field(default="kcenter", metadata={"help": "selection method"})
    seed: int = field(default=0, metadata={"help": "random seed (first k-center pick, k-means init, random)"})
    quota: list[str] = field(
        default_factory=list,
        metadata={"help": "per-language sizes, e.g. python=600 java=0.25 (a fraction of n); languages not listed "
                  "share the rest of n in proportion to their pool size"},
    )  # fmt: skip
    initial: str = field(
        default="",
        metadata={"help": "JSONL of already chosen records (matched by 'id'): kept first, the coreset grows around "
                  "them (kcenter, random)"},
    )  # fmt: skip
    embed_field: Literal["code", "docstring", "both"] = field(
        default="code", metadata={"help": "what to embed: code, docstring, or docstring + code without docstring"}
    )
    # --encoder, --encoder-backend, --device, --batch-size, --max-seq-length: handed whole to the embedding code
    encoding: EncoderSettings = field(default_factory=EncoderSettings)
    embeddings: str = field(
        default="",
        metadata={"help": "precomputed embeddings aligned with the input rows, an (N, d) .npy or a shard folder "
                  "written by --executor ray: skips the encoder"},
    )  # fmt: skip
    cache_dir: str = field(default="", metadata={"help": "embedding cache (default: $CODECURATE_CACHE/embeddings)"})
    cache: bool = field(default=True, metadata={"help": "read and write the embedding cache"})
    chunk_size: int = field(
        default=2048, metadata={"help": "texts per cached chunk or Ray shard (what a crash can lose)"}
    )
    # --executor ray embeds with a Ray Data actor pool into <out>.embeddings/ shards (resumable); selection still
    # runs here, over the memory-mapped shards (docs/curate.md). --ray-workers: encoder actors.
    ray: RayOptions = field(default_factory=RayOptions)
    kmeans_iter: int = field(default=20, metadata={"help": "k-means iterations"})
    kmeans_sample: int = field(
        default=0,
        metadata={"help": "most rows k-means trains on, held in RAM (0: FAISS's 256 per centroid, up to the whole "
                  "pool); every row is still assigned, streamed"},
    )  # fmt: skip
    report: bool = field(default=False, metadata={"help": "write <out>.report.json and <out>.map.png"})
    map_points: int = field(default=20000, metadata={"help": "pool points drawn on the map (sampled)"})


def read_pool(path: str, required: tuple[str, ...]) -> tuple[list[dict], list[int]]:
    """Records and their line numbers; `code`/`language` must be strings."""
    records, lines = [], []
    for lineno, rec in iter_records(path, required):
        for name in required:
            if not isinstance(rec[name], str):
                raise UserError(f"{at(path, lineno, name)}: expected a string, got {type(rec[name]).__name__}")
        records.append(rec)
        lines.append(lineno)
    if not records:
        raise UserError(f"{path}: empty input (no records)")
    return records, lines


def parse_quotas(specs: list[str], n: int, languages: list[str]) -> dict[str, int]:
    """``["python=600", "java=0.25"]`` -> language -> count; unlisted languages share the rest of n by pool size."""
    available = Counter(languages)
    quotas: dict[str, int] = {}
    for spec in specs:
        lang, sep, value = spec.partition("=")
        try:
            num = float(value) if sep else -1.0
        except ValueError:
            num = -1.0
        if num < 0 or (num != int(num) and num >= 1):
            raise UserError(f"--quota {spec!r}: expected LANGUAGE=COUNT or LANGUAGE=FRACTION (0 < f < 1)")
        if lang not in available:
            raise UserError(f"--quota {spec!r}: no '{lang}' records in the pool (have: {', '.join(sorted(available))})")
        quotas[lang] = round(num * n) if 0 < num < 1 else int(num)
        if quotas[lang] > available[lang]:
            raise UserError(f"--quota {spec!r}: asks {quotas[lang]} but the pool has {available[lang]} '{lang}'")
    rest = n - sum(quotas.values())
    others = {lang: c for lang, c in sorted(available.items()) if lang not in quotas}
    if rest < 0 or (rest > 0 and rest > sum(others.values())):
        raise UserError(f"--quota: the quotas take {sum(quotas.values())} of n = {n}, and the languages not listed "
                        f"hold {sum(others.values())} records for the remaining {rest}")  # fmt: skip
    if rest and others:
        total = sum(others.values())
        share = {lang: rest * c / total for lang, c in others.items()}
        alloc = {lang: min(int(s), others[lang]) for lang, s in share.items()}
        # Largest remainder first; a language already full gives its turn to the next.
        for lang in sorted(share, key=lambda x: (alloc[x] - share[x], x)) * 2:
            if sum(alloc.values()) == rest:
                break
            if alloc[lang] < others[lang]:
                alloc[lang] += 1
        quotas.update(alloc)
    return {lang: q for lang, q in quotas.items() if q > 0}


def select(
    X: np.ndarray, n: int, method: str, seed: int, initial: np.ndarray, kmeans_iter: int, kmeans_sample: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    from codecurate.curate import select as sel

    if method == "kcenter":
        return sel.kcenter(X, n, seed=seed, initial=initial)
    if method == "kmeans":
        return sel.kmeans(X, n, seed=seed, niter=kmeans_iter, max_train=kmeans_sample)
    return sel.random_subset(X, n, seed=seed, initial=initial)


def select_by_language(
    X: np.ndarray, languages: list[str], quotas: dict[str, int], method: str, seed: int, initial: np.ndarray,
    kmeans_iter: int, kmeans_sample: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Select within each language; merge so every prefix keeps the quota proportions. Returns rows, cluster,
    distance (cluster ids are offset per language so they stay unique)."""
    langs = np.asarray(languages)
    parts = []
    offset = 0
    for lang, q in sorted(quotas.items()):
        rows = np.flatnonzero(langs == lang)
        local_init = np.flatnonzero(np.isin(rows, initial))
        if len(local_init) > q:
            raise UserError(f"--initial holds {len(local_init)} '{lang}' records but its quota is {q}")
        idx, st = select(X[rows], q, method, seed, local_init, kmeans_iter, kmeans_sample)
        order_key = (np.arange(q) + 0.5) / q
        parts.append((order_key, rows[idx], st["cluster"] + offset, st["distance"]))
        offset += q
    key, rows, cluster, dist = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.argsort(key, kind="stable")
    return rows[order], cluster[order], dist[order]


def load_embeddings(path: str, pool: int) -> np.ndarray:
    """A precomputed (N, d) matrix or shard folder, memory-mapped; normalised in RAM only if its rows are not unit
    length."""
    from codecurate.curate.shards import open_shards

    try:
        X = open_shards(path) if Path(path).is_dir() else np.load(path, mmap_mode="r")
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read embeddings: {e}") from None
    if X.ndim != 2 or X.shape[0] != pool:
        raise UserError(f"{path}: expected shape ({pool}, d) to match the input records, got {X.shape}")
    probe = np.asarray(X[:: max(1, pool // 1000)], dtype=np.float32)
    if np.abs(np.linalg.norm(probe, axis=1) - 1).max() > 1e-3 or X.dtype != np.float32:
        log.warning("%s: rows are not unit-length float32; normalising a copy in memory", path)
        X = np.asarray(X, dtype=np.float32)
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    return X


def initial_rows(path: str, ids: list[str]) -> np.ndarray:
    where = {rid: i for i, rid in enumerate(ids)}
    rows = []
    for lineno, rec in iter_records(path, ("id",)):
        if rec["id"] not in where:
            raise UserError(f"{at(path, lineno, 'id')}: {rec['id']!r} is not in the input pool")
        rows.append(where[rec["id"]])
    return np.asarray(rows, dtype=np.int64)


def _float_or_none(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 6)


def _embed(cfg: CurateConfig, records: list[dict], out: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """The pool's vectors and embedding stats: precomputed (``--embeddings``), by Ray actors, or in this process."""
    from codecurate.curate.embed import texts_for

    if cfg.embeddings:
        return load_embeddings(cfg.embeddings, len(records)), {"embedded": 0, "cached": 0}
    texts = texts_for(records, cfg.embed_field)
    if cfg.ray.executor == "ray":
        from codecurate.curate.embed_ray import embed_shards_ray

        return embed_shards_ray(
            texts, side_path(out, "embeddings"), cfg.encoding, shard_rows=cfg.chunk_size,
            address=cfg.ray.ray_address, workers=cfg.ray.ray_workers, gpus_per_worker=cfg.ray.ray_gpus_per_worker,
        )  # fmt: skip
    from codecurate.curate.embed import embed_texts

    return embed_texts(texts, cfg.encoding, cache=cfg.cache_dir or None, chunk_size=cfg.chunk_size,
                       use_cache=cfg.cache)  # fmt: skip


def run(cfg: CurateConfig) -> dict[str, Any]:
    """The curate stage, under the lock of its output (one writer per output, also for library callers)."""
    with output_lock(cfg.output):
        return _run(cfg)


def _run(cfg: CurateConfig) -> dict[str, Any]:
    timings = Timings()
    out = Path(cfg.output)
    if cfg.n < 1:
        raise UserError(f"-n must be at least 1, got {cfg.n}")
    if cfg.chunk_size < 1 or cfg.encoding.batch_size < 1:
        raise UserError("--chunk-size and --batch-size must be at least 1")
    if cfg.kmeans_sample < 0 or (cfg.method == "kmeans" and 0 < cfg.kmeans_sample < cfg.n):
        raise UserError(f"--kmeans-sample must be 0 or at least -n ({cfg.n}), got {cfg.kmeans_sample}")
    if cfg.ray.ray_workers < 0 or cfg.ray.ray_gpus_per_worker < 0:
        raise UserError("--ray-workers and --ray-gpus-per-worker must be >= 0")
    if cfg.initial and cfg.method == "kmeans":
        raise UserError("--initial works with kcenter and random, not kmeans")
    required = SEED_REQUIRED + (("docstring",) if cfg.embed_field == "docstring" else ())
    with timings("read"):
        records, _ = read_pool(cfg.input, required)
    N = len(records)
    if cfg.n > N:
        raise UserError(f"{cfg.input}: -n {cfg.n} is larger than the pool ({N} records)")
    ids = [r.get("id") or seed_id(r) for r in records]
    languages = [r["language"] for r in records]
    quotas = parse_quotas(cfg.quota, cfg.n, languages) if cfg.quota else {}
    initial = initial_rows(cfg.initial, ids) if cfg.initial else np.zeros(0, dtype=np.int64)

    with timings("embed"):
        X, est = _embed(cfg, records, out)
    with timings("select"):
        if quotas:
            rows, cluster, dist = select_by_language(
                X, languages, quotas, cfg.method, cfg.seed, initial, cfg.kmeans_iter, cfg.kmeans_sample
            )
        else:
            rows, st = select(X, cfg.n, cfg.method, cfg.seed, initial, cfg.kmeans_iter, cfg.kmeans_sample)
            cluster, dist = st["cluster"], st["distance"]
    if len(np.unique(rows)) != cfg.n:  # an invariant of the selection functions, checked because output depends on it
        raise RuntimeError(f"selection returned {len(np.unique(rows))} unique rows, expected {cfg.n}")

    selected = []
    for rank, (row, c, d) in enumerate(zip(rows.tolist(), cluster.tolist(), dist.tolist(), strict=True)):
        rec = dict(records[row])
        rec.setdefault("id", ids[row])
        rec["selection"] = {"method": cfg.method, "rank": rank, "cluster": int(c), "distance": _float_or_none(d)}
        selected.append(rec)
    with timings("write"):
        write_jsonl(out, selected)
    summary: dict[str, Any] = {
        "pool": N, "selected": cfg.n, "embedded": int(est["embedded"]), "cached": int(est["cached"]),
        "method": cfg.method, "by_language": dict(sorted(Counter(records[r]["language"] for r in rows).items())),
    }  # fmt: skip
    if cfg.report:
        from codecurate.curate.diversity import diversity_report, plot_map

        with timings("report"):
            report = diversity_report(X, rows, cfg.method, seed=cfg.seed)
            write_json(side_path(out, "report.json"), report)
            plot_map(X, rows, side_path(out, "map.png"), f"{cfg.method} coreset, n = {cfg.n:,}", cfg.map_points,
                     cfg.seed)  # fmt: skip
        summary["covering_radius"] = report["covering_radius"]
        summary["random_covering_radius"] = report["random"]["covering_radius"]
        summary["mean_nearest_distance"] = report["mean_nearest_distance"]
    inputs = [cfg.input] + [p for p in (cfg.embeddings, cfg.initial) if p]
    counts = {k: summary[k] for k in ("pool", "selected", "embedded", "cached")}
    write_manifest(out, "curate", to_dict(cfg), inputs=inputs, counts=counts, timings=dict(timings))
    if "embeddings_dir" in est:
        summary["embeddings"] = est["embeddings_dir"]
    summary["output"] = str(out)
    return summary
