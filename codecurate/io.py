"""Records in, records out: JSONL / JSONL.gz / Parquet readers with precise errors, atomic and append-only writers.

Every stage reads and writes plain files through these helpers, so any intermediate file can be opened with
``datasets.load_dataset("json", data_files=...)`` or ``pandas.read_json(..., lines=True)``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

# The faults of the place written to live in codecurate.disk (locks needs them and io needs locks: no cycle); io
# keeps their names for the callers that import them from here.
from codecurate.disk import DiskError, disk_error, ensure_free_space, human_bytes, os_error_of  # noqa: F401
from codecurate.errors import UserError, at

JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")
# Every file `iter_records` reads: the one list of record-file suffixes (mine tells record files from source files
# by it).
RECORD_SUFFIXES = (*JSONL_SUFFIXES, ".parquet")


def is_record_file(path: str | os.PathLike) -> bool:
    """True for a name `iter_records` reads (case-insensitive suffix)."""
    return Path(path).name.lower().endswith(RECORD_SUFFIXES)


log = logging.getLogger(__name__)


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
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", what: str | None = None
) -> Iterator[IO]:
    """Write to a temporary file beside `path` and rename it into place only if the block succeeds.

    A crash or an exception leaves no partial file at `path` (and the old content, if any, untouched). A full,
    read-only or forbidden place raises a one-line `DiskError` naming the path and `what` (default: the file).
    """
    path = Path(path)
    what = what or "this file"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise disk_error(e, path, f"writing {what}") from None
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs should look like any other file
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise disk_error(e, path, f"writing {what}") from None
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
    """Append-only JSONL output for resumable jobs, with one writer at a time.

    On open it takes the file's lock (`codecurate.locks.output_lock`: a second process appending to the same file
    is refused at once, naming the holder), then checks the file: a torn last line (the process died mid-write)
    is cut off, and damaged lines elsewhere (garbage or zeroed bytes from a disk or copy fault) are dropped in one
    warning, so the caller recomputes them. `existing` holds the whole records earlier runs finished, for the
    caller to skip. Each `write` is flushed at once, so a kill loses at most the record being written. A full or
    read-only disk raises a one-line `DiskError`; later writes on the same appender are refused.
    """

    def __init__(self, path: str | os.PathLike, fsync: bool = False):
        from codecurate.locks import output_lock

        self.path = Path(path)
        self.fsync = fsync
        self._lock = output_lock(self.path)
        self._lock.__enter__()  # creates the folder; released in close()
        self._failed = False
        try:
            self.existing: list[dict] = _repair_and_load(self.path)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        except OSError as e:
            self._lock.__exit__(None, None, None)
            raise disk_error(e, self.path, "opening a resumable output") from None
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise

    def write(self, record: dict) -> None:
        if self._failed:
            raise DiskError(f"{self.path}: an earlier write failed; rerun the same command to resume")
        try:
            self._fh.write(dumps(record) + "\n")
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
        except OSError as e:
            self._failed = True  # what reached the disk may end in a torn line: the next open cuts it
            raise disk_error(e, self.path, "appending a record") from None

    def close(self) -> None:
        if self._fh.closed:
            return
        try:
            self._fh.close()
        except OSError as e:
            if not self._failed:  # else the write that failed has been reported already
                raise disk_error(e, self.path, "appending a record") from None
        finally:
            self._lock.__exit__(None, None, None)

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _repair_and_load(path: Path) -> list[dict]:
    """Whole records of a resumable JSONL file; a torn last line is cut off and damaged lines are dropped.

    A damaged line is one that is not a UTF-8 JSON object (garbage, zeroed blocks, two writes run together). When
    damaged lines are not a small minority the file is not ours to repair (a wrong -o, a foreign file): a
    one-line error then asks to move it away, and nothing is changed.
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):  # torn write: drop the partial last line
        with open(path, "r+b") as fh:
            fh.truncate(end)
        data = data[:end]
    records, keep, bad = [], [], []
    for lineno, raw in enumerate(data.splitlines(keepends=True), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            record = None
        if not isinstance(record, dict):
            bad.append(lineno)
            continue
        records.append(record)
        keep.append(raw)
    if not bad:
        return records
    if not records or len(bad) > max(2, len(records) // 4):
        raise UserError(f"{at(path, bad[0])}: {len(bad)} of {len(bad) + len(records)} lines are not JSON records; "
                        "this is not a resumable output of codecurate: move the file away")  # fmt: skip
    shown = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
    log.warning("%s: dropped %d damaged line(s) (line %s); their work is done again", path, len(bad), shown)
    with atomic_write(path, "wb", what="the repaired file") as fh:
        fh.writelines(keep)
    return records


def side_path(output: str | os.PathLike, suffix: str) -> Path:
    """A file that belongs to an output sits beside it: ``run/instructions.jsonl`` -> ``run/instructions.<suffix>``."""
    out = Path(output)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.stem
    return out.with_name(f"{stem}.{suffix}")


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
