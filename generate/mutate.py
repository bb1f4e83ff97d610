"""Mutation operators that make buggy variants of Python code for the ``fix`` task.

Each mutant changes exactly one site: a flipped comparison, an off-by-one constant, a swapped arithmetic or
boolean operator, a negated condition. A mutant is only useful once it fails a test; ``validate.py`` checks that.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator

_COMPARE_FLIP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}  # fmt: skip
_ARITH_SWAP = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
}  # fmt: skip


def _sites(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(operator name, node) for every place one operator can change."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE_FLIP:
            yield "flip-comparison", node
        elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH_SWAP:
            yield "swap-arithmetic", node
        elif isinstance(node, ast.BoolOp):
            yield "swap-boolean", node
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield "off-by-one", node
        elif isinstance(node, ast.If | ast.While):
            yield "negate-condition", node


def _apply(op: str, node: ast.AST) -> None:
    if op == "flip-comparison":
        node.ops[0] = _COMPARE_FLIP[type(node.ops[0])]()
    elif op == "swap-arithmetic":
        node.op = _ARITH_SWAP[type(node.op)]()
    elif op == "swap-boolean":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif op == "off-by-one":
        node.value += 1
    elif op == "negate-condition":
        node.test = ast.UnaryOp(ast.Not(), node.test)


def mutants(code: str, seed: int = 0, limit: int | None = None) -> list[tuple[str, str]]:
    """All distinct one-site mutants of ``code`` as (operator name, buggy code), shuffled by ``seed``.

    Code that does not parse has no mutants. The output is ``ast.unparse``-formatted (comments are lost), so
    compare mutants with each other, not with the original text.
    """
    try:
        n_sites = sum(1 for _ in _sites(ast.parse(code)))
    except SyntaxError:
        return []
    original = ast.unparse(ast.parse(code))
    seen, out = {original}, []
    for i in range(n_sites):
        tree = ast.parse(code)  # a fresh tree per mutant: _apply edits in place
        op, node = list(_sites(tree))[i]
        _apply(op, node)
        buggy = ast.unparse(ast.fix_missing_locations(tree))
        if buggy not in seen:
            seen.add(buggy)
            out.append((op, buggy))
    random.Random(seed).shuffle(out)
    return out[:limit] if limit is not None else out
