"""The WaveCoder-style raw-code filters, each a plain function over records that returns a keep-mask.

WaveCoder (Yu et al., 2023, arXiv:2312.14187) filters CodeSearchNet before generating instructions: code length
within bounds, a real docstring, exact and near-duplicate removal. The thresholds are ours and configurable; the
docstring-token bounds follow CodeXGLUE's code-to-text cleaning (3 to 256 tokens). `run_filters` applies them in
funnel order and counts what each one removed.

Exact and near-duplicate detection (`code_hash`, `minhash_keep`) live in the ground package
(`codecurate.near_dup`), shared with the generate stage; they are importable from here too.
"""

from __future__ import annotations

import ast
import random
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# The hashing helpers are re-exported: `codecurate.curate.filters.code_hash` etc. keep working for older imports.
from codecurate.errors import UserError
from codecurate.near_dup import SHINGLE_SIZE, code_hash, minhash_keep, normalize_code, shingles  # noqa: F401


@dataclass
class FilterConfig:
    """The record filters' bounds: the ``filters`` section of the mine stage's config, whose keys are mine's flat
    flags and YAML keys (``--min-lines``, ``near_dup_threshold``...)."""

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
    seed: int = field(default=1, metadata={"help": "seed for MinHash and the per-language sample"})
    # MultiPL-T's source filters, off by default (each adds its step to the funnel only when on).
    require_return: bool = field(
        default=False, metadata={"help": "keep only functions that return a value (MultiPL-T's source filter)"}
    )
    require_annotations: bool = field(
        default=False,
        metadata={"help": "keep only functions with type annotations on every parameter and the return (our "
                  "stand-in for MultiPL-T's type-check filter: no type checker is run)"},
    )  # fmt: skip
    runnable_only: bool = field(default=False, metadata={"help": "keep only Python seeds that run alone"})

    def check(self) -> None:
        """Bounds that contradict each other are a `UserError` naming both options."""
        for lo, hi in (
            ("min_lines", "max_lines"),
            ("min_tokens", "max_tokens"),
            ("min_docstring_tokens", "max_docstring_tokens"),
        ):
            if getattr(self, lo) > getattr(self, hi):
                raise UserError(f"{lo} ({getattr(self, lo)}) is larger than {hi} ({getattr(self, hi)})")
        if not 0.0 <= self.near_dup_threshold <= 1.0:
            raise UserError(f"near_dup_threshold must be between 0 and 1, got {self.near_dup_threshold}")
        if self.max_per_language < 0:
            raise UserError(f"max_per_language must be >= 0, got {self.max_per_language}")


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
