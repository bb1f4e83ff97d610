"""Python test values written as OCaml, which is typed: every value of one argument position (and of the result)
is written at one type, unified over all the tests of the function and the seed's annotations (value_types.py).

    ml_tests([([[1, 2]], None), ([[]], 2.5)], "f", None, "assert ({actual} = {expected})")
    # ["assert (f [1; 2] = None)", "assert (f [] = (Some 2.5))"]

Dicts are association lists; when the result's type holds one, both sides are put in sorted order before ``=``
(Python's dict equality ignores order).
"""

from __future__ import annotations

from typing import Any

from codecurate.execute.value_types import (
    T,
    Untranslatable,
    finite,
    function_annotations,
    quoted,
    signature_types,
    type_of,
    utf8,
)


def ml_value(value: Any) -> str:
    """``value`` alone, at the type its own contents give it."""
    return _ml(value, type_of(value))


# ---- ocaml (typed) ----------------------------------------------------------------------------------------------


def _ml_str(s: str) -> str:
    # OCaml strings are bytes: decimal escapes of the UTF-8 bytes.
    return quoted(s, lambda ch: "".join(f"\\{b:03d}" for b in utf8(ch)))


def _ml_neg(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _ml(value: Any, t: T) -> str:
    """``value`` written at type ``t`` (from unification, so it fits)."""
    k = t.kind
    if k == "option":
        return "None" if value is None else f"(Some {_ml(value, t.args[0])})"
    if value is None:
        raise Untranslatable(f"None where a {t} is expected")
    if k == "bool" and isinstance(value, bool):
        return "true" if value else "false"
    if k == "int" and isinstance(value, int) and not isinstance(value, bool):
        if not -(2**62) <= value < 2**62:
            raise Untranslatable("int beyond OCaml's 63-bit range")
        return _ml_neg(str(value))
    if k == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) > 2**53:
            raise Untranslatable("int beyond exact float range, in a float position")
        return _ml_neg(finite(float(value)))
    if k == "str" and isinstance(value, str):
        return _ml_str(value)
    if k == "list" and isinstance(value, list):
        return "[" + "; ".join(_ml(v, t.args[0]) for v in value) + "]"
    if k == "tuple" and isinstance(value, tuple):
        if len(value) < 2:
            raise Untranslatable("OCaml has no tuples of fewer than two values")
        return "(" + ", ".join(_ml(v, a) for v, a in zip(value, t.args, strict=True)) + ")"
    if k == "dict" and isinstance(value, dict):
        return "[" + "; ".join(f"({_ml(a, t.args[0])}, {_ml(b, t.args[1])})" for a, b in value.items()) + "]"
    raise Untranslatable(f"{type(value).__name__} value where a {t} is expected")


def _has_dict(t: T) -> bool:
    return t.kind == "dict" or any(_has_dict(a) for a in t.args)


def _ml_norm(t: T) -> str | None:
    """An OCaml function that puts every association list (dict) inside a ``t`` value in sorted order, so that
    ``=`` ignores key order as Python's dict equality does; None when ``t`` holds no dict."""
    if not _has_dict(t):
        return None

    def app(fn: str | None, x: str) -> str:
        return f"({fn} {x})" if fn else x

    if t.kind == "dict":
        kn, vn = _ml_norm(t.args[0]), _ml_norm(t.args[1])
        return f"(fun d -> List.sort Stdlib.compare (List.map (fun (k, v) -> ({app(kn, 'k')}, {app(vn, 'v')})) d))"
    if t.kind == "list":
        return f"(List.map {_ml_norm(t.args[0])})"
    if t.kind == "option":
        return f"(Option.map {_ml_norm(t.args[0])})"
    names = [f"x{i}" for i in range(len(t.args))]  # tuple
    parts = ", ".join(app(_ml_norm(a), x) for a, x in zip(t.args, names, strict=True))
    return f"(fun ({', '.join(names)}) -> ({parts}))"


def ml_tests(calls: list[tuple[list[Any], Any]], func_name: str, code: str | None, template: str) -> list[str]:
    """OCaml tests for ``calls`` of ``func_name``, every value written at the type unified over all of them."""
    types = signature_types(calls, function_annotations(code, func_name))
    norm = _ml_norm(types[-1])
    out = []
    for args, expected in calls:
        rendered = [_ml(a, t) for a, t in zip(args, types, strict=False)] or ["()"]
        actual = f"{func_name} {' '.join(rendered)}"
        want = _ml(expected, types[-1])
        if norm:
            out.append(f"assert ({norm} ({actual}) = {norm} {want})")
        else:
            out.append(template.format(actual=actual, expected=want))
    return out
