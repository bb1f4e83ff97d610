"""Mine sources that already hold functions: CodeSearchNet-style record files and Hugging Face datasets.

    codecurate mine python_train.jsonl.gz other.parquet -o seeds.jsonl
    codecurate mine google/code_x_glue_ct_code_to_text:ruby --hf-split train -o seeds.jsonl

Each record (file line or Hub row) is checked, completed (tokens, docstring tokens, ``code_no_docstring``, a
Python ``context``) and made a seed record; the CodeSearchNet fields it has pass through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from codecurate.curate.extract import LANGUAGES, generic_tokens, python_tokens, strip_python_docstring
from codecurate.curate.seed_record import MineStats, seed_record
from codecurate.errors import UserError, at
from codecurate.io import iter_records
from codecurate.records import CSN_FIELDS, SEED_REQUIRED
from codecurate.seedcode import lone_context

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
HF_NAME = re.compile(r"^[\w.-]+/[\w.-]+(:[\w.-]+)?$")  # ``owner/name[:config]``


def mine_record_file(path: Path, languages: list[str], stats: MineStats) -> Iterator[dict]:
    """Seed records of a .jsonl(.gz)/.parquet file of CodeSearchNet records; a bad record is an error."""
    stats.files += 1
    for lineno, rec in iter_records(path, SEED_REQUIRED):
        yield from from_record(rec, path, lineno, languages, stats)


def mine_hub(name: str, split: str, languages: list[str], stats: MineStats) -> Iterator[dict]:
    """Seed records of the rows of a Hub dataset ``owner/name[:config]``."""
    for lineno, rec in hub_rows(name, split):
        yield from from_record(rec, f"{name}[{split}]", lineno, languages, stats)


def from_record(rec: dict, path: Path | str, lineno: int, languages: list[str], stats: MineStats) -> Iterator[dict]:
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
    yield seed_record(
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


def hub_rows(name: str, split: str) -> Iterator[tuple[int, dict]]:
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
