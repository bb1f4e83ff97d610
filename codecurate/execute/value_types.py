"""Static types of Python test values, for target languages that need them (OCaml) or that must not confuse two
Python values they spell alike (Racket writes None as #f).

A function's tests fix one type per argument position and one for the result: the types of every value seen
there, unified (an int and a float make a float; a value and None make an option; an empty list takes its element
type from the other lists). Values that cannot share a type (a str and an int in one position, lists of
different element types) are Untranslatable: a typed language cannot hold them, and guessing a wrapper type
would test something else. The seed's annotations (``def f(x: float) -> list[int] | None``), when given, are
unified in too, so ``f(2)`` with ``x: float`` is written with a float.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Untranslatable(ValueError):
    """A value or assertion that has no faithful literal in the target language."""


# Backslash escapes that R, Racket and OCaml string literals share.
C_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quoted(s: str, other: Callable[[str], str]) -> str:
    """A double-quoted literal: ``C_ESCAPES`` for quotes, backslash and line ends, printable ASCII as it is, and
    every other character spelled by ``other`` (which raises Untranslatable where the language has no spelling)."""
    out = []
    for ch in s:
        if ch in C_ESCAPES:
            out.append(C_ESCAPES[ch])
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append(other(ch))
    return '"' + "".join(out) + '"'


def finite(value: float) -> str:
    if not math.isfinite(value):
        raise Untranslatable("non-finite float")
    return repr(value)


def utf8(s: str) -> bytes:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        raise Untranslatable("string with a lone surrogate") from None


@dataclass(frozen=True)
class T:
    """A type: kind is int, float, str, bool, list, tuple, dict, option, or unknown (no value says yet)."""

    kind: str
    args: tuple[T, ...] = ()

    def __str__(self) -> str:
        return self.kind if not self.args else f"{self.kind}[{', '.join(map(str, self.args))}]"


UNKNOWN = T("unknown")
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}


def type_of(value: Any) -> T:
    if value is None:
        return T("option", (UNKNOWN,))
    if type(value) in _SCALARS:
        return T(_SCALARS[type(value)])
    if isinstance(value, list):
        return T("list", (unify_all(type_of(v) for v in value),))
    if isinstance(value, tuple):
        return T("tuple", tuple(type_of(v) for v in value))
    if isinstance(value, dict):
        return T("dict", (unify_all(type_of(k) for k in value), unify_all(type_of(v) for v in value.values())))
    raise Untranslatable(f"{type(value).__name__} value")


def unify(a: T, b: T) -> T:
    """The one type both ``a`` and ``b`` values can be written at; Untranslatable when there is none."""
    if a.kind == "unknown":
        return b
    if b.kind == "unknown" or a == b:
        return a
    if {a.kind, b.kind} == {"int", "float"}:
        return T("float")  # Python's 2 == 2.0: ints beside floats are written as floats
    if a.kind == "option" or b.kind == "option":
        inner_a = a.args[0] if a.kind == "option" else a
        inner_b = b.args[0] if b.kind == "option" else b
        return T("option", (unify(inner_a, inner_b),))
    if a.kind != b.kind or len(a.args) != len(b.args):
        raise Untranslatable(f"values of types {a} and {b} in one position")
    return T(a.kind, tuple(unify(x, y) for x, y in zip(a.args, b.args, strict=True)))


def unify_all(types: Any) -> T:
    out = UNKNOWN
    for t in types:
        out = unify(out, t)
    return out


def signature_types(calls: list[tuple[list[Any], Any]], annotations: list[T] | None = None) -> list[T]:
    """[type of argument 0, ..., type of the result] over every (args, expected) of one function's tests."""
    arities = {len(args) for args, _ in calls}
    if len(arities) > 1:
        raise Untranslatable("calls with different numbers of arguments")
    n = arities.pop() if arities else 0
    types = list(annotations) if annotations and len(annotations) == n + 1 else [UNKNOWN] * (n + 1)
    for args, expected in calls:
        for i, value in enumerate([*args, expected]):
            types[i] = unify(types[i], type_of(value))
    return types


_ANNOTATION_NAMES = {"int": "int", "float": "float", "str": "str", "bool": "bool"}
_GENERICS = {"list": "list", "List": "list", "tuple": "tuple", "Tuple": "tuple", "dict": "dict", "Dict": "dict"}


def annotation_type(node: ast.expr | None) -> T:
    """A Python annotation as a type; UNKNOWN for anything we do not read (so the values decide)."""
    if node is None:
        return UNKNOWN
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return annotation_type(ast.parse(node.value, mode="eval").body)  # "list[int]" as a string
        except SyntaxError:
            return UNKNOWN
    if isinstance(node, ast.Name):
        return T(_ANNOTATION_NAMES[node.id]) if node.id in _ANNOTATION_NAMES else UNKNOWN
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        sides = [node.left, node.right]
        rest = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        return T("option", (annotation_type(rest[0]),)) if len(rest) == 1 else UNKNOWN
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name | ast.Attribute):
        name = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name == "Optional":
            return T("option", (annotation_type(items[0]),))
        if name == "Union" and len(items) == 2 and any(_is_none(i) for i in items):
            return T("option", (annotation_type(next(i for i in items if not _is_none(i))),))
        kind = _GENERICS.get(name)
        if kind == "tuple" and any(isinstance(i, ast.Constant) and i.value is Ellipsis for i in items):
            return UNKNOWN  # tuple[int, ...] has no fixed arity
        if kind and (kind != "list" or len(items) == 1) and (kind != "dict" or len(items) == 2):
            return T(kind, tuple(annotation_type(i) for i in items))
    return UNKNOWN


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def function_annotations(code: str | None, func_name: str) -> list[T] | None:
    """[argument types..., result type] from ``def func_name`` in ``code``; None when absent or unreadable."""
    if not code:
        return None
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == func_name:
            params = [*node.args.posonlyargs, *node.args.args]
            return [*(annotation_type(p.annotation) for p in params), annotation_type(node.returns)]
    return None


def kinds_by_path(value: Any, path: str = "", out: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Which scalar kinds (and "none") occur at each place inside ``value`` (list elements share one place)."""
    out = {} if out is None else out
    if isinstance(value, list):
        for v in value:
            kinds_by_path(v, path + "[]", out)
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            kinds_by_path(v, f"{path}.{i}", out)
    elif isinstance(value, dict):
        for k, v in value.items():
            kinds_by_path(k, path + "{k}", out)
            kinds_by_path(v, path + "{v}", out)
    else:
        out.setdefault(path, set()).add("none" if value is None else type(value).__name__)
    return out
