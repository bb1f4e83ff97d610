"""Extractors (one test per language on fixtures written for them) and the WaveCoder-style filters."""

import ast
from pathlib import Path

import pytest
from conftest import FIXTURES

from codecurate.curate.extract import (
    ParseError,
    docstring_tokens,
    extract,
    language_of,
    strip_python_docstring,
)
from codecurate.curate.filters import FilterConfig, language_cap_keep, run_filters
from codecurate.near_dup import code_hash, minhash_keep, normalize_code, shingles

TREE = FIXTURES / "mine" / "tree"


def functions(rel: str) -> dict:
    path = TREE / rel
    return {f.func_name: f for f in extract(path.read_text(encoding="utf-8"), language_of(path.name))}


def test_python_extractor():
    fns = functions("pkg/geometry.py")
    # Nested function `inner` is left out; methods are qualified by their (nested) classes.
    assert list(fns) == [
        "area_of_circle", "no_doc", "Vector.__init__", "Vector.dot", "Vector.Polar.from_angle", "outer",
        "fetch_all", "only_doc",
    ]  # fmt: skip
    area = fns["area_of_circle"]
    assert area.docstring == "Return the area of a circle with the given radius.\n\nNegative radii are rejected."
    assert area.code.startswith("def area_of_circle(radius: float) -> float:\n") and '"""' in area.code
    assert '"""' not in area.code_no_docstring and "# pi r squared" in area.code_no_docstring
    assert (area.start_line, area.end_line) == (6, 14)
    assert "radius" in area.code_tokens and "# pi r squared" in area.code_tokens
    assert not any("Return the area" in t for t in area.code_tokens)  # tokens come from the stripped code
    assert fns["no_doc"].docstring == "" and fns["no_doc"].code == fns["no_doc"].code_no_docstring
    # A method keeps the original indentation of its body (CodeSearchNet convention) and starts at `def`.
    polar = fns["Vector.Polar.from_angle"]
    assert polar.code.startswith("def from_angle") and "\n            x = math.cos(theta)" in polar.code
    assert fns["fetch_all"].code.startswith("async def fetch_all")
    assert "Nested helpers" in fns["outer"].code_no_docstring  # only the outer docstring is removed
    assert fns["only_doc"].code_no_docstring == "def only_doc():\n    pass"
    for fn in fns.values():  # every stripped function still parses
        ast.parse(fn.code_no_docstring)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('def f(): "doc"', "def f(): pass"),
        ('def f(): "doc"; return 1', "def f(): return 1"),
        ('def f(x):\n    """Doc\n    more."""\n\n    return x', "def f(x):\n\n    return x"),
        ("def f(x):\n    return x", "def f(x):\n    return x"),
        ("def f(x):\n    print 'py2'", None),
        ("x = 1", None),
    ],
)
def test_strip_python_docstring(code, expected):
    assert strip_python_docstring(code) == expected


def test_javascript_extractor():
    fns = functions("web/strings.js")
    assert list(fns) == ["reverseString", "countChar", "undocumented", "Stack.constructor", "Stack.push", "clamp"]
    rev = fns["reverseString"]
    assert rev.docstring.startswith("Reverse the characters of a string.\n@param {string} s the input")
    assert rev.code.startswith("function reverseString(s) {") and rev.code.endswith("}")
    assert rev.code == rev.code_no_docstring and '""' in rev.code_tokens  # a string literal is one token
    count_doc = "Count how many times a character occurs in a string.\nReturns zero for an empty string."
    assert fns["countChar"].docstring == count_doc
    assert fns["countChar"].code.startswith("const countChar = (s, c) => {")
    assert fns["Stack.push"].docstring == "Push an item on top of the stack and return the new size."
    assert fns["clamp"].docstring == "Clamp a number into the closed range [lo, hi]."  # doc above `export`
    assert fns["undocumented"].docstring == "" and fns["Stack.constructor"].docstring == ""


def test_java_extractor():
    fns = functions("server/Calculator.java")
    # The interface's abstract method has no body and is not extracted.
    assert list(fns) == ["Calculator.add", "Calculator.undocumented", "Calculator.factorial", "Calculator.Inner.greet"]
    add = fns["Calculator.add"]
    assert add.docstring.splitlines() == [
        "Add two integers and return their sum.", "@param a the first operand", "@param b the second operand",
    ]  # fmt: skip
    assert add.code.startswith("public int add(int a, int b) {") and "/**" not in add.code
    assert fns["Calculator.factorial"].docstring == "Compute n factorial iteratively."
    assert fns["Calculator.factorial"].code.startswith("@Deprecated")
    assert fns["Calculator.Inner.greet"].docstring == "Greet someone by name."
    assert '"Hello, "' in fns["Calculator.Inner.greet"].code_tokens


def test_go_extractor():
    fns = functions("server/mathx.go")
    assert list(fns) == ["Max", "undocumented", "Inc"]  # Go methods are named without the receiver, as in CSN
    assert fns["Max"].docstring == "Max returns the larger of two integers.\nTies return a."
    assert fns["Inc"].code.startswith("func (c *Counter) Inc() int {")
    assert fns["Inc"].docstring.startswith("Inc increments the counter")


def test_ruby_extractor():
    fns = functions("lib/text_utils.rb")
    assert list(fns) == ["TextUtils.title_case", "TextUtils.Slugger.slugify", "TextUtils.Slugger.undocumented"]
    title = fns["TextUtils.title_case"]
    assert title.docstring == "Capitalize every word of the sentence.\nWords are separated by single spaces."
    assert title.code.startswith("def self.title_case(sentence)") and title.code.endswith("end")
    assert fns["TextUtils.Slugger.slugify"].docstring.startswith("Turn a title into a URL slug")
    assert fns["TextUtils.Slugger.undocumented"].docstring == ""


def test_php_extractor():
    fns = functions("app/Registry.php")
    assert list(fns) == ["sum_values", "Registry.set", "Registry.undocumented"]
    assert fns["sum_values"].docstring == "Return the sum of an array of numbers.\n\n@param array $values the numbers"
    assert fns["Registry.set"].code.startswith("public static function set(string $key, $value)")
    assert fns["Registry.set"].docstring.startswith("Store a value under a key")


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("python", "def f(:\n    pass\n"),
        ("javascript", "function f( {\n"),
        ("java", "class A { void f( { } }"),
        ("go", "package x\nfunc f( {\n"),
        ("ruby", "def f(\n"),
        ("php", "<?php\nfunction f( {\n"),
    ],
)
def test_syntax_error_raises_parse_error(language, source):
    with pytest.raises(ParseError):
        extract(source, language)


def test_docstring_tokens_are_the_summary_paragraph():
    assert docstring_tokens("Trains a k-nearest model.\n\n:param x: ignored") == [
        "Trains", "a", "k", "-", "nearest", "model", ".",
    ]  # fmt: skip
    assert docstring_tokens("@param string $key") == ["@param", "string", "$key"]


# --- filters ------------------------------------------------------------------------------------------------

BODY = (
    "def total(values):\n    result = 0\n    for v in values:\n        if v > 0:\n"
    "            result += v * 2\n    return result\n"
)


def test_normalize_and_hash():
    a = "def f(x):\n    return x + 1\n"
    assert normalize_code("def  f(x):\n\n\treturn   x + 1  ") == "def f(x): return x + 1"
    assert code_hash(a) == code_hash("def f(x):   return x + 1")  # layout does not matter
    assert code_hash(a) != code_hash(a.replace("x", "y"))  # names do


def test_shingles():
    assert shingles("a b c") == {"a b c"}
    assert shingles("a b c d e f") == {"a b c d e", "b c d e f"}


def test_minhash_keep_drops_near_duplicates_keeping_the_first():
    long_body = BODY + "".join(f"    log('step {i}', values, result)\n" for i in range(20))
    near = long_body.replace("step 7'", "step 77'")  # one token changed out of ~200
    other = "def parse(text):\n    return [line.split(',') for line in text.splitlines() if line]\n"
    assert minhash_keep([long_body, other, near, long_body]) == [True, True, False, False]
    assert minhash_keep([near, long_body]) == [True, False]  # order decides which one survives
    assert minhash_keep([long_body, near], threshold=1.0) == [True, True]
    assert minhash_keep([]) == []
    with pytest.raises(ValueError):
        minhash_keep(["x"], threshold=0)


def _rec(code: str, language: str = "python", doc: str = "Compute the total of positive values.") -> dict:
    return {
        "code": code,
        "code_no_docstring": code,
        "language": language,
        "docstring": doc,
        "docstring_tokens": docstring_tokens(doc),
        "code_tokens": code.split(),
    }


def test_run_filters_funnel_counts():
    big = " ".join(f"t{i}" for i in range(100))
    recs = [
        _rec("def a():\n    x = " + big + "\n    return x"),  # kept
        _rec("def b():\n    y = " + big + "\n    return y", doc=""),  # no_docstring
        _rec("def c():\n    z = " + big + "\n    return z", doc="Hi."),  # docstring_length (2 tokens)
        _rec("def d(): return " + big),  # code_lines (1 line)
        _rec("def e():\n    return 1\n    pass"),  # code_tokens (< 16)
        _rec("def a():\n    x = " + big + "\n\n    return x"),  # exact_dup of the first (layout only)
        _rec("def a():\n    x = " + big + " t99\n    return x"),  # near_dup of the first
        _rec("func a() {\n    x := " + big + "\n    return x\n}", language="go"),  # kept
        _rec("func b() {\n    y := " + big + " u\n    return y\n}", language="go"),  # language_cap (cap 1)
    ]
    kept, removed = run_filters(recs, FilterConfig(max_per_language=1))
    assert removed == {
        "no_docstring": 1, "docstring_length": 1, "code_lines": 1, "code_tokens": 1,
        "exact_dup": 1, "near_dup": 1, "language_cap": 1,
    }  # fmt: skip
    assert [r["language"] for r in kept] == ["python", "go"]
    assert kept[0] is recs[0]


def test_language_cap_is_seeded_and_order_preserving():
    recs = [_rec(f"c{i}") for i in range(50)]
    a = language_cap_keep(recs, 10, seed=1)
    assert sum(a) == 10 and a == language_cap_keep(recs, 10, seed=1)
    assert a != language_cap_keep(recs, 10, seed=2)
    assert max(i for i, k in enumerate(a) if k) > 25  # spread over the input, not its first ten
    assert language_cap_keep(recs, 0) == [True] * 50


def test_language_of():
    assert [language_of(p) for p in ("a.py", "b.mjs", "C.java", "d.go", "e.rb", "f.php", "g.txt")] == [
        "python", "javascript", "java", "go", "ruby", "php", None,
    ]  # fmt: skip
    assert Path(TREE / "pkg" / "README.txt").exists()  # the tree holds a non-source file the walk must ignore


def test_shared_helpers_have_one_home_and_keep_their_old_names():
    """Near-dup hashing and tree-sitter parsers live in the ground package (generate uses them too); the curate
    modules' old names are those same functions, not copies."""
    from codecurate import near_dup, parsers
    from codecurate.curate import extract as extract_mod
    from codecurate.curate import filters

    for name in ("code_hash", "minhash_keep", "normalize_code", "shingles"):
        assert getattr(filters, name) is getattr(near_dup, name)
    assert extract_mod.parser_for is parsers.parser_for
    tree = parsers.parser_for("go").parse(b"package m\nfunc F() int { return 1 }\n")
    assert tree.root_node.type == "source_file" and not tree.root_node.has_error
    with pytest.raises(KeyError):
        parsers.parser_for("cobol")
