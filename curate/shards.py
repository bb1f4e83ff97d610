"""Embeddings stored as row shards plus an index, so a Ray job can write them piece by piece and resume.

Layout of ``<out-stem>.embeddings/`` (``curate --executor ray``; also accepted by ``curate --embeddings DIR``)::

    index.json               settings, shard list; "complete": true once every shard and the matrix exist
    shard-00000.npy          (m, d) float32 unit rows: pool rows [0, m)
    shard-00000.keys.npy     (m, 16) uint8 sha256(text)[:16] per row, written after the vectors (the commit mark)
    ...
    embeddings.npy           (N, d) float32: the shards concatenated, what selection memory-maps

Shard i holds pool rows ``[i * shard_rows, (i + 1) * shard_rows)``: boundaries depend only on the row count and
``shard_rows``, so a rerun maps every row to the same shard. A shard counts as finished when its keys file matches
the digests of the texts now in those rows, so edited input is re-embedded where it changed and nowhere else.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from codecurate.errors import UserError
from codecurate.io import atomic_write, write_json

log = logging.getLogger(__name__)

INDEX = "index.json"
MATRIX = "embeddings.npy"
FORMAT = "codecurate-embedding-shards/1"
# Index fields that must match for shards to be reused: another model or precision gives other vectors.
SETTINGS = ("encoder", "backend", "max_seq_length")


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


def shard_bounds(rows: int, shard_rows: int) -> list[tuple[int, int]]:
    return [(s, min(rows, s + shard_rows)) for s in range(0, rows, shard_rows)]


def read_index(folder: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(folder) / INDEX
    if not path.is_file():
        return None
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: cannot read the shard index: {e}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise UserError(f"{path}: not a codecurate embedding shard index (format {FORMAT!r} expected)")
    return index


def _other_settings(index: dict[str, Any] | None, settings: dict[str, Any], shard_rows: int) -> dict | None:
    """The index's settings when they differ from ours (its shards are then not ours to reuse), else None."""
    if index is None:
        return None
    old = {k: index.get(k) for k in (*SETTINGS, "shard_rows")}
    return old if old != {**settings, "shard_rows": shard_rows} else None


def discard_stale(folder: Path, settings: dict[str, Any], shard_rows: int) -> int:
    """Delete the commit marks (keys files) of shards made with other settings, before our index replaces theirs:
    a later run must not take them for ours. Returns how many were deleted."""
    old = _other_settings(read_index(folder), settings, shard_rows)
    if old is None:
        return 0
    marks = sorted(folder.glob("shard-*.keys.npy"))
    log.warning("%s: embedded with %s; re-embedding every shard with %s", folder, old,
                {**settings, "shard_rows": shard_rows})  # fmt: skip
    for mark in marks:
        mark.unlink()
    return len(marks)


def finished_shards(folder: Path, digests: np.ndarray, shard_rows: int, settings: dict[str, Any]) -> list[bool]:
    """Per shard of the current input: are its vectors on disk, for these texts and these encoder settings?"""
    bounds = shard_bounds(len(digests), shard_rows)
    if _other_settings(read_index(folder), settings, shard_rows) is not None:
        return [False] * len(bounds)
    done = []
    for i, (s, e) in enumerate(bounds):
        keys, vecs = folder / f"{shard_name(i)}.keys.npy", folder / f"{shard_name(i)}.npy"
        ok = False
        if keys.is_file() and vecs.is_file():
            try:
                ok = np.array_equal(np.load(keys), digests[s:e]) and np.load(vecs, mmap_mode="r").shape[0] == e - s
            except (OSError, ValueError):
                ok = False  # a torn or foreign file: recompute the shard
        done.append(ok)
    return done


def write_shard(folder: Path, i: int, emb: np.ndarray, digests: np.ndarray) -> None:
    """Vectors first, keys last: a shard whose keys file exists is complete (each file is written atomically)."""
    with atomic_write(folder / f"{shard_name(i)}.npy", "wb") as fh:
        np.save(fh, np.ascontiguousarray(emb, dtype=np.float32))
    with atomic_write(folder / f"{shard_name(i)}.keys.npy", "wb") as fh:
        np.save(fh, digests)


def write_index(folder: Path, settings: dict[str, Any], rows: int, shard_rows: int, dim: int | None,
                complete: bool) -> dict[str, Any]:  # fmt: skip
    bounds = shard_bounds(rows, shard_rows)
    index = {
        "format": FORMAT, **settings, "dim": dim, "dtype": "float32", "rows": rows, "shard_rows": shard_rows,
        "shards": [{"name": shard_name(i), "rows": e - s} for i, (s, e) in enumerate(bounds)],
        "matrix": MATRIX, "complete": complete,
    }  # fmt: skip
    write_json(folder / INDEX, index)
    return index


def assemble(folder: Path, index: dict[str, Any]) -> Path:
    """Concatenate the shards into one (N, d) .npy, one shard in memory at a time; written to a temp name and
    renamed, so the matrix is either whole or absent."""
    path = folder / MATRIX
    tmp = folder / f".{MATRIX}.tmp"
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(index["rows"], index["dim"]))
    row = 0
    for shard in index["shards"]:
        try:
            part = np.load(folder / f"{shard['name']}.npy", mmap_mode="r")
        except (OSError, ValueError) as e:
            raise UserError(f"{folder / shard['name']}.npy: cannot read the shard: {e}") from None
        if part.shape != (shard["rows"], index["dim"]):
            raise UserError(f"{folder / shard['name']}.npy: shape {part.shape}, index says ({shard['rows']}, "
                            f"{index['dim']})")  # fmt: skip
        out[row : row + len(part)] = part
        row += len(part)
    out.flush()
    del out
    os.replace(tmp, path)
    return path


def open_shards(folder: str | os.PathLike) -> np.ndarray:
    """The (N, d) float32 pool of a complete shard folder, memory-mapped (the matrix is rebuilt if missing)."""
    folder = Path(folder)
    index = read_index(folder)
    if index is None:
        raise UserError(f"{folder}: no {INDEX} (not an embedding shard folder)")
    if not index.get("complete"):
        raise UserError(f"{folder}: the shard index is incomplete (the embedding run stopped early); rerun it")
    if not (folder / MATRIX).is_file():
        assemble(folder, index)
    return np.load(folder / MATRIX, mmap_mode="r")
