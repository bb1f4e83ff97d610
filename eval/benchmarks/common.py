"""Helpers the benchmark modules share: locating and reading their files, and turning model text into code
(``extract_code``: the ground package's one policy, codecurate/codeblocks.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

# The benchmark modules' names for the ground package's readers (one implementation, shared with decontamination).
from codecurate.benchmarks import check_count as check_size  # noqa: F401 (re-exported)
from codecurate.benchmarks import read_benchmark as read_docs  # noqa: F401 (re-exported)
from codecurate.codeblocks import extract_code  # noqa: F401 (the one policy; the benchmark modules import it here)
from codecurate.errors import UserError


def find_file(data_dir: str | Path, names: Sequence[str], subdirs: Sequence[str] = ()) -> Path:
    """The first of `names` found in `data_dir` or one of its `subdirs` (users point at a file or a folder)."""
    root = Path(data_dir)
    if root.is_file() and root.name in names:
        return root
    if not root.is_dir():
        raise UserError(f"{root}: --data-dir is not a folder")
    for folder in (root, *(root / s for s in subdirs)):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    where = ", ".join(str(root / s) for s in ("", *subdirs))
    raise UserError(f"{root}: none of {', '.join(names)} found (looked in {where})")


def truncate(text: str, stop_words: Sequence[str]) -> str:
    """Cut a raw completion at the earliest stop word (the backend may not have applied them all)."""
    cut = len(text)
    for word in stop_words:
        i = text.find(word)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def python_prefix(prompt: str, entry_point: str) -> str:
    """What a Python prompt defines before `entry_point` (imports, helpers), to put before a full function."""
    m = re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", prompt, re.M)
    return prompt[: m.start()] if m else ""


def defines_python(code: str, entry_point: str) -> bool:
    return re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M) is not None


def defines_js(code: str, entry_point: str) -> bool:
    name = re.escape(entry_point)
    return re.search(rf"\bfunction\s+{name}\b|\b(?:const|let|var)\s+{name}\s*=", code) is not None
