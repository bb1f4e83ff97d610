"""The WaveCoder-style raw-code filters, each a plain function over records that returns a keep-mask.

WaveCoder (Yu et al., 2023, arXiv:2312.14187) filters CodeSearchNet before generating instructions: code length
within bounds, a real docstring, exact and near-duplicate removal. The thresholds are ours and configurable; the
docstring-token bounds follow CodeXGLUE's code-to-text cleaning (3 to 256 tokens). `run_filters` applies them in
funnel order and counts what each one removed.

Near-duplicate detection (`minhash_keep`) is shared with the generate stage:

- text is normalised by `normalize_code` (whitespace runs collapsed) and split into word and punctuation tokens;
- the shingles are the sets of `SHINGLE_SIZE` (5) consecutive tokens; a text of fewer tokens is one shingle;
- MinHash signatures (datasketch, `num_perm` permutations, fixed `seed`) estimate the Jaccard similarity of the
  shingle sets; LSH proposes candidates and a pair counts as near-duplicate when the estimate >= `threshold`;
- texts are visited in order and the first of each near-duplicate group is kept, so results are deterministic.
"""

from __future__ import annotations

import ast
import hashlib
import random
import re
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

SHINGLE_SIZE = 5
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_WS_RE = re.compile(r"\s+")


def normalize_code(code: str) -> str:
    """Code with every whitespace run collapsed to one space and the ends stripped.

    Comments and names are kept: renaming or re-commenting makes a different seed, re-indenting does not.
    """
    return _WS_RE.sub(" ", code).strip()


def code_hash(code: str) -> str:
    """SHA-256 (hex) of the normalised code: equal for functions that differ only in layout."""
    return hashlib.sha256(normalize_code(code).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = SHINGLE_SIZE) -> set[str]:
    """Set of k-token shingles of the normalised text (see module docstring)."""
    tokens = _TOKEN_RE.findall(normalize_code(text))
    if len(tokens) <= k:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


def minhash_keep(texts: list[str], threshold: float = 0.85, num_perm: int = 128, seed: int = 1) -> list[bool]:
    """Keep-mask over `texts`: False for a text whose estimated Jaccard similarity (on 5-token shingles) with an
    earlier kept text is >= `threshold`. The first of each near-duplicate group is kept.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if not texts:
        return []
    from datasketch import MinHash, MinHashLSH

    # datasketch cannot band for thresholds near 1; a lower LSH threshold only adds candidates, checked below.
    lsh = MinHashLSH(threshold=min(threshold, 0.9), num_perm=num_perm)
    kept_hashes: dict[str, MinHash] = {}
    keep: list[bool] = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=seed)
        m.update_batch([s.encode("utf-8") for s in sorted(shingles(text))])
        # LSH is a candidate generator with false positives; confirm with the estimate itself.
        dup = any(m.jaccard(kept_hashes[key]) >= threshold for key in lsh.query(m))
        keep.append(not dup)
        if not dup:
            key = str(i)
            lsh.insert(key, m)
            kept_hashes[key] = m
    return keep


@dataclass
class FilterConfig:
    """Bounds used by `run_filters` (the mine stage maps its CLI options onto this)."""

    min_lines: int = 3
    max_lines: int = 200
    min_tokens: int = 16
    max_tokens: int = 1024
    min_docstring_tokens: int = 3
    max_docstring_tokens: int = 256
    near_dup_threshold: float = 0.85  # 0 disables near-dup removal
    max_per_language: int = 0  # 0 = no cap
    seed: int = 1
    # MultiPL-T's source filters, off by default (each adds its step to the funnel only when on).
    require_return: bool = False
    require_annotations: bool = False
    runnable_only: bool = False


def code_lines(record: dict) -> int:
    """Non-blank lines of the code without its docstring (a long docstring must not make a function 'long')."""
    code = record.get("code_no_docstring") or record["code"]
    return sum(1 for line in code.splitlines() if line.strip())


def _mask(records: list[dict], pred: Callable[[dict], bool]) -> list[bool]:
    return [pred(r) for r in records]


def run_filters(
    records: list[dict], cfg: FilterConfig, mark_runnable: Callable[[list[dict]], object] | None = None
) -> tuple[list[dict], dict[str, int]]:
    """Apply the filters in funnel order; returns the kept records and ``{filter name: removed count}``.

    Order: ``no_docstring`` -> ``docstring_length`` -> ``code_lines`` -> ``code_tokens`` -> [``no_return`` ->
    ``not_annotated``] -> ``exact_dup`` -> ``near_dup`` -> [``not_runnable``] -> ``language_cap``; the bracketed
    steps only when their option is on. Cheap per-record checks run first so the dedup steps see fewer records,
    and the sandbox probe (``mark_runnable``, which sets ``runnable`` on the records it gets) sees fewer still.
    """
    removed: dict[str, int] = {}
    steps: list[tuple[str, Callable[[list[dict]], list[bool]]] | None] = [
        ("no_docstring", lambda rs: _mask(rs, lambda r: bool((r.get("docstring") or "").strip()))),
        (
            "docstring_length",
            lambda rs: _mask(
                rs, lambda r: cfg.min_docstring_tokens <= len(r["docstring_tokens"]) <= cfg.max_docstring_tokens
            ),
        ),
        ("code_lines", lambda rs: _mask(rs, lambda r: cfg.min_lines <= code_lines(r) <= cfg.max_lines)),
        ("code_tokens", lambda rs: _mask(rs, lambda r: cfg.min_tokens <= len(r["code_tokens"]) <= cfg.max_tokens)),
        ("no_return", lambda rs: _mask(rs, has_return)) if cfg.require_return else None,
        ("not_annotated", lambda rs: _mask(rs, fully_annotated)) if cfg.require_annotations else None,
        ("exact_dup", exact_dup_keep),
        ("near_dup", lambda rs: near_dup_keep(rs, cfg.near_dup_threshold, cfg.seed)),
        ("not_runnable", lambda rs: runnable_keep(rs, mark_runnable)) if cfg.runnable_only else None,
        ("language_cap", lambda rs: language_cap_keep(rs, cfg.max_per_language, cfg.seed)),
    ]
    for name, step in filter(None, steps):
        mask = step(records)
        removed[name] = len(records) - sum(mask)
        records = [r for r, k in zip(records, mask, strict=True) if k]
    return records, removed


# Languages whose functions always declare parameter and return types (Go: results may be absent = none).
_TYPED_LANGUAGES = ("java", "go")


def _python_function(record: dict) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    code = record.get("code_no_docstring") or record["code"]
    try:
        tree = ast.parse(textwrap.dedent(code) if code[:1].isspace() else code)
    except SyntaxError:
        return None
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)


def has_return(record: dict) -> bool:
    """MultiPL-T's "has a return": a ``return <value>`` in the function's own body (not in a nested def).
    Python is read with ``ast``; other languages by a ``return`` token followed by something other than ``;``."""
    if record.get("language") != "python":
        tokens = record.get("code_tokens") or []
        return any(t == "return" and nxt not in (";", "}") for t, nxt in zip(tokens, [*tokens[1:], ";"], strict=True))
    fn = _python_function(record)
    if fn is None:
        return False
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return False


def fully_annotated(record: dict) -> bool:
    """Our stand-in for MultiPL-T's "type-checks": every parameter (but a method's ``self``/``cls``) and the
    return carry a type annotation. No type checker runs. Java and Go are typed by the language; JavaScript,
    Ruby and PHP records never pass (their annotations are not read)."""
    lang = record.get("language")
    if lang != "python":
        return lang in _TYPED_LANGUAGES
    fn = _python_function(record)
    if fn is None or fn.returns is None:
        return False
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x is not None)]
    if params and params[0].arg in ("self", "cls") and params[0] in (a.posonlyargs + a.args)[:1]:
        params = params[1:]
    return all(p.annotation is not None for p in params)


def runnable_keep(records: list[dict], mark_runnable: Callable[[list[dict]], object] | None) -> list[bool]:
    """Records that run alone. Those not marked yet are probed by ``mark_runnable``; without it (or when it
    left a record unmarked) a record is not known to run, and is removed."""
    if mark_runnable is not None:
        mark_runnable(records)
    return [r.get("runnable") is True for r in records]


def exact_dup_keep(records: list[dict]) -> list[bool]:
    """First occurrence of each normalised-code hash is kept."""
    seen: set[str] = set()
    keep = []
    for r in records:
        h = code_hash(r["code"])
        keep.append(h not in seen)
        seen.add(h)
    return keep


def near_dup_keep(records: list[dict], threshold: float, seed: int = 1) -> list[bool]:
    """MinHash near-dup mask within each language (code in different languages never counts as a duplicate)."""
    if threshold <= 0.0 or not records:
        return [True] * len(records)
    keep = [True] * len(records)
    by_lang: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_lang.setdefault(r["language"], []).append(i)
    for idx in by_lang.values():
        # Compare without the docstring: two functions with the same body and different docs are near-dups.
        texts = [records[i].get("code_no_docstring") or records[i]["code"] for i in idx]
        mask = minhash_keep(texts, threshold, seed=seed)
        for i, k in zip(idx, mask, strict=True):
            keep[i] = k
    return keep


def language_cap_keep(records: list[dict], cap: int, seed: int = 1) -> list[bool]:
    """At most `cap` records per language, drawn at random (seeded) so the sample spans the whole tree rather
    than its alphabetically first folders; kept records stay in their input order."""
    if cap <= 0:
        return [True] * len(records)
    by_lang: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_lang.setdefault(r["language"], []).append(i)
    keep = [False] * len(records)
    rng = random.Random(seed)
    for lang in sorted(by_lang):
        idx = by_lang[lang]
        for i in idx if len(idx) <= cap else rng.sample(idx, cap):
            keep[i] = True
    return keep


def count_by_language(records: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(r["language"] for r in records).items()))
