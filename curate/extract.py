"""Per-language function extractors: source text in, documented functions out (CodeSearchNet conventions).

Python is parsed with `ast` (exact, and the stdlib is our default corpus). JavaScript, Java, Go, Ruby and PHP go
through tree-sitter, with the parsers of `codecurate.parsers` (the grammar wheels of the tree-sitter organisation;
generate's syntax rule uses the same parsers).

What counts as a function: top-level functions and methods of (nested) classes/modules; functions nested inside
other functions are left out because they depend on their enclosing scope. Conventions, following CodeSearchNet:

- ``code`` is the function's source from its first token (``def``, modifiers, ``func``) to its last, with the
  original indentation of later lines. For Python it contains the docstring; for the other languages the doc
  comment sits before the function and is not part of ``code``.
- ``code_no_docstring`` is ``code`` without the Python docstring (equal to ``code`` elsewhere).
- ``docstring`` is the cleaned doc text: ``inspect.cleandoc`` for Python, comment markers (``/** * */``, ``//``,
  ``#``) stripped for the rest (CodeSearchNet keeps Go's ``//``; we strip it for uniformity).
"""

from __future__ import annotations

import ast
import functools
import inspect
import io
import re
import textwrap
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codecurate.parsers import parser_for

LANGUAGES = ("python", "javascript", "java", "go", "ruby", "php")
EXTENSIONS = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".java": "java",
    ".go": "go",
    ".rb": "ruby",
    ".php": "php",
}
_WORD_RE = re.compile(r"[@#$]?\w+|[^\w\s]")


class ParseError(Exception):
    """The file does not parse (syntax error); ``line`` is 1-based when known."""

    def __init__(self, msg: str, line: int | None = None):
        super().__init__(msg)
        self.line = line


@dataclass
class Function:
    func_name: str
    code: str
    code_no_docstring: str
    docstring: str
    start_line: int  # 1-based, inclusive
    end_line: int
    tokenize: Callable[[], list[str]] = field(repr=False, compare=False)

    @functools.cached_property
    def code_tokens(self) -> list[str]:
        """Computed on first use: most functions have no docstring and are dropped before anyone asks."""
        return self.tokenize()


def language_of(path: str) -> str | None:
    """Language for a file name by extension, or None when unsupported."""
    for ext, lang in EXTENSIONS.items():
        if path.endswith(ext):
            return lang
    return None


def extract(source: str, language: str) -> list[Function]:
    """All top-level functions and class methods of `source`, documented or not (filters decide later)."""
    if language == "python":
        return extract_python(source)
    return extract_treesitter(source, language)


def docstring_tokens(docstring: str) -> list[str]:
    """Tokens of the docstring's first paragraph (the summary), as CodeSearchNet's ``docstring_tokens``."""
    first = re.split(r"\n\s*\n", docstring.strip(), maxsplit=1)[0]
    return _WORD_RE.findall(first)


def generic_tokens(code: str) -> list[str]:
    """Language-agnostic fallback tokens (words and single punctuation) for records without ``code_tokens``."""
    return _WORD_RE.findall(code)


# --- Python -------------------------------------------------------------------------------------------------


def extract_python(source: str) -> list[Function]:
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ParseError(f"syntax error: {e.msg}", e.lineno) from None
    lines = source.splitlines(keepends=True)
    out: list[Function] = []
    todo: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while todo:
        body, prefix = todo.pop(0)
        for node in body:
            if isinstance(node, ast.ClassDef):
                todo.append((node.body, f"{prefix}{node.name}."))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out.append(_python_function(node, lines, prefix))
    out.sort(key=lambda f: f.start_line)
    return out


def _segment(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """Source between two (1-based line, UTF-8 byte column) positions, as ast reports them."""
    (l0, c0), (l1, c1) = start, end
    if l0 == l1:
        return lines[l0 - 1].encode()[c0:c1].decode()
    first = lines[l0 - 1].encode()[c0:].decode()
    last = lines[l1 - 1].encode()[:c1].decode()
    return first + "".join(lines[l0 : l1 - 1]) + last


def _python_function(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str], prefix: str) -> Function:
    assert node.end_lineno is not None and node.end_col_offset is not None  # always set by ast.parse
    code = _segment(lines, (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset))
    doc = ast.get_docstring(node, clean=True) or ""
    stripped = code
    if ast.get_docstring(node, clean=False) is not None:
        stripped = _strip_python_docstring(node, lines)
    return Function(
        func_name=prefix + node.name,
        code=code,
        code_no_docstring=stripped,
        docstring=doc,
        start_line=node.lineno,
        end_line=node.end_lineno,
        tokenize=functools.partial(python_tokens, stripped),
    )


def _strip_python_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str:
    """`code` without the docstring statement; an emptied body gets ``pass`` so the result still parses."""
    ds = node.body[0]
    assert ds.end_lineno is not None and ds.end_col_offset is not None
    before = _segment(lines, (node.lineno, node.col_offset), (ds.lineno, ds.col_offset))
    after = _segment(lines, (ds.end_lineno, ds.end_col_offset), (node.end_lineno or 0, node.end_col_offset or 0))
    only_statement = len(node.body) == 1
    indent = before[before.rfind("\n") + 1 :]
    rest_of_line, _, tail = after.partition("\n")
    if "\n" in before and not indent.strip() and not rest_of_line.strip():
        # The usual case, a docstring on lines of its own: drop those lines whole.
        head = before[: len(before) - len(indent)]
        return head + indent + "pass" if only_statement else head + tail
    # Docstring sharing a line with code (``def f(): "doc"; x = 1``): cut just the literal and its semicolon.
    return before + ("pass" if only_statement else "") + after.lstrip(" \t;")


def strip_python_docstring(code: str) -> str | None:
    """Docstring-free version of a standalone Python function (e.g. a CodeSearchNet ``code`` field).

    Returns None when the code does not parse as one function (Python 2 code is common in CodeSearchNet).
    """
    try:
        tree = ast.parse(textwrap.dedent(code) if code[:1].isspace() else code)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    node = tree.body[0]
    if ast.get_docstring(node, clean=False) is None:
        return code
    lines = (textwrap.dedent(code) if code[:1].isspace() else code).splitlines(keepends=True)
    return _strip_python_docstring(node, lines)


_SKIP_TOKENS = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def python_tokens(code: str) -> list[str]:
    """Python tokens with comments kept and layout tokens dropped (CodeSearchNet's ``code_tokens``)."""
    try:
        return [
            t.string
            for t in tokenize.generate_tokens(io.StringIO(code).readline)
            if t.type not in _SKIP_TOKENS and t.string
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return generic_tokens(code)


# --- tree-sitter languages ----------------------------------------------------------------------------------


# Node types, per language: functions we extract, and named containers whose name prefixes method names.
_FUNCTIONS = {
    "javascript": {"function_declaration", "generator_function_declaration", "method_definition"},
    "java": {"method_declaration", "constructor_declaration"},
    "go": {"function_declaration", "method_declaration"},
    "ruby": {"method", "singleton_method"},
    "php": {"function_definition", "method_declaration"},
}
_CONTAINERS = {
    "javascript": {"class_declaration", "class"},
    "java": {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"},
    "go": set(),
    "ruby": {"class", "module"},
    "php": {"class_declaration", "interface_declaration", "trait_declaration", "enum_declaration"},
}
# Nodes we look through without adding a name (bodies, export wrappers, namespaces).
_PASS_THROUGH = {
    "javascript": {"program", "export_statement", "class_body"},
    "java": {"program", "class_body", "interface_body", "enum_body", "enum_body_declarations"},
    "go": {"source_file"},
    "ruby": {"program", "body_statement"},
    "php": {"program", "namespace_definition", "compound_statement", "declaration_list", "enum_declaration_list"},
}
_JS_FUNCTION_VALUES = {"function_expression", "function", "arrow_function", "generator_function"}
_COMMENTS = {"comment", "line_comment", "block_comment"}
_STRINGS = {
    "string", "string_literal", "interpreted_string_literal", "raw_string_literal", "encapsed_string",
    "template_string", "character_literal", "rune_literal", "heredoc", "nowdoc", "text_block", "regex",
}  # fmt: skip


def extract_treesitter(source: str, language: str) -> list[Function]:
    data = source.encode("utf-8")
    tree = parser_for(language).parse(data)
    root = tree.root_node
    if root.has_error:
        line = _first_error_line(root)
        raise ParseError("syntax error (tree-sitter could not parse the file)", line)
    out: list[Function] = []
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, prefix = stack.pop()
        for child in reversed(node.children):
            kind = child.type
            if kind in _FUNCTIONS[language]:
                fn = _ts_function(child, child, prefix, language)
                if fn:
                    out.append(fn)
            elif kind in _CONTAINERS[language]:
                name = child.child_by_field_name("name")
                stack.append((child, prefix + (name.text.decode() + "." if name else "")))
            elif kind in _PASS_THROUGH[language]:
                stack.append((child, prefix))
            elif language == "javascript" and kind in ("lexical_declaration", "variable_declaration"):
                fn = _js_variable_function(child, prefix)
                if fn:
                    out.append(fn)
    out.sort(key=lambda f: f.start_line)
    return out


def _first_error_line(node: Any) -> int | None:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return n.start_point[0] + 1
        stack.extend(reversed([c for c in n.children if c.has_error or c.is_missing or c.type == "ERROR"]))
    return None


def _ts_function(node: Any, anchor: Any, prefix: str, language: str, name: str | None = None) -> Function | None:
    if node.child_by_field_name("body") is None and language != "ruby":
        return None  # abstract / interface method: nothing to learn from
    if name is None:
        name_node = node.child_by_field_name("name")
        name = name_node.text.decode() if name_node is not None else ""
        if language == "go":
            prefix = ""  # CodeSearchNet names Go methods without their receiver type
    code = anchor.text.decode("utf-8")
    return Function(
        func_name=prefix + name,
        code=code,
        code_no_docstring=code,
        docstring=_doc_comment(anchor, language),
        start_line=anchor.start_point[0] + 1,
        end_line=anchor.end_point[0] + 1,
        tokenize=functools.partial(_ts_tokens, anchor),
    )


def _js_variable_function(decl: Any, prefix: str) -> Function | None:
    """``const f = (x) => ...`` / ``var f = function () {...}``: one declarator holding a function."""
    declarators = [c for c in decl.named_children if c.type == "variable_declarator"]
    if len(declarators) != 1:
        return None
    value = declarators[0].child_by_field_name("value")
    name = declarators[0].child_by_field_name("name")
    if value is None or name is None or value.type not in _JS_FUNCTION_VALUES:
        return None
    fn = _ts_function(value, decl, prefix, "javascript", name=name.text.decode())
    return fn


def _doc_comment(node: Any, language: str) -> str:
    """The doc comment right above `node` (no blank line between), cleaned; "" when there is none."""
    anchor = node
    if anchor.parent is not None and anchor.parent.type == "export_statement":
        anchor = anchor.parent
    # Some grammars (Ruby) put a comment before a body's first statement outside that body: climb out.
    while anchor.prev_sibling is None and anchor.parent is not None and anchor.parent.start_byte == anchor.start_byte:
        anchor = anchor.parent
    comments: list[Any] = []
    row = anchor.start_point[0]
    prev = anchor.prev_sibling
    while prev is not None and prev.type in _COMMENTS and prev.end_point[0] >= row - 1:
        comments.append(prev)
        row = prev.start_point[0]
        prev = prev.prev_sibling
        if comments[-1].text.startswith(b"/*"):
            break  # one block comment is the whole doc
    if not comments:
        return ""
    comments.reverse()
    texts = [c.text.decode("utf-8") for c in comments]
    if texts[-1].startswith("/*"):
        if language in ("java", "php", "javascript") and not texts[-1].startswith("/**"):
            return ""  # a plain /* */ block is a remark, not documentation
        return _clean_block(texts[-1])
    if language in ("java", "php"):
        return ""  # their docs are /** */ blocks; line comments above a method are remarks
    return "\n".join(re.sub(r"^(//+|#+)\s?", "", t.strip()) for t in texts).strip()


def _clean_block(text: str) -> str:
    body = re.sub(r"^/\*+", "", text)
    body = re.sub(r"\*+/$", "", body)
    lines = [re.sub(r"^\s*\*(?!/) ?", "", line) for line in body.splitlines()]
    return inspect.cleandoc("\n".join(lines)).strip()


def _ts_tokens(node: Any) -> list[str]:
    """Leaf texts in order; a string literal or comment is one token, as in CodeSearchNet."""
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.child_count == 0 or n.type in _STRINGS:
            text = n.text.decode("utf-8", "replace").strip()
            if text:
                out.append(text)
        else:
            stack.extend(reversed(n.children))
    return out
