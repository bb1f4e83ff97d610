"""Translate literal-valued Python assertions (``assert f(1, [2, 3]) == "x"``) into other languages' tests.

Only values whose meaning survives the trip are translated: ints (within 2**53 for JavaScript), finite floats,
strings, bools, None (not inside Lua tables, where nil ends a list), lists, tuples (as lists) and dicts (string
keys for JavaScript). Anything else makes the whole test list untranslatable (None): a partial list would
silently test less than the seed's tests do.
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any

from codecurate.execute.languages import canonical_name

# How one equality test is written; {actual} is a call expression, {expected} a literal from values.py.
ASSERT_TEMPLATES: dict[str, str] = {
    "python": "assert {actual} == {expected}",
    # Deep equality without a library: node's assert module ships with node.
    "javascript": "require('assert').deepStrictEqual({actual}, {expected});",
    "lua": "assert(deep_equal({actual}, {expected}))",
}


class Untranslatable(ValueError):
    """A value or assertion that has no faithful literal in the target language."""


def parse_assertion(test: str, func_name: str) -> tuple[list[Any], Any]:
    """``assert func_name(*args) == expected`` with literal args -> (args, expected); Untranslatable otherwise."""
    try:
        tree = ast.parse(test.strip())
    except SyntaxError as e:
        raise Untranslatable(f"not Python: {e.msg}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        raise Untranslatable("not a single assert statement")
    cmp = tree.body[0].test
    if not (isinstance(cmp, ast.Compare) and len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.Eq)):
        raise Untranslatable("not an == comparison")
    call, expected = cmp.left, cmp.comparators[0]
    if isinstance(expected, ast.Call) and not isinstance(call, ast.Call):
        call, expected = expected, call  # `assert "x" == f(1)`
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == func_name):
        raise Untranslatable(f"not a call of {func_name}")
    if call.keywords:
        raise Untranslatable("keyword arguments")
    try:
        return [ast.literal_eval(a) for a in call.args], ast.literal_eval(expected)
    except ValueError:
        raise Untranslatable("non-literal argument or expected value") from None


def to_literal(value: Any, language: str) -> str:
    """Render a Python value as a literal of ``language`` (python, javascript, lua); Untranslatable if unfaithful."""
    language = canonical_name(language)
    if language == "python":
        return repr(value)
    return _RENDER[language](value)


def _js(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise Untranslatable("int beyond JavaScript's exact range")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Untranslatable("non-finite float")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_js(v) for v in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise Untranslatable("dict with non-string keys")
        return "{" + ", ".join(f"{json.dumps(k)}: {_js(v)}" for k, v in value.items()) + "}"
    raise Untranslatable(f"{type(value).__name__} value")


def _lua_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:  # Lua strings are bytes: spell out UTF-8 bytes so nothing depends on the file's encoding
            out.extend(f"\\{b}" for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def _lua(value: Any, nested: bool = False) -> str:
    if value is None:
        if nested:
            raise Untranslatable("None inside a Lua table")
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise Untranslatable("int beyond Lua's 64-bit range")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Untranslatable("non-finite float")
        return repr(value)
    if isinstance(value, str):
        return _lua_str(value)
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua(v, True) for v in value) + "}"
    if isinstance(value, dict):
        if not all(isinstance(k, str | int) and not isinstance(k, bool) for k in value):
            raise Untranslatable("dict with keys other than str or int")
        return "{" + ", ".join(f"[{_lua(k, True)}] = {_lua(v, True)}" for k, v in value.items()) + "}"
    raise Untranslatable(f"{type(value).__name__} value")


_RENDER = {"javascript": _js, "lua": _lua}


def translate_tests(tests: list[str], func_name: str, target_language: str) -> list[str] | None:
    """Each ``assert func_name(...) == literal`` as a test in ``target_language``; None if any cannot be."""
    language = canonical_name(target_language)
    out = []
    try:
        for test in tests:
            args, expected = parse_assertion(test, func_name)
            actual = f"{func_name}({', '.join(to_literal(a, language) for a in args)})"
            out.append(ASSERT_TEMPLATES[language].format(actual=actual, expected=to_literal(expected, language)))
    except Untranslatable:
        return None
    return out
