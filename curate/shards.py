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
from codecurate.io import atomic_write, ensure_free_space, write_json

log = logging.getLogger(__name__)

INDEX = "index.json"
MATRIX = "embeddings.npy"
FORMAT = "codecurate-embedding-shards/1"
# Index fields that must match for shards to be reused: another model or precision gives other vectors.
SETTINGS = ("encoder", "backend", "max_seq_length")


# Rows read at a time when checking a vector file (bounded memory whatever the file size).
CHECK_ROWS = 65536


def check_vectors(
    path: str | os.PathLike, rows: int | None = None, dim: int | None = None, read_rows: bool = True
) -> str | None:
    """Why the .npy at `path` is not a whole (rows, dim) float32 matrix of unit rows, or None when it is.

    Checks the header, dtype, shape, that the file is exactly header + data long (a truncated or padded copy
    fails), and that every row is finite with norm 1 (zeroed blocks and garbage fail; the encoder always writes
    normalised rows). Reads the file once, in blocks of `CHECK_ROWS` rows; ``read_rows=False`` stops before
    the rows (header and length only: no data read).
    """
    path = Path(path)
    try:
        arr = np.load(path, mmap_mode="r")
        size = path.stat().st_size
    except (OSError, ValueError, EOFError) as e:
        return f"unreadable ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
    if arr.dtype != np.float32 or arr.ndim != 2:
        return f"holds {arr.dtype} of shape {arr.shape}, expected float32 rows"
    if (rows is not None and arr.shape[0] != rows) or (dim is not None and arr.shape[1] != dim):
        return f"has shape {arr.shape}, expected ({rows if rows is not None else 'N'}, {dim or 'd'})"
    if getattr(arr, "offset", 0) + arr.nbytes != size:
        return f"is {size} bytes, its header says {getattr(arr, 'offset', 0) + arr.nbytes}"
    if not read_rows:
        return None
    for s in range(0, arr.shape[0], CHECK_ROWS):
        norms = np.linalg.norm(np.asarray(arr[s : s + CHECK_ROWS], dtype=np.float32), axis=1)
        bad = np.flatnonzero(~(np.abs(norms - 1) <= 1e-3))  # NaN compares false: caught too
        if len(bad):
            return f"row {s + int(bad[0])} is not a unit vector (norm {norms[bad[0]]:.4g})"
    return None


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


def finished_shards(
    folder: Path, digests: np.ndarray, shard_rows: int, settings: dict[str, Any], verify: bool = True
) -> list[bool]:
    """Per shard of the current input: are its vectors on disk, for these texts and these encoder settings?

    A shard whose keys match the texts but whose files are damaged (torn, truncated, garbage; with `verify`, every
    row is read and checked, else only header and length) is reported in one line and deleted, so it is
    recomputed. Keys that simply differ (edited input) mean "not done", silently.
    """
    bounds = shard_bounds(len(digests), shard_rows)
    index = read_index(folder)
    if _other_settings(index, settings, shard_rows) is not None:
        return [False] * len(bounds)
    dim = index.get("dim") if index else None
    done = []
    for i, (s, e) in enumerate(bounds):
        keys, vecs = folder / f"{shard_name(i)}.keys.npy", folder / f"{shard_name(i)}.npy"
        if not (keys.is_file() and vecs.is_file()):
            done.append(False)
            continue
        try:
            mark = np.load(keys)
            problem = None if mark.dtype == np.uint8 and mark.shape == (e - s, 16) else f"keys of shape {mark.shape}"
        except (OSError, ValueError, EOFError) as err:
            mark, problem = None, f"unreadable keys ({err})"
        if problem is None and not np.array_equal(mark, digests[s:e]):
            done.append(False)  # other texts in these rows now: recomputed, nothing is wrong
            continue
        if problem is None:
            problem = check_vectors(vecs, e - s, dim, read_rows=verify)
        if problem is not None:
            log.warning("%s: damaged shard (%s); deleted, it is embedded again", vecs, problem)
            for f in (keys, vecs):
                f.unlink(missing_ok=True)
        done.append(problem is None)
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


def assemble(folder: Path, index: dict[str, Any], verify: bool = True) -> Path:
    """Concatenate the shards into one (N, d) .npy, one shard in memory at a time; written to a temp name and
    renamed, so the matrix is either whole or absent. Checks free space first (the matrix size is known), and
    every shard's rows unless the caller has just done so (`verify=False`: header and length only)."""
    path = folder / MATRIX
    tmp = folder / f".{MATRIX}.tmp"
    ensure_free_space(folder, 4 * index["rows"] * index["dim"] + 4096, f"the embedding matrix {MATRIX}")
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(index["rows"], index["dim"]))
        row = 0
        for shard in index["shards"]:
            shard_path = folder / f"{shard['name']}.npy"
            problem = check_vectors(shard_path, shard["rows"], index["dim"], read_rows=verify)
            if problem is not None:
                raise UserError(f"{shard_path}: damaged shard ({problem}); rerun the embedding (curate --executor "
                                "ray with the same input and -o) to recompute it")  # fmt: skip
            part = np.load(shard_path, mmap_mode="r")
            out[row : row + len(part)] = part
            row += len(part)
        out.flush()
        del out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def open_shards(folder: str | os.PathLike) -> np.ndarray:
    """The (N, d) float32 pool of a complete shard folder, memory-mapped (the matrix is rebuilt if missing or
    damaged)."""
    folder = Path(folder)
    index = read_index(folder)
    if index is None:
        raise UserError(f"{folder}: no {INDEX} (not an embedding shard folder)")
    if not index.get("complete"):
        raise UserError(f"{folder}: the shard index is incomplete (the embedding run stopped early); rerun it")
    matrix = folder / MATRIX
    if matrix.is_file():
        problem = check_vectors(matrix, index["rows"], index["dim"])
        if problem is not None:
            log.warning("%s: damaged matrix (%s); rebuilt from the shards", matrix, problem)
            matrix.unlink()
    if not matrix.is_file():
        assemble(folder, index)
    return np.load(matrix, mmap_mode="r")
