"""A function's code without its docstring, for prompts that must not show the answer (summarize, generate).

    code_without_docstring(record)   # record: a seed with ``code``, ``language`` and maybe ``docstring``

Python: the record's own ``code_no_docstring`` (mine computes it), else the docstring removed with ``ast``.
Other languages: every comment inside the code whose text holds the record's ``docstring`` (CodeSearchNet
keeps a JSDoc/Javadoc inside ``code`` for some sources; mined trees leave the doc comment above the function,
outside ``code``). Computed from the record, so generate needs no
parser from the mine stage.
"""

from __future__ import annotations

import ast
import re

# Block comments (/* */, Ruby =begin/=end) and runs of line comments (//, #) as they appear in code.
_COMMENTS = re.compile(
    r"/\*.*?\*/|^[ \t]*=begin\b.*?^[ \t]*=end\b[^\n]*\n?|(?:^[ \t]*//[^\n]*(?:\n|$))+|(?:^[ \t]*#[^\n]*(?:\n|$))+",
    re.S | re.M,
)
_MARKERS = re.compile(r"/\*+|\*+/|^[ \t]*\*|//+|^[ \t]*#+|=begin|=end", re.M)


def _words(text: str) -> str:
    return " ".join(_MARKERS.sub(" ", text).split()).lower()


def strip_python_docstring(code: str) -> str:
    """``code`` without the first function's docstring; a body that held only it becomes ``pass``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        # Unparsable: drop the first triple-quoted string, the usual docstring, rather than leak it.
        return re.sub(r'("""|\'\'\')(.*?)\1[ \t]*\n?', "", code, count=1, flags=re.S)
    fn = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if fn is None or not fn.body:
        return code
    doc = fn.body[0]
    if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)):
        return code
    lines = code.splitlines(keepends=True)
    first, last = doc.lineno - 1, doc.end_lineno or doc.lineno
    if lines[first][: doc.col_offset].strip() or lines[last - 1][doc.end_col_offset :].strip(" \t\r\n;"):
        return code  # the docstring shares a line with other code: cutting lines would break it
    indent = lines[first][: doc.col_offset]
    filler = [f"{indent}pass\n"] if len(fn.body) == 1 else []
    return "".join(lines[:first] + filler + lines[last:])


def strip_doc_comments(code: str, docstring: str) -> str:
    """``code`` without the comments whose text holds ``docstring`` (its first 60 characters of words)."""
    needle = _words(docstring)[:60]
    if not needle:
        return code
    return _COMMENTS.sub(lambda m: "" if needle in _words(m.group(0)) else m.group(0), code)


def code_without_docstring(record: dict) -> str:
    """The code a prompt may show without giving away the docstring (see the module docstring)."""
    given = record.get("code_no_docstring")
    given = given if isinstance(given, str) and given.strip() else None
    if str(record.get("language", "")).lower() == "python":
        return given or strip_python_docstring(str(record.get("code") or ""))
    # mine's code_no_docstring equals code for these languages, so the comments are looked for in either.
    return strip_doc_comments(given or str(record.get("code") or ""), str(record.get("docstring") or ""))
