"""Cheap rule filters run before the discriminator: each returns reason names, an empty list means pass.

Reasons are short stable names (``empty:instruction``, ``instruction_sentences``, ``syntax:python``,
``output_copies_input``...) so the report can count them.
"""

from __future__ import annotations

import ast
import difflib
import functools
import re
from typing import Any

from codecurate.generate.parse import extract_code

CODE_TASKS = ("generate", "translate")  # tasks whose output is code in the example's language


def count_sentences(text: str) -> int:
    """Sentences in prose, ignoring code spans, decimals and common abbreviations."""
    text = re.sub(r"```.*?(```|$)", " code ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "code", text)
    text = re.sub(r"\b(e\.g|i\.e|etc|vs|Mr|Dr)\.", "x", text)
    text = re.sub(r"(\d)\.(\d)", r"\1\2", text)
    parts = [p for p in re.split(r"[.!?]+(?:\s+|$)", text.strip()) if p.strip()]
    return len(parts)


@functools.cache
def _tree_sitter_parser(language: str) -> Any:
    from codecurate.parsers import parser_for

    try:
        return parser_for(language)
    except Exception:  # unknown language (KeyError) or no grammar installed (UserError): no check possible
        return None


def syntax_ok(code: str, language: str) -> bool | None:
    """True/False when a parser for `language` is at hand (Python always; others via tree-sitter), else None."""
    if language == "python":
        try:
            ast.parse(code)
        except (SyntaxError, ValueError):
            return False
        return True
    parser = _tree_sitter_parser(language)
    if parser is None:
        return None
    return not parser.parse(code.encode("utf-8")).root_node.has_error


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", extract_code(text)).strip()


def similar(a: str, b: str) -> float:
    """Similarity of two texts after fence stripping and whitespace normalisation (0..1)."""
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def check_example(
    ex: dict[str, Any], max_sentences: int = 3, max_instruction_chars: int = 600, copy_threshold: float = 0.9
) -> list[str]:
    """Rule reasons for one assembled example (task, language, seed_language, instruction, input, output)."""
    reasons = [f"empty:{f}" for f in ("instruction", "output") if not str(ex.get(f, "")).strip()]
    if reasons:
        return reasons
    task, lang = ex["task"], ex["language"]
    instruction = ex["instruction"]
    if not 1 <= count_sentences(instruction) <= max_sentences:
        reasons.append("instruction_sentences")
    if len(instruction) > max_instruction_chars:
        reasons.append("instruction_too_long")
    if task in CODE_TASKS:
        code = extract_code(ex["output"])
        if syntax_ok(code, lang) is False:
            reasons.append(f"syntax:{lang}")
        src = ex.get("seed_language", lang)
        if task == "translate" and src != lang and syntax_ok(code, src) is True and src == "python":
            reasons.append("output_in_source_language")  # the commonest translate failure of small models
    if task == "fix":
        buggy = extract_code(ex.get("input", ""))
        if not buggy.strip():
            reasons.append("empty:input")
        elif _norm(buggy) == _norm(ex.get("fixed", "")):
            reasons.append("bug_not_changed")
        elif syntax_ok(buggy, lang) is False:
            reasons.append(f"syntax:{lang}")
    elif ex.get("input") and similar(ex["input"], ex["output"]) >= copy_threshold:
        reasons.append("output_copies_input")
    elif task == "generate" and ex.get("seed_code") and _norm(instruction) == _norm(ex["seed_code"]):
        reasons.append("instruction_is_code")
    return reasons
