"""Translate literal-valued Python assertions (``assert f(1, [2, 3]) == "x"``) into other languages' tests.

    translate_tests(["assert f([1, 2]) == 3.5"], "f", "ocaml")   # ["assert (f [1; 2] = 3.5)"]

Targets: javascript, lua, ocaml, r, racket (and python, unchanged). Only values whose meaning survives the trip are
translated: ints, finite floats, strings, bools, None, lists, tuples and dicts, each within what the target can
hold faithfully (below). Anything else makes the whole test list untranslatable (None): a partial list would
silently test less than the seed's tests do.

Equality follows Python's ``==``: deep and structural, numbers by value (``2 == 2.0``), floats exactly (no
tolerance: Python's ``==`` has none, and a translation of the same arithmetic gives the same IEEE doubles).
Per language:

- javascript: ``assert.deepStrictEqual``; ints beyond 2**53 and dicts with non-string keys are untranslatable
  (deepStrictEqual also tells -0 from 0, stricter than Python).
- lua: a ``deep_equal`` helper over tables; None only at the top level (nil ends a Lua list).
- ocaml: typed. One type per argument and for the result, unified over all the tests (see value_types.py): lists
  must be homogeneous, an int beside a float is written as a float, None beside values makes an option (``Some
  x`` / ``None``); tuples are tuples, dicts are association lists compared after sorting (dict order does not
  matter in Python). Ints must fit OCaml's 63 bits. Mixed types in one position are untranslatable.
- r: numbers are doubles (ints beyond 2**53 are untranslatable); a list of numbers, of strings or of bools is an
  atomic vector ``c(...)``, any other list (nested, mixed, with None) is ``list(...)``; None is NULL; a dict with
  string keys is a named list. A ``.cc_eq`` helper compares: R has no scalars, so ``5``, ``c(5)`` and
  ``list(5)`` are equal (R cannot tell Python's ``5`` from ``[5]``), vectors and lists with the same elements
  are equal (an R translation may return either), element names are ignored unless a dict is expected (then
  names are keys, order-free), an empty expected list matches any length-0 value (``c()`` is NULL in R), and an
  expected None matches only NULL. Numbers compare by value (integer or double), strings and bools exactly.
- racket: exact integers of any size, flonums, ``(list ...)`` for lists and tuples, ``(hash ...)`` for dicts,
  None as ``#f`` (Racket's "no value"); a position where both None and a bool occur is untranslatable (they
  would both be #f). A ``__cc-equal?`` helper compares numbers with ``=``, hashes order-free, the rest deeply.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Callable
from typing import Any

from codecurate.execute.languages import canonical_name
from codecurate.execute.ocaml_values import ml_tests, ml_value
from codecurate.execute.value_types import Untranslatable, finite, kinds_by_path, quoted, utf8

__all__ = ["ASSERT_TEMPLATES", "Untranslatable", "parse_assertion", "to_literal", "translate_tests"]

# How one equality test is written; {actual} is a call expression, {expected} a literal. The r and racket
# helpers (.cc_eq, __cc-equal?) and lua's deep_equal are in harness.PRELUDES, placed before the tests.
ASSERT_TEMPLATES: dict[str, str] = {
    "python": "assert {actual} == {expected}",
    # Deep equality without a library: node's assert module ships with node.
    "javascript": "require('assert').deepStrictEqual({actual}, {expected});",
    "lua": "assert(deep_equal({actual}, {expected}))",
    "ocaml": "assert ({actual} = {expected})",
    "r": "stopifnot(.cc_eq({actual}, {expected}))",
    "racket": '(unless (__cc-equal? {actual} {expected}) (error "test failed"))',
}


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
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise Untranslatable("non-literal argument or expected value") from None


def to_literal(value: Any, language: str) -> str:
    """Render a Python value as a literal of ``language``; Untranslatable if unfaithful.

    For OCaml the type comes from the value alone (a typed test list goes through ``translate_tests``, which
    unifies types over all the tests)."""
    language = canonical_name(language)
    if language == "python":
        return repr(value)
    if language == "ocaml":
        return ml_value(value)
    if language not in _RENDER:
        raise Untranslatable(f"no value translation to {language}")
    return _RENDER[language](value)


# ---- javascript -------------------------------------------------------------------------------------------------


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
        return finite(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_js(v) for v in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise Untranslatable("dict with non-string keys")
        return "{" + ", ".join(f"{json.dumps(k)}: {_js(v)}" for k, v in value.items()) + "}"
    raise Untranslatable(f"{type(value).__name__} value")


# ---- lua --------------------------------------------------------------------------------------------------------


def _lua_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:  # Lua strings are bytes: spell out UTF-8 bytes so nothing depends on the file's encoding
            out.extend(f"\\{b}" for b in utf8(ch))
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
        return finite(value)
    if isinstance(value, str):
        return _lua_str(value)
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua(v, True) for v in value) + "}"
    if isinstance(value, dict):
        if not all(isinstance(k, str | int) and not isinstance(k, bool) for k in value):
            raise Untranslatable("dict with keys other than str or int")
        return "{" + ", ".join(f"[{_lua(k, True)}] = {_lua(v, True)}" for k, v in value.items()) + "}"
    raise Untranslatable(f"{type(value).__name__} value")


# ---- r ----------------------------------------------------------------------------------------------------------


def _r_char(ch: str) -> str:
    if ch == "\0":
        raise Untranslatable("NUL in an R string")
    utf8(ch)
    return f"\\U{{{ord(ch):x}}}"  # \U{...}: any code point, marks the string UTF-8


def _r_str(s: str) -> str:
    return quoted(s, _r_char)


def _r_num(value: int | float) -> str:
    if isinstance(value, int) and abs(value) > 2**53:
        raise Untranslatable("int beyond R's exact (double) range")
    return str(value) if isinstance(value, int) else finite(value)


def _r_kind(value: Any) -> str | None:
    """The atomic vector type a scalar goes into, None for a non-scalar (or None)."""
    if isinstance(value, bool):
        return "logical"
    if isinstance(value, int | float):
        return "double"
    return "character" if isinstance(value, str) else None


def _r(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _r_num(value)
    if isinstance(value, str):
        return _r_str(value)
    if isinstance(value, list | tuple):
        kinds = {_r_kind(v) for v in value}
        vector = len(value) > 0 and len(kinds) == 1 and None not in kinds
        return ("c(" if vector else "list(") + ", ".join(_r(v) for v in value) + ")"
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k and "\0" not in k for k in value):
            raise Untranslatable("dict with keys other than non-empty strings (R names)")
        return "list(" + ", ".join(f"{_r_str(k)} = {_r(v)}" for k, v in value.items()) + ")"
    raise Untranslatable(f"{type(value).__name__} value")


# ---- racket -----------------------------------------------------------------------------------------------------


def _rkt_char(ch: str) -> str:
    utf8(ch)
    # Fixed widths: the reader takes up to 4 (\u) or 8 (\U) hex digits, so a following digit is safe.
    return f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}"


def _rkt_str(s: str) -> str:
    return quoted(s, _rkt_char)


def _rkt(value: Any) -> str:
    if value is None:
        return "#f"  # the caller checked that no bool shares this position
    if isinstance(value, bool):
        return "#t" if value else "#f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, str):
        return _rkt_str(value)
    if isinstance(value, list | tuple):
        return "(list" + "".join(" " + _rkt(v) for v in value) + ")"
    if isinstance(value, dict):
        return "(hash" + "".join(f" {_rkt(k)} {_rkt(v)}" for k, v in value.items()) + ")"
    raise Untranslatable(f"{type(value).__name__} value")


# ---- dispatch ---------------------------------------------------------------------------------------------------

_RENDER: dict[str, Callable[[Any], str]] = {"javascript": _js, "lua": _lua, "r": _r, "racket": _rkt}


# Names a translated call cannot use as is (Python identifiers that are reserved words there).
def _words(text: str) -> set[str]:
    return set(text.split())


_RESERVED = {
    "javascript": _words(
        "await break case catch class const continue debugger default delete do else enum export extends false "
        "finally for function if implements import in instanceof interface let new null package private protected "
        "public return static super switch this throw true try typeof var void while with yield"
    ),
    "lua": _words(
        "and break do else elseif end false for function goto if in local nil not or repeat return then true until "
        "while"
    ),
    "ocaml": _words(
        "and as assert begin class constraint do done downto else end exception external false for fun function "
        "functor if in include inherit initializer lazy let match method module mutable new nonrec object of open "
        "or private rec sig struct then to true try type val virtual when while with"
    ),
    "r": _words("if else repeat while function for next break TRUE FALSE NULL Inf NaN NA in"),
    "python": set(keyword.kwlist),
}


def _check_name(func_name: str, language: str) -> None:
    if func_name in _RESERVED.get(language, ()):
        raise Untranslatable(f"{func_name!r} is a reserved word in {language}")
    if language == "ocaml" and not re.fullmatch(r"[a-z_][A-Za-z0-9_']*", func_name):
        raise Untranslatable(f"{func_name!r} is not an OCaml value name")
    if language == "r" and func_name.startswith("_"):
        raise Untranslatable(f"{func_name!r} is not an R name")


def _racket_none_is_unambiguous(calls: list[tuple[list[Any], Any]]) -> None:
    for pos in range(max((len(a) for a, _ in calls), default=0) + 1):
        kinds: dict[str, set[str]] = {}
        for args, expected in calls:
            values = [*args, expected]
            if pos < len(values):
                kinds_by_path(values[pos if pos < len(args) else -1], "", kinds)
        if any({"none", "bool"} <= k for k in kinds.values()):
            raise Untranslatable("None and a bool in one position: Racket writes both as #f")


def translate_tests(
    tests: list[str], func_name: str, target_language: str, code: str | None = None
) -> list[str] | None:
    """Each ``assert func_name(...) == literal`` as a test in ``target_language``; None if any cannot be.

    ``code`` (optional) is the seed's Python source: its annotations of ``func_name`` help type the values for
    typed targets (OCaml)."""
    language = canonical_name(target_language)
    if language not in ASSERT_TEMPLATES:
        return None
    try:
        _check_name(func_name, language)
        calls = [parse_assertion(test, func_name) for test in tests]
        if language == "ocaml":
            return ml_tests(calls, func_name, code, ASSERT_TEMPLATES["ocaml"])
        if language == "racket":
            _racket_none_is_unambiguous(calls)
        out = []
        for args, expected in calls:
            if language == "racket":
                actual = f"({func_name}{''.join(' ' + _rkt(a) for a in args)})"
            else:
                actual = f"{func_name}({', '.join(to_literal(a, language) for a in args)})"
            out.append(ASSERT_TEMPLATES[language].format(actual=actual, expected=to_literal(expected, language)))
    except (Untranslatable, RecursionError):
        return None
    return out
