"""``codecurate curate --executor ray``: embed the pool with a Ray Data actor pool into resumable shards.

    codecurate curate seeds.jsonl -n 20000 --executor ray --ray-address auto --ray-gpus-per-worker 1 -o run/c.jsonl

Each pending shard (curate/shards.py) is one Arrow block of ``(row, text)``; ``map_batches`` sends it whole to an
encoder actor (the model is loaded once per actor, on a GPU when ``gpus_per_worker`` > 0). Vectors come back to
the driver in input order and the driver writes each shard as soon as its rows are in, so workers need no shared
filesystem and a killed job loses only the shards in flight. Scheduling, retries and backpressure are Ray Data's.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codecurate.curate import shards
from codecurate.curate.embed import (
    EncoderSettings,
    encode,
    encoder_settings,
    load_encoder,
    resolve_backend,
    text_digests,
)
from codecurate.io import ensure_free_space
from codecurate.raycluster import connect

log = logging.getLogger(__name__)


class ShardEncoder:
    """Ray Data actor: loads the encoder once, then embeds one batch of ``text`` rows per call. `settings` has its
    backend and device resolved (by the driver)."""

    def __init__(self, settings: EncoderSettings):
        s = settings
        self.model = load_encoder(s.encoder, s.encoder_backend, s.device, s.max_seq_length)
        self.batch_size = s.batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"row": batch["row"], "emb": encode(self.model, batch["text"].tolist(), self.batch_size)}


def pool_size(ray: Any, workers: int, gpus_per_worker: float, pending: int) -> int:
    """Actors to start: ``workers`` if set, else one per GPU share (GPU) or one per CPU (CPU), never more than
    there are pending shards (an actor without a shard only costs a model load)."""
    if not workers:
        res = ray.cluster_resources()
        workers = int(res.get("GPU", 0) // gpus_per_worker) if gpus_per_worker > 0 else int(res.get("CPU", 1))
    return max(1, min(workers, pending))


def embed_shards_ray(
    texts: Sequence[str],
    folder: str | os.PathLike,
    settings: EncoderSettings | None = None,
    shard_rows: int = 2048,
    address: str = "",
    workers: int = 0,
    gpus_per_worker: float = 0.0,
    **fields: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embed `texts` into shards under `folder`, skipping shards finished by an earlier run.

    Returns ``((N, d) float32 unit rows memory-mapped from folder/embeddings.npy, stats)``; stats: ``embedded``
    (rows encoded by this call), ``cached`` (rows of reused shards), ``shards``, ``shards_reused``, ``backend``,
    ``device``, ``embeddings_dir``. Keyword `fields` replace fields of `settings` (`embed.encoder_settings`).
    """
    folder = Path(folder)
    enc = encoder_settings(settings, **fields)
    device = enc.device
    if device == "auto":
        # Resolved on the driver, which may have no GPU while the workers do: the GPU request decides.
        device = "cuda" if gpus_per_worker > 0 else "cpu"
    digests = text_digests(texts)
    # The pool as auto's calibration sample (duplicates barely move an evenly spaced sample of 256).
    backend = resolve_backend(enc.encoder_backend, device, enc.encoder, enc.max_seq_length, texts)
    enc = dataclasses.replace(enc, encoder_backend=backend, device=device)  # type: ignore[arg-type]
    made_with = {"encoder": enc.encoder, "backend": backend, "max_seq_length": enc.max_seq_length}
    bounds = shards.shard_bounds(len(texts), shard_rows)
    index = shards.read_index(folder)
    # Nothing to do when every shard's keys match and the matrix is whole: then only the matrix, which selection
    # reads anyway, is checked row by row (the shards only by header and length).
    done = shards.finished_shards(folder, digests, shard_rows, made_with, verify=False)
    if all(done) and index and index.get("complete") and (folder / shards.MATRIX).is_file():
        problem = shards.check_vectors(folder / shards.MATRIX, len(texts), index.get("dim"))
        if problem is None:
            stats = _stats(len(texts), bounds, [], backend, device, folder)
            return np.load(folder / shards.MATRIX, mmap_mode="r"), stats
        log.warning("%s: damaged matrix (%s); rebuilt from the shards", folder / shards.MATRIX, problem)
        (folder / shards.MATRIX).unlink()
    done = shards.finished_shards(folder, digests, shard_rows, made_with)
    pending = [i for i, ok in enumerate(done) if not ok]
    stats = _stats(len(texts), bounds, pending, backend, device, folder)
    folder.mkdir(parents=True, exist_ok=True)
    shards.discard_stale(folder, made_with, shard_rows)
    dim = index.get("dim") if index and not pending else None
    shards.write_index(folder, made_with, len(texts), shard_rows, dim, complete=False)
    if pending:
        dim = _run_actors(texts, digests, folder, bounds, pending, enc, address, workers, gpus_per_worker)
    if dim is None:  # every shard reused but the matrix or index is missing: read d from a shard
        dim = int(np.load(folder / f"{shards.shard_name(0)}.npy", mmap_mode="r").shape[1])
    index = shards.write_index(folder, made_with, len(texts), shard_rows, dim, complete=False)
    shards.assemble(folder, index, verify=False)  # reused shards were checked above, the others just written
    shards.write_index(folder, made_with, len(texts), shard_rows, dim, complete=True)
    return np.load(folder / shards.MATRIX, mmap_mode="r"), stats


def _stats(rows: int, bounds: list[tuple[int, int]], pending: list[int], backend: str, device: str,
           folder: Path) -> dict[str, Any]:  # fmt: skip
    embedded = sum(bounds[i][1] - bounds[i][0] for i in pending)
    return {"embedded": embedded, "cached": rows - embedded, "shards": len(bounds),
            "shards_reused": len(bounds) - len(pending), "backend": backend, "device": device,
            "embeddings_dir": str(folder)}  # fmt: skip


def _run_actors(
    texts: Sequence[str], digests: np.ndarray, folder: Path, bounds: list[tuple[int, int]], pending: list[int],
    settings: EncoderSettings, address: str, workers: int, gpus_per_worker: float,
) -> int:  # fmt: skip
    """Embed the pending shards with an actor pool and write each as its rows arrive; returns d."""
    import pyarrow as pa
    from tqdm.auto import tqdm

    ray = connect(address or None)
    blocks = []
    for i in pending:
        s, e = bounds[i]
        blocks.append(pa.table({"row": np.arange(s, e, dtype=np.int64), "text": list(texts[s:e])}))
    size = pool_size(ray, workers, gpus_per_worker, len(pending))
    log.info("embedding %d shards with %d Ray actors (%s)", len(pending), size, settings.device)
    out = ray.data.from_arrow(blocks).map_batches(
        ShardEncoder,
        fn_constructor_kwargs={"settings": settings},
        batch_size=max(e - s for s, e in bounds),  # one call per shard: the encoder buckets the whole shard by length
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=size),
        num_cpus=1,
        num_gpus=gpus_per_worker or None,
    )  # fmt: skip
    todo = iter(pending)
    shard = next(todo)
    buf: list[np.ndarray] = []
    filled = bounds[shard][0]
    dim = 0
    with tqdm(total=sum(bounds[i][1] - bounds[i][0] for i in pending), desc="embed (ray)", unit="text") as bar:
        for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
            rows, emb = batch["row"], np.asarray(batch["emb"], dtype=np.float32)
            if not dim:  # d is known from the first vectors: the pending shards plus the matrix must fit
                dim = emb.shape[1]
                need = 4 * dim * (bar.total + bounds[-1][1])
                ensure_free_space(folder, need, f"{bar.total} embedding rows and the {bounds[-1][1]}-row matrix")
            # Rows arrive in input order (preserve_order); a shard is written once its last row is in.
            while len(rows):
                s, e = bounds[shard]
                if rows[0] != filled:
                    raise RuntimeError(f"Ray returned row {rows[0]}, expected {filled}")
                take = min(len(rows), e - filled)
                buf.append(emb[:take])
                filled += take
                rows, emb = rows[take:], emb[take:]
                if filled == e:
                    shards.write_shard(folder, shard, np.concatenate(buf), digests[s:e])
                    bar.update(e - s)
                    buf = []
                    shard = next(todo, -1)
                    filled = bounds[shard][0] if shard >= 0 else -1
    if shard != -1:
        raise RuntimeError(f"Ray returned no vectors for shard {shard} onward")
    return dim
