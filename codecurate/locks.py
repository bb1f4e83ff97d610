"""One writer per output: an exclusive lock on ``<output>.lock`` beside every stage output.

The lock is the kernel's ``flock`` on that file (no hand-rolled protocol): it is released when the holder exits,
however it exits. The file also holds who took it (pid, host, start time, command), so a refused run can name the
holder, and a run that finds the file left by a process that died (kill -9, power loss) says it is taking over.

- A second run on a locked output stops at once with one line naming the holder (`OutputLocked`).
- A lock file left by a dead process on this host is taken over, with a warning naming it.
- A lock file written on another host whose flock is free is refused: this host cannot tell whether that run
  still goes (flock is not coherent across hosts on every network filesystem). The message says to delete it.
- Locks are re-entrant within a process (the CLI locks a stage's output and the stage's own writers lock it
  again), keyed by the lock file's real path.

Who locks what: ``codecurate STAGE`` locks the stage's ``output`` around the stage; ``codecurate pipeline`` locks
the run folder and each stage output; `codecurate.io.JsonlAppender` locks every append-only file it opens (so
library callers of generate and eval are covered); ``curate.run`` locks its output. With ``--executor ray`` the
driver holds the lock: workers write nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from codecurate.disk import disk_error
from codecurate.errors import UserError

log = logging.getLogger(__name__)

SUFFIX = ".lock"
# flock refused for reasons other than "held": the filesystem cannot lock (some FUSE, Lustre without -o flock).
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class OutputLocked(UserError):
    """Another run holds the output's lock (or one on another host might)."""


@dataclass
class Holder:
    """Who holds (or held) a lock, as written into the lock file."""

    pid: int
    host: str
    since: str
    command: str = ""

    @classmethod
    def me(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%dT%H:%M:%S%z"), " ".join(sys.argv)[:300])

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since}"


def lock_path(output: str | os.PathLike) -> Path:
    """``run/coreset.jsonl`` -> ``run/coreset.jsonl.lock``; a folder output gets ``run/ft.lock`` beside it."""
    out = Path(os.path.abspath(output))
    return out.with_name(out.name + SUFFIX)


_held: dict[str, list] = {}  # real lock path -> [fd, depth]
_guard = threading.Lock()


@contextlib.contextmanager
def output_lock(output: str | os.PathLike) -> Iterator[Path]:
    """Hold the exclusive lock of `output` for the block; raise `OutputLocked` at once if another run holds it."""
    path = lock_path(output)
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise disk_error(e, path.parent, "creating the output folder") from None
    key = os.path.realpath(path)
    try:
        with _guard:
            if key in _held:
                _held[key][1] += 1
            else:
                _held[key] = [_acquire(path, Path(output)), 1]
    except BaseException:
        _remove_empty(made)
        raise
    try:
        yield path
    finally:
        with _guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                _release(path, entry[0])
                _remove_empty(made)


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders the lock created when the run left nothing in them (a refused or failed run leaves no
    trace), innermost first."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (the run wrote there) or gone


def _acquire(path: Path, output: Path) -> int:
    for _ in range(20):  # another run may unlink the file between our open and our flock: then open again
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:  # a refused run just removed the empty folder it had made: make it again
            path.parent.mkdir(parents=True, exist_ok=True)
            continue
        except OSError as e:
            raise disk_error(e, path, "writing the lock file") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            who = str(holder) if holder else "another process (it has not written its name yet)"
            raise OutputLocked(f"{output}: in use by {who} ({path}); wait for that run to end or stop it") from None
        except OSError as e:
            os.close(fd)
            if e.errno in _UNSUPPORTED:
                raise UserError(f"{path}: this filesystem cannot lock files ({e.strerror}), so two runs could write "
                                f"{output} at once; use an output on a local disk") from None  # fmt: skip
            raise
        if not _same_file(fd, path):
            os.close(fd)
            continue
        try:
            _take_over(fd, path, output)
        except BaseException:
            os.close(fd)
            raise
        return fd
    raise OutputLocked(f"{output}: could not lock {path}: it keeps being replaced by another process")


def _same_file(fd: int, path: Path) -> bool:
    """Is `fd` still the file at `path`? A releasing holder unlinks the file before it unlocks."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _take_over(fd: int, path: Path, output: Path) -> None:
    """We hold the flock: say so if a dead holder left its name, then write ours."""
    old = _read(fd)
    me = Holder.me()
    if old is not None and old.host != me.host:
        raise OutputLocked(
            f"{output}: locked by {old} ({path}); this host cannot tell whether that run still goes: "
            f"if it does not, delete {path} and rerun"
        )
    if old is not None:  # a clean release deletes the file, so a name left in it is a holder that died
        log.warning("%s: taking over the lock left by %s, which is no longer running", output, old)
    data = (json.dumps(asdict(me)) + "\n").encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except OSError as e:
        raise disk_error(e, path, "writing the lock file") from None


def _read(fd: int) -> Holder | None:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw) if raw.strip() else None
        return Holder(**info) if isinstance(info, dict) else None
    except (OSError, ValueError, TypeError):
        return None  # empty, torn or foreign content: nobody we can name


def _release(path: Path, fd: int) -> None:
    # Unlink while still holding the lock, so nobody can lock this inode after us (see _same_file).
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.close(fd)


def holder_of(output: str | os.PathLike) -> Holder | None:
    """The holder named in `output`'s lock file, if any (whether or not it still runs)."""
    try:
        fd = os.open(lock_path(output), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return _read(fd)
    finally:
        os.close(fd)


__all__ = ["Holder", "OutputLocked", "holder_of", "lock_path", "output_lock"]
