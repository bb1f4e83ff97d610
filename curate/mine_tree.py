"""Mine source code: folders (walked in sorted order, `--exclude` patterns left out) and single source files.

    codecurate mine ~/src/myproject --languages python go -o seeds.jsonl
    codecurate mine lib/textwrap.py -o seeds.jsonl

A file met in a folder walk that cannot be read or parsed is counted (``files_skipped``) and the walk goes on; a
source file named on the command line must read and parse, or the run stops with one line naming it. Records get
``repo`` and ``sha`` from `provenance`, ``path`` relative to the folder and ``url`` as the file's URI plus lines.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from codecurate.curate.extract import EXTENSIONS, ParseError, extract, language_of
from codecurate.curate.mine_python import NOT_PYTHON, module_contexts, package_of
from codecurate.curate.provenance import Origin, origin_of
from codecurate.curate.seed_record import MineStats, seed_record
from codecurate.errors import UserError, at

log = logging.getLogger(__name__)

# Test suites are full of tiny near-identical functions and of docstrings such as "Test foo." that make poor
# instruction seeds; IDLE, vendored and installed third-party code is not the tree's own; dot-folders are VCS/venvs.
DEFAULT_EXCLUDE = [
    "test", "tests", "testing", "idlelib", "site-packages", "dist-packages", "node_modules", "vendor",
    "__pycache__", ".*", "test_*.py", "*_test.py", "*_test.go", "*Test.java", "*.min.js",
]  # fmt: skip


def walk_tree(root: Path, languages: list[str], exclude: list[str]) -> list[Path]:
    """Source files under `root` in sorted, deterministic order, without excluded folders and files."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not is_excluded(rel / d, exclude))
        for name in sorted(filenames):
            if language_of(name) in languages and not is_excluded(rel / name, exclude):
                files.append(Path(dirpath) / name)
    return files


def is_excluded(rel: Path, patterns: list[str]) -> bool:
    """gitignore-like: a pattern without '/' matches any path component, one with '/' the whole relative path."""
    posix = rel.as_posix()
    return any(fnmatch(posix, p) if "/" in p else any(fnmatch(part, p) for part in rel.parts) for p in patterns)


def tree_files(root: Path, languages: list[str], exclude: list[str], max_files: int, stats: MineStats) -> list[Path]:
    """The files of a folder walk to read: all of them, or `max_files` evenly spread over the walk."""
    if not os.access(root, os.R_OK | os.X_OK):
        raise UserError(f"{root}: cannot read folder (permission denied)")
    files = walk_tree(root, languages, exclude)
    stats.files += len(files)
    if max_files and len(files) > max_files:
        # Evenly spaced picks keep the sample spread over the whole tree, not its alphabetically first folders.
        step = len(files) / max_files
        picked = [files[int(i * step)] for i in range(max_files)]
        stats.files_skipped["max_files"] += len(files) - len(picked)
        files = picked
    return files


def mine_files(files: list[Path], root: Path, origin: Origin, stats: MineStats) -> Iterator[dict]:
    """Records of the files of one folder walk, in file order, in this process."""
    from tqdm import tqdm

    for file in tqdm(files, desc=f"mine {root.name}", unit="file", mininterval=1.0):
        yield from mine_file(file, root, origin, stats)


def mine_file(file: Path, root: Path, origin: Origin, stats: MineStats) -> list[dict]:
    """Records of one file met in a folder walk: a file that cannot be read or parsed is counted, not raised."""
    try:
        source = file.read_bytes().decode("utf-8-sig")
    except OSError as e:
        log.debug("%s: unreadable: %s", file, e)
        stats.files_skipped["unreadable"] += 1
        return []
    except UnicodeDecodeError:
        log.debug("%s: not UTF-8", file)
        stats.files_skipped["not_utf8"] += 1
        return []
    try:
        return records_from_source(source, file, root, origin, stats)
    except ParseError as e:
        log.debug("%s:%s: %s", file, e.line, e)
        stats.files_skipped["syntax_error"] += 1
        return []


def mine_source_file(path: Path, languages: list[str], stats: MineStats) -> list[dict]:
    """A source file named on the command line: every problem is an error, not a skip."""
    lang = language_of(path.name)
    if lang is None:
        exts = ", ".join(sorted(EXTENSIONS))
        raise UserError(f"{path}: unknown language (supported extensions: {exts}; records: .jsonl, .parquet)")
    if lang not in languages:
        raise UserError(f"{path}: language {lang} is not among --languages {' '.join(languages)}")
    try:
        source = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not valid UTF-8 (byte {e.start})") from None
    stats.files += 1
    try:
        return records_from_source(source, path, path.parent, origin_of(path.parent), stats)
    except ParseError as e:
        raise UserError(f"{at(path, e.line)}: {e}") from None


def records_from_source(source: str, file: Path, root: Path, origin: Origin, stats: MineStats) -> list[dict]:
    """Seed records of the documented functions of one parsed source file."""
    lang = language_of(file.name)
    assert lang is not None
    functions = extract(source, lang)  # parse fully before yielding, so a bad file contributes nothing
    rel = file.relative_to(root).as_posix()
    sha = origin.sha(source)
    uri = file.resolve().as_uri()
    documented = []
    for fn in functions:
        stats.extracted += 1
        if not fn.docstring.strip():
            # Fast path for the first filter: undocumented functions are not tokenised at all.
            stats.pre_removed["no_docstring"] += 1
            continue
        documented.append(fn)
    names = [fn.func_name for fn in documented]
    contexts = module_contexts(source, names, package_of(rel)) if lang == "python" and names else {}
    out = []
    for fn in documented:
        extra: dict[str, Any] = {}
        if (ctx := contexts.get(fn.func_name)) is not None:
            extra["context"] = ctx.context
            if ctx.reason is not None:
                extra.update(runnable=False, runnable_reason=ctx.reason)
        elif lang != "python":
            extra.update(runnable=False, runnable_reason=NOT_PYTHON)
        out.append(
            seed_record(
                repo=origin.repo,
                path=rel,
                func_name=fn.func_name,
                language=lang,
                code=fn.code,
                code_tokens=fn.code_tokens,
                docstring=fn.docstring,
                sha=sha,
                url=f"{uri}#L{fn.start_line}-L{fn.end_line}",
                partition="train",
                code_no_docstring=fn.code_no_docstring,
                **extra,
            )  # fmt: skip
        )
    return out
