"""Mine documented functions from source trees or CodeSearchNet files into seed records.

    codecurate mine -o runs/demo/seeds.jsonl                       # the running Python's standard library
    codecurate mine ~/src/myproject --languages python go -o seeds.jsonl
    codecurate mine python_train.jsonl.gz other.parquet -o seeds.jsonl   # existing CodeSearchNet/CodeXGLUE files
    codecurate mine google/code_x_glue_ct_code_to_text:ruby --hf-split train -o seeds.jsonl   # a Hub dataset

Each SRC is a folder (walked in sorted order, `--exclude` patterns left out), a source file, a .jsonl/.jsonl.gz/
.parquet file of CodeSearchNet records, or a Hugging Face dataset name (``name[:config]``). Records then pass the
WaveCoder-style filters (docstring, length, exact and near-duplicates, per-language cap); the summary and the
manifest say what each filter removed. Output: CodeSearchNet records plus ``id`` and ``code_no_docstring``
(docs/schema.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import platform
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Literal

from codecurate.config import to_dict
from codecurate.curate.extract import (
    EXTENSIONS,
    LANGUAGES,
    ParseError,
    docstring_tokens,
    extract,
    generic_tokens,
    language_of,
    python_tokens,
    strip_python_docstring,
)
from codecurate.curate.filters import FilterConfig, count_by_language, run_filters
from codecurate.curate.mine_python import (
    NOT_PYTHON,
    mark_runnable,
    module_contexts,
    package_of,
    runnable_counts,
)
from codecurate.errors import UserError, at
from codecurate.io import iter_records, write_jsonl
from codecurate.manifest import write_manifest
from codecurate.models import default_corpus
from codecurate.records import CSN_FIELDS, SEED_REQUIRED, seed_id
from codecurate.seedcode import lone_context
from codecurate.timer import Timings

log = logging.getLogger(__name__)

RECORD_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson", ".parquet")
# Test suites are full of tiny near-identical functions and of docstrings such as "Test foo." that make poor
# instruction seeds; IDLE, vendored and installed third-party code is not the tree's own; dot-folders are VCS/venvs.
DEFAULT_EXCLUDE = [
    "test", "tests", "testing", "idlelib", "site-packages", "dist-packages", "node_modules", "vendor",
    "__pycache__", ".*", "test_*.py", "*_test.py", "*_test.go", "*Test.java", "*.min.js",
]  # fmt: skip
# Hub datasets (``code_search_net``) that name the CodeSearchNet fields differently.
FIELD_ALIASES = {
    "repository_name": "repo",
    "func_path_in_repository": "path",
    "whole_func_string": "original_string",
    "func_code_string": "code",
    "func_code_tokens": "code_tokens",
    "func_documentation_string": "docstring",
    "func_documentation_tokens": "docstring_tokens",
    "func_code_url": "url",
    "split_name": "partition",
}
PRE_FILTERS = ("language_not_selected", "unparsable")  # removals made while reading, before the filter funnel
_HF_NAME = re.compile(r"^[\w.-]+/[\w.-]+(:[\w.-]+)?$")


@dataclass
class MineConfig:
    src: list[str] = field(
        default_factory=list,
        metadata={"positional": True, "help": "folders, source files, CodeSearchNet .jsonl(.gz)/.parquet files or "
                  "Hub dataset names (name[:config]); none = the running Python's standard library"},
    )  # fmt: skip
    output: str = field(default="seeds.jsonl", metadata={"aliases": ["-o"], "help": "output JSONL file"})
    languages: list[str] = field(
        default_factory=lambda: list(LANGUAGES), metadata={"help": "languages to keep (default: all supported)"}
    )
    exclude: list[str] = field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        metadata={"help": "glob patterns left out of folder walks; without '/' a pattern matches any folder or "
                  "file name, with '/' the path relative to the folder"},
    )  # fmt: skip
    min_lines: int = field(default=3, metadata={"help": "fewest non-blank code lines (docstring excluded)"})
    max_lines: int = field(default=200, metadata={"help": "most non-blank code lines (docstring excluded)"})
    min_tokens: int = field(default=16, metadata={"help": "fewest code tokens"})
    max_tokens: int = field(default=1024, metadata={"help": "most code tokens"})
    min_docstring_tokens: int = field(default=3, metadata={"help": "fewest tokens in the docstring summary"})
    max_docstring_tokens: int = field(default=256, metadata={"help": "most tokens in the docstring summary"})
    near_dup_threshold: float = field(
        default=0.85, metadata={"help": "MinHash Jaccard threshold for near-duplicates; 0 disables"}
    )
    max_per_language: int = field(
        default=0, metadata={"help": "keep at most this many per language (seeded random sample); 0 = no cap"}
    )
    max_files: int = field(
        default=0, metadata={"help": "read at most this many source files per folder, evenly spread; 0 = all"}
    )
    seed: int = field(default=1, metadata={"help": "seed for MinHash and the per-language sample"})
    require_return: bool = field(
        default=False, metadata={"help": "keep only functions that return a value (MultiPL-T's source filter)"}
    )
    require_annotations: bool = field(
        default=False,
        metadata={"help": "keep only functions with type annotations on every parameter and the return (our "
                  "stand-in for MultiPL-T's type-check filter: no type checker is run)"},
    )  # fmt: skip
    check_runnable: bool = field(
        default=True,
        metadata={"help": "run each kept Python seed once in the sandbox to set runnable / runnable_reason "
                  "(off: left unset, generate decides when it needs to)"},
    )  # fmt: skip
    runnable_only: bool = field(default=False, metadata={"help": "keep only Python seeds that run alone"})
    hf_split: str = field(default="train", metadata={"help": "split to read from Hub dataset sources"})
    executor: Literal["local", "ray"] = field(
        default="local", metadata={"help": "ray: parse the files of folder sources in Ray tasks (docs/mine.md)"}
    )
    ray_address: str = field(default="", metadata={"help": "Ray cluster address (empty: $RAY_ADDRESS or a local one)"})
    ray_workers: int = field(default=0, metadata={"help": "most parallel Ray tasks (0: one per CPU of the cluster)"})


@dataclass
class _Stats:
    files: int = 0
    files_skipped: Counter = field(default_factory=Counter)
    extracted: int = 0
    pre_removed: Counter = field(default_factory=Counter)


def run(cfg: MineConfig) -> dict[str, Any]:
    languages = _check(cfg)
    sources = cfg.src or [str(default_corpus())]
    timings = Timings()
    stats = _Stats()
    records: list[dict] = []
    with timings("extract"):
        for src in sources:
            records.extend(_collect(src, languages, cfg, stats))
    if stats.extracted == 0:
        where = ", ".join(sources)
        raise UserError(f"{where}: empty input: no functions or records found for {', '.join(languages)}")
    with timings("filter"):
        kept, removed = run_filters(records, _filter_config(cfg), mark_runnable)
    if cfg.check_runnable and not cfg.runnable_only:
        with timings("runnable"):
            mark_runnable(kept)
    removed["no_docstring"] += stats.pre_removed["no_docstring"]
    removed = {**{k: stats.pre_removed[k] for k in PRE_FILTERS}, **removed}
    if not kept:
        raise UserError(f"no functions left after filtering ({stats.extracted} extracted; removed: {removed})")
    with timings("write"):
        write_jsonl(cfg.output, kept)
    counts = {
        "files": stats.files,
        "files_skipped": dict(sorted(stats.files_skipped.items())),
        "extracted": stats.extracted,
        "removed": removed,
        "kept": len(kept),
        "by_language": count_by_language(kept),
    }
    if any("runnable" in r for r in kept):
        counts["runnable"] = runnable_counts(kept)
    inputs = [s for s in sources if Path(s).exists()]
    write_manifest(cfg.output, "mine", to_dict(cfg), inputs=inputs, counts=counts, timings=dict(timings))
    return {"output": cfg.output, **counts, "seconds": round(sum(timings.values()), 2)}


def _check(cfg: MineConfig) -> list[str]:
    unknown = [lang for lang in cfg.languages if lang not in LANGUAGES]
    if unknown:
        raise UserError(f"unknown language(s) {', '.join(unknown)}; supported: {', '.join(LANGUAGES)}")
    if not cfg.languages:
        raise UserError(f"--languages is empty; supported: {', '.join(LANGUAGES)}")
    for lo, hi in (
        ("min_lines", "max_lines"),
        ("min_tokens", "max_tokens"),
        ("min_docstring_tokens", "max_docstring_tokens"),
    ):  # noqa: E501
        if getattr(cfg, lo) > getattr(cfg, hi):
            raise UserError(f"{lo} ({getattr(cfg, lo)}) is larger than {hi} ({getattr(cfg, hi)})")
    if not 0.0 <= cfg.near_dup_threshold <= 1.0:
        raise UserError(f"near_dup_threshold must be between 0 and 1, got {cfg.near_dup_threshold}")
    if cfg.max_per_language < 0 or cfg.max_files < 0 or cfg.ray_workers < 0:
        raise UserError("max_per_language, max_files and ray_workers must be >= 0")
    return list(dict.fromkeys(cfg.languages))


def _filter_config(cfg: MineConfig) -> FilterConfig:
    # Every filter bound is a mine option of the same name.
    return FilterConfig(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(FilterConfig)})


# --- sources ------------------------------------------------------------------------------------------------


def _collect(src: str, languages: list[str], cfg: MineConfig, stats: _Stats) -> Iterator[dict]:
    path = Path(src).expanduser()
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise UserError(f"{path}: cannot read folder (permission denied)")
        yield from _mine_tree(path, languages, cfg, stats)
    elif path.is_file():
        if path.name.lower().endswith(RECORD_SUFFIXES):
            stats.files += 1
            for lineno, rec in iter_records(path, SEED_REQUIRED):
                yield from _from_record(rec, path, lineno, languages, stats)
        else:
            yield from _mine_named_file(path, languages, stats)
    elif path.exists():
        raise UserError(f"{path}: not a regular file or folder")
    elif _HF_NAME.match(src):
        for lineno, rec in _hub_rows(src, cfg.hf_split):
            yield from _from_record(rec, f"{src}[{cfg.hf_split}]", lineno, languages, stats)
    else:
        raise UserError(f"{src}: no such file or folder")


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


def _mine_tree(root: Path, languages: list[str], cfg: MineConfig, stats: _Stats) -> Iterator[dict]:
    from tqdm import tqdm

    files = walk_tree(root, languages, cfg.exclude)
    stats.files += len(files)
    if cfg.max_files and len(files) > cfg.max_files:
        # Evenly spaced picks keep the sample spread over the whole tree, not its alphabetically first folders.
        step = len(files) / cfg.max_files
        picked = [files[int(i * step)] for i in range(cfg.max_files)]
        stats.files_skipped["max_files"] += len(files) - len(picked)
        files = picked
    origin = _origin(root)
    if cfg.executor == "ray":
        from codecurate.curate.mine_ray import mine_files_ray

        yield from mine_files_ray(files, root, origin, stats, cfg.ray_address, cfg.ray_workers)
        return
    for file in tqdm(files, desc=f"mine {root.name}", unit="file", mininterval=1.0):
        yield from mine_file(file, root, origin, stats)


def mine_file(file: Path, root: Path, origin: dict[str, str], stats: _Stats) -> list[dict]:
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
        return _records_from_source(source, file, root, origin, stats)
    except ParseError as e:
        log.debug("%s:%s: %s", file, e.line, e)
        stats.files_skipped["syntax_error"] += 1
        return []


def _mine_named_file(path: Path, languages: list[str], stats: _Stats) -> Iterator[dict]:
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
        yield from _records_from_source(source, path, path.parent, _origin(path.parent), stats)
    except ParseError as e:
        raise UserError(f"{at(path, e.line)}: {e}") from None


def _records_from_source(source: str, file: Path, root: Path, origin: dict[str, str], stats: _Stats) -> list[dict]:
    lang = language_of(file.name)
    assert lang is not None
    functions = extract(source, lang)  # parse fully before yielding, so a bad file contributes nothing
    rel = file.relative_to(root).as_posix()
    sha = origin["sha"] or git_blob_sha(source.encode("utf-8"))
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
            _record(
                repo=origin["repo"],
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
            )
        )
    return out


def _record(**kw: Any) -> dict:
    """A seed record with its fields in a fixed order: id, the CodeSearchNet fields, then ours, then extras."""
    rec: dict[str, Any] = {"id": ""}
    for f in CSN_FIELDS:
        rec[f] = kw.pop(f, None)
    if rec["original_string"] is None:
        rec["original_string"] = rec["code"]
    if rec["docstring_tokens"] is None:
        rec["docstring_tokens"] = docstring_tokens(rec["docstring"])
    rec["code_no_docstring"] = kw.pop("code_no_docstring")
    rec.update(kw)
    rec["id"] = seed_id(rec)
    return rec


def _from_record(rec: dict, path: Path | str, lineno: int, languages: list[str], stats: _Stats) -> Iterator[dict]:
    """One CodeSearchNet-style record (file or Hub row) made into a seed record; missing fields are filled."""
    rec = {FIELD_ALIASES.get(k, k): v for k, v in rec.items()}
    for f in SEED_REQUIRED:
        if not isinstance(rec.get(f), str) or not rec[f].strip():
            raise UserError(f"{at(path, lineno, f)}: expected a non-empty string")
    lang = rec["language"].strip().lower()
    if lang not in LANGUAGES:
        raise UserError(f"{at(path, lineno, 'language')}: unknown language {lang!r}; supported: {', '.join(LANGUAGES)}")
    stats.extracted += 1
    if lang not in languages:
        stats.pre_removed["language_not_selected"] += 1
        return
    code = rec["code"]
    docstring = rec.get("docstring") or ""
    if not isinstance(docstring, str):
        raise UserError(f"{at(path, lineno, 'docstring')}: expected a string")
    no_doc = strip_python_docstring(code) if lang == "python" else code
    if no_doc is None:
        # Without a parse we cannot hide the docstring from the generate stage (CodeSearchNet has Python 2 code).
        stats.pre_removed["unparsable"] += 1
        return
    tokens = rec.get("code_tokens")
    if not isinstance(tokens, list):
        tokens = python_tokens(no_doc) if lang == "python" else generic_tokens(code)
    extras = {k: v for k, v in rec.items() if k not in CSN_FIELDS and k not in ("id", "code_no_docstring")}
    if lang == "python" and not extras.get("context"):
        extras["context"] = lone_context(code)  # a function without its module: the stdlib imports it names
    yield _record(
        repo=str(rec.get("repo") or ""),
        path=str(rec.get("path") or ""),
        func_name=str(rec.get("func_name") or ""),
        original_string=rec.get("original_string") or code,
        language=lang,
        code=code,
        code_tokens=tokens,
        docstring=docstring,
        docstring_tokens=rec.get("docstring_tokens") if isinstance(rec.get("docstring_tokens"), list) else None,
        sha=str(rec.get("sha") or ""),
        url=str(rec.get("url") or ""),
        partition=str(rec.get("partition") or "train"),
        code_no_docstring=no_doc,
        **extras,
    )


def _hub_rows(name: str, split: str) -> Iterator[tuple[int, dict]]:
    """Rows of a Hugging Face dataset ``repo/name[:config]`` (needs the network or a warm datasets cache)."""
    import datasets

    repo, _, config = name.partition(":")
    try:
        ds = datasets.load_dataset(repo, config or None, split=split)
    except Exception as e:  # datasets raises many types (connection, missing config, missing split)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{name}: not a local file or folder, and loading it from the Hub failed: {msg}") from None
    for i, row in enumerate(ds, start=1):
        yield i, dict(row)


# --- provenance ---------------------------------------------------------------------------------------------


def _origin(root: Path) -> dict[str, str]:
    root = root.resolve()
    repo = f"cpython-{platform.python_version()}/Lib" if root == default_corpus().resolve() else root.name
    return {"repo": repo, "sha": git_commit(root) or ""}


def git_blob_sha(data: bytes) -> str:
    """The id git gives these bytes (``git hash-object``): names the file content when no commit is known."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def git_commit(path: Path) -> str | None:
    """Commit of HEAD of the git work tree containing `path`, read from ``.git`` files (no git subprocess)."""
    for d in (path, *path.parents):
        dot_git = d / ".git"
        if dot_git.is_file():  # worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            dot_git = (d / text[len("gitdir:") :].strip()).resolve()
        if not dot_git.is_dir():
            continue
        try:
            head = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not head.startswith("ref:"):
            return head if re.fullmatch(r"[0-9a-f]{40,64}", head) else None
        ref = head[len("ref:") :].strip()
        common = dot_git
        if (dot_git / "commondir").is_file():
            common = (dot_git / (dot_git / "commondir").read_text(encoding="utf-8").strip()).resolve()
        for base in dict.fromkeys((dot_git, common)):
            if (base / ref).is_file():
                return (base / ref).read_text(encoding="utf-8").strip() or None
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text(encoding="utf-8").splitlines():
                    sha, _, name = line.partition(" ")
                    if name == ref:
                        return sha
        return None
    return None
