"""Module context for mined Python functions, so a seed runs alone in the sandbox.

    contexts = module_contexts(source, ["textwrap.dedent", "TextWrapper.wrap"])   # {func_name: Context}
    marks = mark_runnable(records)                                                 # sets runnable, runnable_reason

A function's context is its module cut down to what the function needs: every top-level statement binding a
name it reads, then the names those statements read, transitively (imports, helpers, constants, base classes,
the classes it instantiates), kept in module order, plus ``from __future__`` imports. The function's own place
is the slot line (``codecurate.seedcode.SLOT``), so whatever runs before it in the module runs before it here. A
method's slot is inside its class (kept whole: its other methods may be called through ``self``), and the
context ends with a shim binding the method's name (``codecurate.seedcode.method_shim``). What is decided here
statically is only what certainly cannot run (a nested class, a property, an ``__init__`` that needs arguments);
whether the rest runs is decided by running it (``mark_runnable``, one sandbox probe per seed).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from codecurate.seedcode import (
    BUILTIN_NAMES,
    SLOT,
    global_reads,
    lone_context,
    method_shim,
    statement_binds,
)
from codecurate.seedprobe import check_runnable

NOT_PYTHON = "not Python: only Python seeds are run alone"
_PROPERTY_DECORATORS = {"property", "cached_property", "setter", "getter", "deleter"}
_ABSTRACT = {"abstractmethod", "abstractproperty", "overload"}


@dataclass
class Context:
    context: str  # module context with the slot ("" when none could be built)
    reason: str | None  # why the function certainly cannot run alone (None: a probe decides)


class _Module:
    """One parsed module: its top-level statements, what each binds and reads, and their source lines."""

    def __init__(self, source: str, package: str | None = None):
        self.package = package
        self.tree = ast.parse(source)
        self.lines = source.splitlines()
        self.binders: dict[str, list[int]] = {}
        self._reads: dict[int, set[str]] = {}
        self.stars: list[int] = []
        self.future: list[int] = []
        for i, stmt in enumerate(self.tree.body):
            if _is_main_guard(stmt):
                continue  # the script part of a module is never context
            for name in statement_binds(stmt):
                self.binders.setdefault(name, []).append(i)
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                self.future.append(i)
            elif any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(stmt)):
                self.stars.append(i)

    def reads(self, i: int) -> set[str]:
        """Module-level names statement ``i`` reads (computed once, only for statements someone needs)."""
        if i not in self._reads:
            self._reads[i] = global_reads(self.tree.body[i]) - BUILTIN_NAMES
        return self._reads[i]

    def closure(self, names: set[str], own: int) -> tuple[set[int], set[str]]:
        """Statements needed for ``names`` (the seed's own statement ``own`` left out), and names none binds."""
        todo, seen, included, unbound = list(names), set(), set(self.future), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            binders = [i for i in self.binders.get(name, []) if i != own]
            if not binders and name not in self.binders:
                unbound.add(name)
                # A star import may provide it: keep them all (a probe tells whether it did).
                binders = self.stars
            for i in binders:
                if i not in included:
                    included.add(i)
                    todo.extend(self.reads(i))
        return included, unbound

    def segment(self, i: int) -> str:
        stmt = self.tree.body[i]
        if self.package is not None and any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(stmt)):
            # Outside its package a relative import fails: name the module absolutely (the tree's root must be
            # importable, as the standard library is).
            return ast.unparse(_Absolute(self.package).visit(stmt))
        start = _first_line(stmt)
        assert stmt.end_lineno is not None
        return "\n".join(self.lines[start - 1 : stmt.end_lineno])


class _Absolute(ast.NodeTransformer):
    """``from .x import y`` -> ``from pkg.x import y``, for a module of package ``pkg``."""

    def __init__(self, package: str):
        self.parts = package.split(".") if package else []

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        if not node.level or node.level - 1 >= len(self.parts):
            return node  # absolute already, or above the tree's root: left to fail in the probe
        base = self.parts[: len(self.parts) - (node.level - 1)]
        return ast.ImportFrom(
            module=".".join([*base, *([node.module] if node.module else [])]), names=node.names, level=0
        )


def package_of(rel_path: str) -> str:
    """Dotted package of a module at ``rel_path`` in its tree: ``email/mime/text.py`` -> ``email.mime``."""
    return ".".join(rel_path.split("/")[:-1])


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None)
    return decorators[0].lineno if decorators else stmt.lineno


def _is_main_guard(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test) and "__name__" in ast.unparse(stmt.test)


def module_contexts(source: str, names: list[str], package: str | None = None) -> dict[str, Context]:
    """Context of each function of ``source`` named in ``names`` (``f``, ``Class.method``, as mine names them);
    ``package`` (the module's dotted package in its tree) turns relative imports into absolute ones."""
    module = _Module(source, package)
    top = {s.name: i for i, s in enumerate(module.tree.body) if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    classes = {s.name: i for i, s in enumerate(module.tree.body) if isinstance(s, ast.ClassDef)}
    out: dict[str, Context] = {}
    for qual in names:
        parts = qual.split(".")
        if len(parts) == 1 and parts[0] in top:
            out[qual] = _function_context(module, top[parts[0]])
        elif len(parts) == 2 and parts[0] in classes:
            out[qual] = _method_context(module, classes[parts[0]], parts[1])
        elif len(parts) > 2:
            out[qual] = Context("", "method of a nested class")
        else:
            out[qual] = Context("", "not a top-level function or method of a top-level class")
    return out


def _function_context(module: _Module, i: int) -> Context:
    fn = module.tree.body[i]
    assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
    included, _ = module.closure(module.reads(i) - {fn.name}, i)
    # Decorators stay in the context, right above the slot: the seed is the decorated function, as in its module.
    decorators = "\n".join(module.lines[_first_line(fn) - 1 : fn.lineno - 1])
    slot = f"{decorators}\n{SLOT}" if decorators else SLOT
    return Context(_join(module, included, {i: slot}), None)


def _method_context(module: _Module, k: int, name: str) -> Context:
    cls = module.tree.body[k]
    assert isinstance(cls, ast.ClassDef)
    method = next(
        (n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name), None
    )
    if method is None:
        return Context("", "method not found in its class")
    decorators = {_decorator_name(d) for d in method.decorator_list}
    if decorators & _PROPERTY_DECORATORS:
        return Context("", "property: read as an attribute, not called")
    if decorators & _ABSTRACT:
        return Context("", "abstract method or overload: no body to run")
    kind = "static" if "staticmethod" in decorators else "class" if "classmethod" in decorators else "method"
    if kind == "method" and (why := _needs_arguments(cls)) is not None:
        return Context("", why)
    included, _ = module.closure(module.reads(k) - {cls.name}, k)
    # The class with the method's `def` lines (not its decorators) replaced by the slot.
    assert method.end_lineno is not None
    lines = module.lines
    start = _first_line(cls)
    indent = lines[method.lineno - 1][: method.col_offset]
    body = lines[start - 1 : method.lineno - 1] + [indent + SLOT] + lines[method.end_lineno : cls.end_lineno]
    shim = method_shim(cls.name, name, kind)
    return Context(_join(module, included, {k: "\n".join(body)}) + f"\n\n\n{shim}\n", None)


def _decorator_name(d: ast.expr) -> str:
    d = d.func if isinstance(d, ast.Call) else d
    return d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else ""


def _needs_arguments(cls: ast.ClassDef) -> str | None:
    """Why ``cls()`` certainly fails (its own ``__init__``/``__new__`` has required parameters), or None."""
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("__init__", "__new__"):
            a = node.args
            positional = (a.posonlyargs + a.args)[1:]
            required = [x.arg for x in positional[: len(positional) - len(a.defaults)]]
            required += [x.arg for x, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is None]
            if required:
                return f"class {cls.name} cannot be built without arguments ({', '.join(required)})"
    return None


def _join(module: _Module, included: set[int], replaced: dict[int, str]) -> str:
    parts = [replaced.get(i) or module.segment(i) for i in sorted(included | set(replaced))]
    return "\n\n".join(parts) + "\n"


# --- runnable marks -----------------------------------------------------------------------------------------


def add_lone_context(record: dict) -> None:
    """A Python record that came without its module (CodeSearchNet): the stdlib imports it names as context."""
    if record.get("language") == "python" and not record.get("context"):
        record["context"] = lone_context(record["code"])


def mark_runnable(records: list[dict], timeout_s: float = 10.0, workers: int | None = None) -> Counter:
    """Set ``runnable`` and ``runnable_reason`` on records that do not have them yet; returns the reasons."""
    todo = [r for r in records if "runnable" not in r]
    python = [r for r in todo if r.get("language") == "python"]
    for r in todo:
        if r.get("language") != "python":
            r["runnable"], r["runnable_reason"] = False, NOT_PYTHON
    for r, (ok, reason) in zip(python, check_runnable(python, timeout_s, workers), strict=True):
        r["runnable"] = ok
        r["runnable_reason"] = reason
    return Counter(reason_class(r["runnable_reason"]) for r in todo if not r["runnable"])


def runnable_counts(records: list[dict]) -> dict[str, Any]:
    """How many Python seeds run alone, and why the others do not (reason classes)."""
    python = [r for r in records if r.get("language") == "python"]
    reasons = Counter(reason_class(r.get("runnable_reason", "")) for r in python if r.get("runnable") is False)
    return {
        "python": len(python),
        "runnable": sum(1 for r in python if r.get("runnable") is True),
        "not_runnable": dict(reasons.most_common()),
    }


def reason_class(reason: str) -> str:
    """A reason without its particulars (names, values), for counting."""
    if "Can't instantiate abstract class" in reason:
        return "abstract class: cannot be instantiated"
    if re.search(r"__(init|new)__\(\) missing \d+ required", reason):
        return "class cannot be built without arguments (inherited constructor)"
    reason = re.sub(r"^(fail|timeout|memory|crash|sandbox-error): ", "", reason)
    head = re.split(r"[:(]", reason, maxsplit=1)[0].strip()
    return re.sub(r"^class \S+ ", "class ", head) or "unknown"
