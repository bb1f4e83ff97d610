"""Faults of the place a run writes to (full, read-only, forbidden), as one-line errors, and a free-space check.

Finished work is never lost to these faults (writes are atomic or append whole lines), so every message ends with
the advice to fix the place and rerun the same command.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

from codecurate.errors import UserError

# Faults of the place written to, not of the data: each ends a run with one line (DiskError), never a traceback.
PLACE_FAULTS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


class DiskError(UserError):
    """A write failed because of where it goes (full, read-only, forbidden); the message names path and what."""


def disk_error(e: OSError, path: str | os.PathLike, doing: str) -> Exception:
    """A one-line `DiskError` for a full, read-only or forbidden place; any other `OSError` comes back as is.

    `doing` completes "while ...", e.g. ``writing coreset.jsonl``.

    Finished work is never lost to these faults (writes are atomic or append whole lines), so the advice is to
    fix the place and rerun the same command.
    """
    if e.errno not in PLACE_FAULTS:
        return e
    where = e.filename or path
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space and rerun the same command (finished work is kept)"
    else:
        hint = "write somewhere writable or fix the permissions, then rerun the same command"
    return DiskError(f"{where}: {PLACE_FAULTS[e.errno]} while {doing}; {hint}")


# Rust extensions (safetensors, tokenizers) raise their own error types with the errno only in the message.
# Display form "... (os error 28)", Debug form "Os { code: 28, ... }".
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)|Os \{ code: (\d+),")


def os_error_of(e: BaseException) -> OSError | None:
    """The `OSError` behind `e`: `e` itself, or the one a Rust extension wrapped into its message; else None."""
    if isinstance(e, OSError):
        return e
    m = _RUST_OS_ERROR.search(str(e))
    if m is None:
        return None
    code = int(m.group(1) or m.group(2))
    return OSError(code, os.strerror(code))


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def ensure_free_space(path: str | os.PathLike, need: int, what: str) -> None:
    """Raise a `DiskError` before a large write of `need` bytes under `path` when the filesystem has less free.

    Checked where the size is known (embedding chunks and matrices, converted and merged models), so a run stops
    before it spends time on work it cannot store, and says how much it needs.
    """
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return  # cannot tell: the write itself will report a full disk in one line
    if free < need:
        raise DiskError(f"{path}: {what} needs {human_bytes(need)} but only {human_bytes(free)} is free there; "
                        "free some space and rerun the same command (finished work is kept)")  # fmt: skip
