"""The runnable Python source of a seed: its module context, the function in its slot, and what makes it callable.

    source = seed_program(seed)                       # the seed as mined
    source = seed_program(seed, code=answer)          # a generated answer in the seed's place
    source, first, last = seed_span(seed)             # ... and the 1-based lines the function occupies

Mining keeps, beside each Python function, the module context it needs to run alone (``context``): the module
reduced to the imports and module-level definitions the function reads, transitively, with the function's own
place marked by the slot line ``SLOT``. For a method, the slot sits inside its class and the context ends with a
shim binding the method's name at module level (``name = Class().name``, or ``Class.name`` for static and class
methods), so a test calls ``name(...)`` either way. A context without a slot (a hand-made record) is put before
the function. Test writing (generate/seedtests.py) and validation (generate/validate.py) both build their
programs here, so seed tests ran against exactly what answers are later checked against.

"Runs alone" (``runnable``) means: the program defines without error in the sandbox, every module-level name the
function reads exists, and ``name`` is callable. ``codecurate.seedprobe.check_runnable`` decides it: first
statically (``static_reason`` here), then by running the program in the sandbox.
"""

from __future__ import annotations

import ast
import builtins
import copy
import io
import re
import sys
import textwrap
import tokenize
from collections.abc import Iterator

SLOT = "pass  # <codecurate:seed>"
_SLOT_RE = re.compile(r"^([ \t]*)" + re.escape(SLOT) + r"[ \t]*$", re.MULTILINE)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
# Names every module has without defining them.
MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__"})
BUILTIN_NAMES = frozenset(dir(builtins)) | MODULE_NAMES


# --- the program --------------------------------------------------------------------------------------------


def seed_program(seed: dict, code: str | None = None) -> str:
    """Python source that defines the seed's function (or ``code`` in its place) with its context around it, so
    that ``func_name(...)`` works in a test appended after it."""
    return seed_span(seed, code)[0]


def seed_span(seed: dict, code: str | None = None) -> tuple[str, int, int]:
    """``(program, first, last)``: the program of ``seed_program`` and the 1-based lines holding the function
    (or the answer), which is what coverage is measured on."""
    context = seed.get("context") or ""
    own = code is None
    body = (seed["code"] if own else code).rstrip("\n")
    match = _SLOT_RE.search(context)
    if match is None:  # no context, or one made by hand without a slot: it goes first
        head = f"{context}\n\n" if context else ""
        return _assemble(head, body, "")
    indent = match.group(1)
    before, after = context[: match.start()], context[match.end() :].lstrip("\n")
    decorated = before.rstrip("\n").rsplit("\n", 1)[-1].startswith("@")
    if not indent and not (decorated and not own):  # a module-level function: the code takes the slot as it is
        return _assemble(before, body, "\n\n" + after if after else "")
    if not indent:
        # The seed's decorators stand above the slot: only the answer's def goes there, the rest after it all.
        target, rest = _split_answer(body, short_name(seed), methods_only=False)
        if target is None:
            return _assemble(before, body, "\n\n" + after if after else "")
        return _assemble(before, target, ("\n\n" + after if after else "") + ("\n\n" + rest if rest else ""))
    if own:  # a method as mined: later lines already carry the class's indentation
        return _assemble(before, indent + body, "\n\n" + after if after else "")
    target, rest = _split_answer(body, short_name(seed))
    if target is None:
        # A plain function answering for a method: it is defined last and takes the method's name, the class
        # keeps the seed's own method.
        program_head = before + indent + seed["code"].rstrip("\n") + ("\n\n" + after if after else "") + "\n\n"
        return _assemble(program_head, body, "")
    tail = ("\n\n" + after if after else "") + ("\n\n" + rest if rest else "")
    return _assemble(before, indent_block(target, indent), tail)


def _assemble(head: str, block: str, tail: str) -> tuple[str, int, int]:
    first = head.count("\n") + 1
    last = first + block.count("\n")
    return f"{head}{block}{tail}\n", first, last


def short_name(seed: dict) -> str:
    return str(seed.get("func_name") or "").split(".")[-1]


def _split_answer(code: str, name: str, methods_only: bool = True) -> tuple[str | None, str]:
    """An answer meant for a method slot: (its method ``def name(self|cls, ...)``, the other statements), or
    (None, code) when it has no such method (a free function, or code that does not parse)."""
    code = textwrap.dedent(code)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None, code
    lines = code.splitlines()
    for node in tree.body:
        is_def = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        if is_def and (not methods_only or _is_method_def(node)):
            start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            assert node.end_lineno is not None
            target = "\n".join(lines[start - 1 : node.end_lineno])
            rest = "\n".join(lines[: start - 1] + lines[node.end_lineno :]).strip("\n")
            return target, rest
    return None, code


def _is_method_def(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    params = node.args.posonlyargs + node.args.args
    decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
    return bool(decorators & {"staticmethod", "classmethod"}) or bool(params and params[0].arg in ("self", "cls"))


def indent_block(code: str, indent: str) -> str:
    """``code`` with every line indented by ``indent``, except lines inside a multi-line string (indenting them
    would change the string's value)."""
    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # code that does not tokenize will not run either; indent it plainly
    return "\n".join(
        line if (i in inside or not line.strip()) else indent + line for i, line in enumerate(code.splitlines(), 1)
    )


def method_shim(class_name: str, name: str, kind: str) -> str:
    """The line binding a method to a module-level name: ``kind`` is "method" (through an instance built without
    arguments), or "static"/"class" (through the class)."""
    attr = f"_{class_name.lstrip('_')}{name}" if name.startswith("__") and not name.endswith("__") else name
    owner = class_name if kind in ("static", "class") else f"{class_name}()"
    return f"{name} = getattr({owner}, {attr!r})" if attr != name else f"{name} = {owner}.{name}"


# --- names a function reads -------------------------------------------------------------------------------


def _definition_parts(node: ast.AST) -> list[ast.AST]:
    """What a def, lambda or class evaluates where it stands, not inside itself: decorators, parameter
    defaults, base classes and class keywords."""
    parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        parts += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    elif isinstance(node, ast.ClassDef):
        parts += node.bases + [k.value for k in node.keywords]
    return parts


def _scope_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``node``'s own scope: nested scopes are yielded but not entered (their definition parts
    belong to this scope, ``node``'s own to the scope around it)."""
    own = {id(x) for x in _definition_parts(node)} if isinstance(node, _SCOPES) else set()
    stack = [c for c in ast.iter_child_nodes(node) if id(c) not in own]
    while stack:
        n = stack.pop()
        if id(n) in own:
            continue
        yield n
        if isinstance(n, _SCOPES):
            stack.extend(_definition_parts(n))
        else:
            stack.extend(ast.iter_child_nodes(n))


def _bound_in(node: ast.AST) -> set[str]:
    """Names a scope binds locally (parameters, assignments, imports, nested defs), less its ``global`` names."""
    return _scan(node)[0]


def _scan(node: ast.AST, skip: set[int] | None = None) -> tuple[set[str], list[str], list[ast.AST]]:
    """One pass over ``node``'s own scope: (names it binds, names it loads, nested scopes)."""
    bound: set[str] = set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        a = node.args
        bound.update(x.arg for x in a.posonlyargs + a.args + a.kwonlyargs)
        bound.update(x.arg for x in (a.vararg, a.kwarg) if x is not None)
    declared_global: set[str] = set()
    loads: list[str] = []
    nested: list[ast.AST] = []
    for n in _scope_nodes(node):
        if isinstance(n, ast.Name):
            if not isinstance(n.ctx, ast.Load):
                bound.add(n.id)
            elif skip is None or id(n) not in skip:
                loads.append(n.id)
        elif isinstance(n, _SCOPES):
            nested.append(n)
            if not isinstance(n, ast.Lambda):
                bound.add(n.name)
        elif isinstance(n, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in n.names if a.name != "*")
        elif isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            bound.add(n.rest)
        elif isinstance(n, ast.Global):
            declared_global.update(n.names)
    return bound - declared_global, loads, nested


def global_reads(node: ast.AST, outer: frozenset[str] = frozenset(), annotations: bool = True) -> set[str]:
    """Names ``node`` (a def, class or module-level statement) reads that no scope inside it binds: what the
    module or builtins must provide. ``annotations=False`` leaves out names read only in annotations (not
    evaluated under ``from __future__ import annotations``)."""
    skip: set[int] | None = None
    if not annotations:
        skip = set()
        for n in [node, *_scope_nodes(node)]:
            for ann in _annotation_nodes(n):
                skip.update(id(x) for x in ast.walk(ann))
    bound, loads, nested = _scan(node, skip)
    # A class body reads module names it also binds (`_tpl = _tpl` in difflib.HtmlDiff): only function scopes
    # hide their own names.
    local = bound if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) else set()
    visible = outer | local
    # Functions nested in a class do not see the class's names; those nested in a function see its locals.
    inner = outer if isinstance(node, ast.ClassDef) else frozenset(visible)
    reads = {name for name in loads if name not in visible}
    for n in nested:
        reads |= global_reads(n, inner, annotations)
    if isinstance(node, _SCOPES):  # its own decorators, defaults and bases, read in the scope around it
        for part in _definition_parts(node):
            for x in ast.walk(part):
                if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Load) and x.id not in outer:
                    reads.add(x.id)
    return reads


def _annotation_nodes(n: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
        a = n.args
        args = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x is not None)]
        out += [x.annotation for x in args if x.annotation is not None]
        out += [n.returns] if n.returns is not None else []
    elif isinstance(n, ast.AnnAssign):
        out.append(n.annotation)
    return out


def first_function(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The first top-level def of ``code`` (dedented when needed), or None when there is none or it won't parse."""
    try:
        tree = ast.parse(textwrap.dedent(code) if code[:1].isspace() else code)
    except SyntaxError:
        return None
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)


def module_bindings(tree: ast.Module) -> set[str]:
    """Names a module's top-level statements bind (in any branch of a top-level ``if``/``try``)."""
    names: set[str] = set()
    for stmt in tree.body:
        names |= statement_binds(stmt)
    return names


def statement_binds(stmt: ast.stmt) -> set[str]:
    """Module-level names one top-level statement binds (not those of scopes nested in it)."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Delete):
        return set()  # `del _helper` at the end of a module unbinds: never part of a context
    wrapper = ast.Module(body=[stmt], type_ignores=[])
    return _bound_in(wrapper)


# --- lone functions (CodeSearchNet records) -----------------------------------------------------------------


def stdlib_imports(code: str) -> list[str]:
    """Standard-library modules a lone function names without importing them (``os`` in ``os.path.join``)."""
    fn = first_function(code)
    if fn is None:
        return []
    reads = global_reads(fn) - BUILTIN_NAMES
    return sorted(n for n in reads if n in sys.stdlib_module_names and not n.startswith("_"))


def lone_context(code: str) -> str:
    """The context of a function that came without its module: the standard-library imports it names."""
    imports = "".join(f"import {m}\n" for m in stdlib_imports(code))
    return f"{imports}\n\n{SLOT}\n" if imports else f"{SLOT}\n"


def static_reason(seed: dict) -> str | None:
    """Why a Python seed cannot run alone, decided without running it; None when only a run can tell."""
    fn = first_function(seed.get("code") or "")
    if fn is None:
        return "does not parse as a function"
    if isinstance(fn, ast.AsyncFunctionDef):
        return "async function: a test cannot call it synchronously"
    context = seed.get("context") or ""
    params = fn.args.posonlyargs + fn.args.args
    slot = _SLOT_RE.search(context)
    in_class = slot is not None and bool(slot.group(1))
    if params and params[0].arg in ("self", "cls") and not in_class:
        return f"method without its class ({params[0].arg})"
    try:
        program = ast.parse(seed_program(seed))
    except SyntaxError as e:
        return f"program does not parse: {e.msg} (line {e.lineno})"
    missing = sorted(needed_names(seed, fn) - module_bindings(program) - BUILTIN_NAMES - {"self", "cls"})
    if missing and not any(_is_star(s) for s in program.body):
        return "undefined names: " + ", ".join(missing[:8])
    return None


def needed_names(seed: dict, fn: ast.FunctionDef | ast.AsyncFunctionDef | None = None) -> set[str]:
    """Module-level names the seed's function reads when called (annotations left out under PEP 563)."""
    fn = fn or first_function(seed.get("code") or "")
    if fn is None:
        return set()
    lazy = "from __future__ import annotations" in (seed.get("context") or "")
    # Decorators and defaults are evaluated where the def stands (a class body for a method), not at the call:
    # if they fail, the definition fails, which the probe sees anyway.
    fn = copy.copy(fn)
    fn.decorator_list = []
    fn.args = copy.copy(fn.args)
    fn.args.defaults, fn.args.kw_defaults = [], [None] * len(fn.args.kwonlyargs)
    return global_reads(fn, annotations=not lazy) - BUILTIN_NAMES


def _is_star(stmt: ast.stmt) -> bool:
    """Whether a top-level statement holds a star import (``try: from _codecs import *`` included)."""
    return any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(stmt))
