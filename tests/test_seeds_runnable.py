"""Runnable seeds: module context captured from real stdlib modules, run for real in the sandbox; stdlib imports
for lone (CodeSearchNet) functions; MultiPL-T's source filters; sampled seed tests."""

from __future__ import annotations

import json
import shlex
import string
import textwrap
from pathlib import Path

import pytest

from codecurate.curate.filters import FilterConfig, fully_annotated, has_return, run_filters
from codecurate.curate.mine import MineConfig, run
from codecurate.curate.mine_python import module_contexts
from codecurate.execute.harness import build_test_program, new_token, read_verdict
from codecurate.execute.sandbox import Limits, execute
from codecurate.generate.seedtests import SeedTestConfig, add_seed_tests
from codecurate.llm.base import FunctionBackend
from codecurate.seedcode import SLOT, lone_context, seed_program, seed_span, stdlib_imports
from codecurate.seedprobe import check_runnable

TEXTWRAP = Path(textwrap.__file__).read_text(encoding="utf-8")
STRING = Path(string.__file__).read_text(encoding="utf-8")


def seed_of(source: str, qualname: str) -> dict:
    """A seed record for ``qualname`` of ``source``, as mine builds it (code from the extractor)."""
    from codecurate.curate.extract import extract_python

    fn = next(f for f in extract_python(source) if f.func_name == qualname)
    ctx = module_contexts(source, [qualname])[qualname]
    seed = {"code": fn.code, "language": "python", "func_name": qualname, "context": ctx.context}
    if ctx.reason is not None:
        seed.update(runnable=False, runnable_reason=ctx.reason)
    return seed


def passes(program: str, tests: list[str]) -> bool:
    token = new_token()
    result = execute(build_test_program(program, tests, "python", token), "python", Limits(timeout_s=20))
    return read_verdict(result, token, len(tests)).status == "pass"


def test_function_with_module_constants_runs_alone():
    seed = seed_of(TEXTWRAP, "dedent")
    # The context is the module cut down to what dedent reads: `re` and its two compiled patterns, nothing else.
    assert "import re" in seed["context"] and "_whitespace_only_re = re.compile" in seed["context"]
    assert "_leading_whitespace_re" in seed["context"] and "class TextWrapper" not in seed["context"]
    assert seed["context"].count(SLOT) == 1
    assert passes(seed_program(seed), ["assert dedent('  a\\n  b') == 'a\\nb'"])
    # Without its context the same function fails: the context is what makes it run.
    assert not passes(seed["code"], ["assert dedent('  a\\n  b') == 'a\\nb'"])
    assert check_runnable([seed]) == [(True, "")]


def test_module_helper_is_pulled_in_transitively():
    from codecurate.curate.extract import extract_python

    src = "import re\n\nPAT = re.compile('x+')\n\ndef _count(s):\n    return len(PAT.findall(s))\n\n" + (
        'def runs(s):\n    """Number of runs of x."""\n    return _count(s)\n\nprint("module side effect")\n'
    )
    assert [f.func_name for f in extract_python(src)] == ["_count", "runs"]
    seed = seed_of(src, "runs")
    assert "def _count" in seed["context"] and "PAT = re.compile" in seed["context"]
    assert "side effect" not in seed["context"]  # statements the function does not need are left out
    assert passes(seed_program(seed), ["assert runs('xx-x') == 2"])


def test_method_runs_through_a_minimal_instance():
    seed = seed_of(TEXTWRAP, "TextWrapper.wrap")
    assert seed["context"].rstrip().endswith("wrap = TextWrapper().wrap")
    assert "runnable" not in seed  # nothing static against it: the probe decides
    assert check_runnable([seed]) == [(True, "")]
    assert passes(seed_program(seed), ["assert wrap('a b c') == ['a b c']"])
    # Coverage is measured on the method's own lines: the span holds exactly the seed's code.
    program, first, last = seed_span(seed)
    assert program.splitlines()[first - 1 : last] == ("    " + seed["code"]).splitlines()


def test_method_of_a_class_that_needs_arguments_is_marked():
    seed = seed_of(STRING, "Template.substitute")
    assert seed["runnable"] is False
    assert seed["runnable_reason"] == "class Template cannot be built without arguments (template)"


def test_probe_reports_why_a_seed_does_not_run():
    src = 'import _no_such_module_here\n\ndef f(x):\n    """Doc."""\n    return _no_such_module_here.g(x)\n'
    seed = seed_of(src, "f")
    ok, reason = check_runnable([seed])[0]
    assert not ok and "ModuleNotFoundError" in reason and "_no_such_module_here" in reason
    # A program that exits before its probe ran is not runnable either (the harness token is never printed).
    quitter = {"code": "def g():\n    return 1\n", "language": "python", "context": f"raise SystemExit(0)\n{SLOT}\n"}
    ok, reason = check_runnable([quitter], batch_size=1)[0]
    assert not ok and "exited before" in reason


def test_batched_and_alone_probes_agree():
    seeds = [seed_of(TEXTWRAP, n) for n in ("dedent", "indent", "TextWrapper.wrap", "shorten")]
    seeds.append({"code": "def h(x):\n    return x\n", "language": "python", "context": f"1 / 0\n{SLOT}\n"})
    batched = check_runnable(seeds, batch_size=3)
    assert batched == check_runnable(seeds, batch_size=1)
    assert [ok for ok, _ in batched] == [True, True, True, True, False]
    assert "ZeroDivisionError" in batched[4][1]


def test_a_hanging_seed_is_killed_and_not_runnable():
    hang = {"code": "def h(x):\n    return x\n", "language": "python", "context": f"while True:\n    pass\n{SLOT}\n"}
    fine = seed_of(TEXTWRAP, "dedent")
    flags = check_runnable([hang, fine], timeout_s=2, batch_size=2)
    assert flags == [(False, "timeout: still running after 2 s"), (True, "")]


def test_answer_takes_the_method_slot_or_the_name():
    seed = seed_of(TEXTWRAP, "TextWrapper.wrap")
    as_method = "import re\n\ndef wrap(self, text):\n    return re.split(' ', text)\n"
    assert passes(seed_program(seed, code=as_method), ["assert wrap('a b') == ['a', 'b']"])
    as_function = "def wrap(text):\n    return [text.upper()]\n"
    assert passes(seed_program(seed, code=as_function), ["assert wrap('a b') == ['A B']"])
    program, first, last = seed_span(seed, code=as_function)
    assert program.splitlines()[first - 1 : last] == as_function.strip().splitlines()


def test_stdlib_imports_make_a_lone_function_runnable():
    code = 'def join(a, b):\n    """Join."""\n    return os.path.join(a, re.sub("x", "", b))\n'
    assert stdlib_imports(code) == ["os", "re"]
    seed = {"code": code, "language": "python", "func_name": "join", "context": lone_context(code)}
    assert check_runnable([seed]) == [(True, "")]
    assert passes(seed_program(seed), ["assert join('a', 'bx') == 'a/b'"])
    assert check_runnable([{"code": code, "language": "python"}]) == [(False, "undefined names: os, re")]
    method = {"code": "def m(self, x):\n    return x\n", "language": "python", "context": lone_context("")}
    assert check_runnable([method]) == [(False, "method without its class (self)")]


def test_mine_records_get_context_and_runnable(tmp_path):
    rows = [
        {"code": 'def join(a, b):\n    """Join two parts."""\n    return os.path.join(a, b) + "/"\n',
         "language": "python", "docstring": "Join two parts of a path."},
        {"code": 'def get(self, k):\n    """Get a key."""\n    return self.d[k] + 1\n', "language": "python",
         "docstring": "Get a key from it."},
        {"code": "function f(a) { return a + 1 + 2 + 3 + 4 + 5 + 6; }", "language": "javascript",
         "docstring": "Add some numbers to a."},
    ]  # fmt: skip
    src = tmp_path / "csn.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = run(MineConfig(src=[str(src)], output=str(tmp_path / "s.jsonl"), min_tokens=1, min_lines=1))
    out = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [r["runnable"] for r in out] == [True, False, False]
    assert out[0]["context"].startswith("import os\n")
    assert out[1]["runnable_reason"] == "method without its class (self)"
    assert out[2]["runnable_reason"].startswith("not Python") and "context" not in out[2]
    assert summary["runnable"] == {"python": 2, "runnable": 1, "not_runnable": {"method without its class": 1}}
    only = run(
        MineConfig(src=[str(src)], output=str(tmp_path / "r.jsonl"), min_tokens=1, min_lines=1, runnable_only=True)
    )
    assert only["kept"] == 1 and only["removed"]["not_runnable"] == 2


def test_mine_stdlib_files_mostly_run_alone(tmp_path):
    summary = run(MineConfig(src=[textwrap.__file__, shlex.__file__], output=str(tmp_path / "s.jsonl")))
    recs = {json.loads(line)["func_name"]: json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()}
    assert recs["dedent"]["runnable"] and recs["TextWrapper.wrap"]["runnable"] and recs["quote"]["runnable"]
    assert recs["shlex.get_token"]["runnable"] and "def quote" not in recs["quote"]["context"]
    r = summary["runnable"]
    assert r["python"] == summary["kept"] and r["runnable"] >= r["python"] / 2


def _rec(code: str, language: str = "python") -> dict:
    return {"code": code, "language": language, "docstring": "Some useful doc.",
            "docstring_tokens": ["Some", "useful", "doc"], "code_tokens": code.split()}  # fmt: skip


def test_multipl_t_source_filters():
    ret = _rec("def f(x: int) -> int:\n    y = x + 1\n    return y\n")
    no_ret = _rec("def g(x: int) -> None:\n    print(x)\n    return\n")
    nested_only = _rec("def h(x):\n    def inner():\n        return x\n    inner()\n")
    method = _rec("def m(self, x: int, *a: int, k: str = '', **kw: int) -> int:\n    return x\n")
    partly = _rec("def p(x: int, y) -> int:\n    return x\n")
    go = _rec("func f(a int) int {\n    return a\n}", "go")
    assert [has_return(r) for r in (ret, no_ret, nested_only, method, go)] == [True, False, False, True, True]
    assert [fully_annotated(r) for r in (ret, method, partly, nested_only, go)] == [True, True, False, False, True]
    cfg = FilterConfig(min_lines=1, min_tokens=1, near_dup_threshold=0, require_return=True, require_annotations=True)
    kept, removed = run_filters([ret, no_ret, nested_only, method, partly], cfg)
    assert kept == [ret, method] and removed["no_return"] == 2 and removed["not_annotated"] == 1
    assert "not_runnable" not in removed  # optional steps appear in the funnel only when on
    ok = dict(_rec("def a():\n    return 1\n"), runnable=True)
    kept, removed = run_filters(
        [ok, dict(ret, runnable=False)], FilterConfig(min_lines=1, min_tokens=1, runnable_only=True)
    )
    assert kept == [ok] and removed["not_runnable"] == 1


HALF = 'def half(n):\n    """Half of an even n."""\n    if n % 2:\n        raise ValueError(n)\n    return n // 2\n'


def test_sampled_seed_tests_keep_passing_assertions_of_every_sample():
    answers = iter([
        "assert half(4) == 2\nassert half(6) == 4",  # sample 1: one passes, one fails
        "assert half(8) == 4\nassert half(4) == 2",  # sample 2: a new passing one, and an exact duplicate
        "assert half(0) == 0",  # sample 3
    ])  # fmt: skip
    prompts = []
    backend = FunctionBackend(lambda m: prompts.append(m) or next(answers))
    seeds = [{"code": HALF, "language": "python", "func_name": "half", "runnable": True}]
    cfg = SeedTestConfig(samples=3, sample_temperature=0.8, min_coverage=0.0, timeout_s=10, workers=2)
    out, stats = add_seed_tests(seeds, backend, cfg)
    assert out[0]["tests"] == ["assert half(4) == 2", "assert half(8) == 4", "assert half(0) == 0"]
    assert len(prompts) == 3 and stats["samples"] == 3 and stats["assertions_generated"] == 4
    assert stats["assertions_pass"] == 3 and stats["assertions_fail"] == 1
    assert 0.5 < out[0]["test_coverage"] < 1.0  # the raise line is never reached


def test_seed_tests_run_methods_and_measure_only_the_seed_lines():
    seed = seed_of(TEXTWRAP, "TextWrapper._munge_whitespace") | {"runnable": True}
    prompts = []

    def llm(messages):
        prompts.append(messages[0]["content"])
        return "```python\nassert _munge_whitespace('a\\tb') == 'a       b'\n```"

    out, stats = add_seed_tests([seed], FunctionBackend(llm), SeedTestConfig(timeout_s=20, workers=1))
    assert "method of `TextWrapper`" in prompts[0] and "without `self`" in prompts[0]
    # The whole class and its module constants ran under coverage, but only the method's lines count.
    assert out[0]["tests"] and out[0]["test_coverage"] == 1.0 and stats["with_tests"] == 1


def test_old_records_without_the_flag_are_probed():
    calls = []
    backend = FunctionBackend(lambda m: calls.append(m) or "assert twice(2) == 4")
    seeds = [
        {"code": "def twice(x):\n    return 2 * x\n", "language": "python", "func_name": "twice"},
        {"code": "def twice(x):\n    return 2 * x\n", "language": "python", "func_name": "twice",
         "context": f"import _no_such_module_here\n{SLOT}\n"},
    ]  # fmt: skip
    out, stats = add_seed_tests(seeds, backend, SeedTestConfig(timeout_s=10, workers=2))
    assert out[0]["tests"] == ["assert twice(2) == 4"] and out[0]["runnable"] is True
    assert out[1]["runnable"] is False and "ModuleNotFoundError" in out[1]["runnable_reason"]
    assert len(calls) == 1 and stats["runnable_checked"] == 2 and stats["skipped_not_runnable"] == 1


@pytest.mark.parametrize("samples", [0, -1])
def test_bad_sample_count(samples):
    with pytest.raises(ValueError, match="samples"):
        add_seed_tests([], FunctionBackend(lambda m: ""), SeedTestConfig(samples=samples))


def test_relative_imports_of_a_stdlib_package_are_made_absolute():
    source = Path(json.__file__).read_text(encoding="utf-8")  # json/__init__.py: `from .encoder import ...`
    seed = seed_of(source, "dumps")  # without its package name, the relative import stays and fails alone
    assert "from .encoder import JSONEncoder" in seed["context"]
    assert "ImportError" in check_runnable([seed])[0][1]
    seed["context"] = module_contexts(source, ["dumps"], package="json")["dumps"].context
    assert "from json.encoder import JSONEncoder" in seed["context"]
    assert check_runnable([seed]) == [(True, "")]
    assert passes(seed_program(seed), ["assert dumps([1, 'a']) == '[1, \"a\"]'"])


def test_filter_flags_and_yaml_keys(tmp_path):
    from codecurate.cli import main

    src = tmp_path / "m.py"
    src.write_text(
        "import os\n\n\ndef joined(a: str, b: str) -> str:\n"
        '    """Join two path parts."""\n    p = os.path.join(a, b)\n    return p\n\n\n'
        "def show(a, b):\n"
        '    """Print two path parts."""\n    p = os.path.join(a, b)\n    print(p)\n'
    )
    out = tmp_path / "s.jsonl"
    flags = ["--min-tokens", "1", "--require-return", "--require-annotations", "--runnable-only", "-q"]
    assert main(["mine", str(src), "-o", str(out), *flags]) == 0
    assert [json.loads(line)["func_name"] for line in out.read_text().splitlines()] == ["joined"]
    manifest = json.loads((tmp_path / "s.jsonl.manifest.json").read_text())
    assert manifest["counts"]["removed"]["no_return"] == 1 and manifest["counts"]["runnable"]["runnable"] == 1
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("mine:\n  min_tokens: 1\n  require_return: true\n  check_runnable: false\n")
    assert main(["mine", str(src), "-o", str(out), "--config", str(cfg), "-q"]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["func_name"] for r in recs] == ["joined"] and "runnable" not in recs[0] and recs[0]["context"]


def test_defaults_are_read_where_the_def_stands_and_del_unbinds_nothing():
    import tarfile

    # TarInfo.replace(self, *, name=_KEEP, ..., _KEEP=_KEEP): the default is the module's _KEEP.
    seed = seed_of(Path(tarfile.__file__).read_text(encoding="utf-8"), "TarInfo.replace")
    assert "_KEEP = object()" in seed["context"]
    assert passes(seed_program(seed), ["assert replace(name='x').name == 'x'"])
    src = '_TABLE = {1: "a"}\n\n\ndef look(k):\n    """Look k up."""\n    return _TABLE[k]\n\n\ndel _TABLE\n'
    seed = seed_of(src, "look")
    assert "del _TABLE" not in seed["context"] and passes(seed_program(seed), ["assert look(1) == 'a'"])


def test_answer_for_a_decorated_function_keeps_the_decorator_on_the_def():
    src = (
        "import functools\n\n\n@functools.lru_cache(maxsize=None)\n"
        'def fib(n):\n    """Fib."""\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n'
    )
    seed = seed_of(src, "fib")
    assert passes(seed_program(seed), ["assert fib(30) == 832040", "assert fib.cache_info().hits > 0"])
    answer = "import math\n\ndef fib(n):\n    return round(((1 + math.sqrt(5)) / 2) ** n / math.sqrt(5))\n"
    assert passes(seed_program(seed, code=answer), ["assert fib(30) == 832040", "assert fib.cache_info().misses == 1"])
