"""Records in, records out: JSONL / JSONL.gz / Parquet readers with precise errors, atomic and append-only writers.

Every stage reads and writes plain files through these helpers, so any intermediate file can be opened with
``datasets.load_dataset("json", data_files=...)`` or ``pandas.read_json(..., lines=True)``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from codecurate.errors import UserError, at

JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")


def iter_records(path: str | os.PathLike, required: Sequence[str] = ()) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, record)`` from a JSONL(.gz) or Parquet file.

    Line numbers are 1-based (row numbers for Parquet) so errors can point at the exact place.
    Raises `UserError` for unreadable files, non-UTF-8 bytes, bad JSON, non-object lines and missing fields.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a .jsonl, .jsonl.gz or .parquet file")
    name = path.name.lower()
    if name.endswith(".parquet"):
        yield from _iter_parquet(path, required)
        return
    if not name.endswith(JSONL_SUFFIXES):
        raise UserError(f"{path}: unsupported file type (expected .jsonl, .jsonl.gz or .parquet)")
    opener = gzip.open if name.endswith(".gz") else open
    try:
        fh = opener(path, "rb")
    except OSError as e:
        raise UserError(f"{path}: cannot open: {e.strerror or e}") from None
    with fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline()
            except (OSError, EOFError) as e:  # truncated or corrupt gzip stream
                raise UserError(f"{at(path, lineno + 1)}: cannot read: {e}") from None
            if not raw:
                break
            lineno += 1
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserError(f"{at(path, lineno)}: not valid UTF-8 (byte {e.start})") from None
            try:
                record = json.loads(text)
            except json.JSONDecodeError as e:
                raise UserError(f"{at(path, lineno)}: invalid JSON: {e.msg} at column {e.colno}") from None
            if not isinstance(record, dict):
                raise UserError(f"{at(path, lineno)}: expected a JSON object, got {type(record).__name__}")
            check_fields(record, required, path, lineno)
            yield lineno, record


def _iter_parquet(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several unrelated types for corrupt files
        raise UserError(f"{path}: cannot read Parquet: {e}") from None
    missing = [f for f in required if f not in table.column_names]
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; available: {', '.join(table.column_names)}"
        )
    for i, record in enumerate(table.to_pylist(), start=1):
        check_fields(record, required, path, i)
        yield i, record


def check_fields(record: dict, required: Sequence[str], path: object, lineno: int | None) -> None:
    """Raise a `UserError` naming file, line and field when a required field is absent or null."""
    for field in required:
        if record.get(field) is None:
            raise UserError(f"{at(path, lineno, field)}: missing required field")


def read_records(path: str | os.PathLike, required: Sequence[str] = ()) -> list[dict]:
    """All records of a file (see `iter_records`); raises `UserError` when the file holds none."""
    records = [r for _, r in iter_records(path, required)]
    if not records:
        raise UserError(f"{path}: empty input (no records)")
    return records


def read_any(path: str | os.PathLike, required: Sequence[str] = ()) -> list[dict]:
    """Records from JSONL(.gz) or Parquet, or from a ``.json`` file holding one array (or object) of records.

    Benchmark files come in both shapes (MBPP sanitized is one JSON array, HumanEval is JSONL).
    """
    path = Path(path)
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"{path}: cannot read: {e}") from None
        except json.JSONDecodeError:
            data = None  # not one JSON document: JSON lines under a .json name
        if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
            data = list(data.values())  # {task_id: problem}
        if isinstance(data, list):
            for i, record in enumerate(data, start=1):
                if not isinstance(record, dict):
                    raise UserError(f"{at(path, i)}: expected a JSON object, got {type(record).__name__}")
                check_fields(record, required, path, i)
            return data
    return [r for _, r in iter_records(path, required)]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temporary file beside `path` and rename it into place only if the block succeeds.

    A crash or an exception leaves no partial file at `path` (and the old content, if any, untouched).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs should look like any other file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps(record: Any) -> str:
    """One JSON line; non-ASCII kept readable, numpy scalars converted."""
    return json.dumps(record, ensure_ascii=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> int:
    """Atomically write records as JSONL; returns how many were written."""
    n = 0
    with atomic_write(path) as fh:
        for record in records:
            fh.write(dumps(record) + "\n")
            n += 1
    return n


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write pretty JSON."""
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False, default=_json_default)
        fh.write("\n")


class JsonlAppender:
    """Append-only JSONL output for resumable jobs.

    On open, a torn last line (the process died mid-write) is cut off, so the file always holds whole records;
    `existing` holds what earlier runs finished, for the caller to skip. Each `write` is flushed at once, so a
    kill loses at most the record being written.
    """

    def __init__(self, path: str | os.PathLike, fsync: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.existing: list[dict] = _repair_and_load(self.path)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, record: dict) -> None:
        self._fh.write(dumps(record) + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _repair_and_load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):  # torn write: drop the partial last line
        with open(path, "r+b") as fh:
            fh.truncate(end)
        data = data[:end]
    records = []
    for lineno, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UserError(f"{at(path, lineno)}: corrupt record in resumable output; move the file away") from None
    return records


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_text(*parts: str) -> str:
    """Hex SHA-256 of text parts joined by NUL (so ('ab','c') and ('a','bc') differ)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
