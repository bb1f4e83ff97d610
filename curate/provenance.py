"""Where mined code came from: the ``repo`` name and ``sha`` of the records of a folder or source file.

The commit is asked of ``git`` itself (``git rev-parse --verify HEAD`` in the folder), never read from ``.git``
files: worktrees, submodules, packed refs and reftables are git's business. Fallback, documented in docs/mine.md:
when git is not installed, the folder is not inside a git work tree, or the work tree has no commit yet, there is
no commit to name, and each record's ``sha`` is the git blob id of its file's content instead (`git_blob_sha`,
the id ``git hash-object`` prints, computed here). A missing git is logged once as a warning.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codecurate.models import default_corpus

log = logging.getLogger(__name__)

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# Set by git hooks and by callers' shells; they would point our `git -C <folder>` at some other repository.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")


@dataclass(frozen=True)
class Origin:
    """Provenance shared by every record of one folder walk or named file."""

    repo: str  # the folder's name (the stdlib corpus: ``cpython-<version>/Lib``)
    commit: str  # HEAD of the git work tree holding the folder, or "" (then records carry blob ids)

    def sha(self, source: str) -> str:
        """A record's ``sha``: the commit when known, else the blob id of the file's content."""
        return self.commit or git_blob_sha(source.encode("utf-8"))


def origin_of(root: Path) -> Origin:
    root = root.resolve()
    repo = f"cpython-{platform.python_version()}/Lib" if root == default_corpus().resolve() else root.name
    return Origin(repo=repo, commit=git_commit(root) or "")


def git_blob_sha(data: bytes) -> str:
    """The id git gives these bytes (``git hash-object``): names the file content when no commit is known."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def git_commit(path: Path) -> str | None:
    """Commit of HEAD of the git work tree containing the folder `path`, asked of ``git``; None when git is
    missing, `path` is in no work tree (or one git refuses, e.g. of another owner), or HEAD has no commit yet."""
    git = _git()
    if git is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    try:
        done = subprocess.run(
            [git, "-C", str(path), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            capture_output=True, text=True, env=env, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("%s: git rev-parse failed (%s); records carry blob ids instead of a commit", path, e)
        return None
    sha = done.stdout.strip()
    if done.returncode != 0 or not _SHA.fullmatch(sha):
        log.debug("%s: no git commit (%s)", path, done.stderr.strip().splitlines()[:1])
        return None
    return sha


@functools.cache
def _git() -> str | None:
    git = shutil.which("git")
    if git is None:
        log.warning("git is not installed: mined records carry blob ids in 'sha' instead of the commit")
    return git
