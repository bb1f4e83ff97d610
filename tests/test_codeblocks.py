"""The one code-extraction policy (codecurate/codeblocks.py) that generate and eval both use."""

from __future__ import annotations

from codecurate import codeblocks
from codecurate.codeblocks import extract_code, fence, fenced_blocks
from codecurate.eval.benchmarks import common
from codecurate.generate import parse, validate


def test_every_stage_uses_the_same_function():
    assert parse.extract_code is validate.extract_code is common.extract_code is codeblocks.extract_code
    assert parse.fenced_blocks is fenced_blocks and parse.fence is fence


def test_fenced_blocks_closed_and_unclosed():
    text = "a\n```py title\nx = 1\n```\nb\n```\ny = 2\n"
    assert fenced_blocks(text) == [("py", "x = 1\n"), ("", "y = 2\n")]
    assert fenced_blocks(text, closed_only=True) == [("py", "x = 1\n")]
    # A closing fence must start a line: ``` inside a line is code (a Markdown string in the program).
    assert fenced_blocks("```python\ns = '```'\n```\n") == [("python", "s = '```'\n")]


def test_no_fence_is_the_whole_text():
    assert extract_code("\nx = 1\n\n") == "x = 1"
    assert extract_code("    return x\n") == "    return x"  # indentation is code


def test_language_tagged_or_untagged_beat_other_languages():
    text = "```python\nx = 1\n```\n```bash\npip install a-much-longer-package-name\n```"
    assert extract_code(text, "python") == "x = 1"
    assert extract_code(text) == "pip install a-much-longer-package-name"  # no language: the longest
    assert extract_code("```text\nlong output line\n```\n```\ny = 2\n```", "py") == "y = 2"  # alias, untagged
    assert extract_code("```Python\nz = 3\n```\n```sh\nlonger command\n```", "python3") == "z = 3"
    assert extract_code("```rkt\n(define a 1)\n```\n```js\nlet longer = 1;\n```", "racket") == "(define a 1)"
    # Only blocks tagged with other languages: they are all candidates.
    assert extract_code("```js\nlet a;\n```", "python") == "let a;"
    # A language the sandbox does not know is matched by its own name.
    assert extract_code("```zig\nconst a = 1;\n```\n```sh\nzig build-exe\n```", "zig") == "const a = 1;"


def test_must_contain_then_longest_then_first():
    text = "```python\nprint(f(1), 'a long usage example')\n```\n```python\ndef f(x):\n    return x\n```"
    assert extract_code(text, "python", must_contain="def f") == "def f(x):\n    return x"
    assert extract_code(text, "python") == "print(f(1), 'a long usage example')"
    assert extract_code(text, must_contain="absent") == "print(f(1), 'a long usage example')"
    assert extract_code("```\na = 1\n```\n```\nb = 2\n```") == "a = 1"  # tie: the first
    # The language outranks must_contain: a shell line naming the function is not its code.
    text = "```bash\npython -c 'def f(): pass'\n```\n```python\ndef f():\n    return 0\n```"
    assert extract_code(text, "python", must_contain="def f") == "def f():\n    return 0"


def test_unclosed_last_block_counts():
    assert extract_code("Sure:\n```python\ndef f():\n    return 1") == "def f():\n    return 1"
    assert extract_code("```python\nx = 1\n```\n```python\nlonger = 'cut off by the limit'", "python") == (
        "longer = 'cut off by the limit'"
    )


def test_fence_round_trips():
    assert extract_code("Answer:\n" + fence("\ndef g():\n    pass\n", "python"), "python") == "def g():\n    pass"
