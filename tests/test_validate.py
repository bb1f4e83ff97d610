"""Value translation, mutants, seed tests and example validation, run for real through the sandbox."""

from __future__ import annotations

import pytest

from codecurate.execute.harness import build_test_program, new_token, read_verdict
from codecurate.execute.languages import get_language
from codecurate.execute.sandbox import Limits, execute
from codecurate.execute.values import to_literal, translate_tests
from codecurate.generate.mutate import mutants
from codecurate.generate.seedtests import SeedTestConfig, add_seed_tests, parse_assertions
from codecurate.generate.validate import extract_code, validate_examples
from codecurate.llm.base import FunctionBackend

CLAMP = '''def clamp(x, lo, hi):
    """Limit x to [lo, hi]."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
'''
CLAMP_TESTS = ["assert clamp(5, 0, 10) == 5", "assert clamp(-1, 0, 10) == 0", "assert clamp(11, 0, 10) == 10"]
SEED = {"code": CLAMP, "language": "python", "func_name": "clamp", "tests": CLAMP_TESTS, "test_coverage": 1.0}
FAST = Limits(timeout_s=10)
has_lua = get_language("lua").runtime_path() is not None


def run_tests(code: str, tests: list[str], language: str) -> str:
    """The harness verdict of ``code`` against ``tests``, run for real in the sandbox."""
    token = new_token()
    return read_verdict(
        execute(build_test_program(code, tests, language, token), language, FAST), token, len(tests)
    ).status


@pytest.mark.parametrize(
    "value, js, lua",
    [
        (None, "null", "nil"),
        (True, "true", "true"),
        (-3, "-3", "-3"),
        (1.5, "1.5", "1.5"),
        ('a"\n', '"a\\"\\n"', '"a\\"\\10"'),
        ([1, (2, "x")], '[1, [2, "x"]]', '{1, {2, "x"}}'),
        ({"k": [True]}, '{"k": [true]}', '{["k"] = {true}}'),
    ],
)
def test_literals(value, js, lua):
    assert to_literal(value, "javascript") == js
    assert to_literal(value, "lua") == lua
    assert to_literal(value, "python") == repr(value)


def test_untranslatable_tests_give_none():
    assert translate_tests(["assert clamp(x, 0, 1) == 0"], "clamp", "javascript") is None  # non-literal arg
    assert translate_tests(["assert clamp(1, 0, 1) != 0"], "clamp", "javascript") is None  # not ==
    assert translate_tests(["assert clamp(2**60, 0, 1) == 1"], "clamp", "javascript") is None  # unsafe int
    assert translate_tests(["assert f([None]) == 1"], "f", "lua") is None  # nil ends a Lua list
    assert translate_tests(["assert f({1: 2}) == 1"], "f", "js") is None  # JS object keys are strings


def test_translated_tests_run_in_target_languages():
    js_tests = translate_tests([*CLAMP_TESTS, 'assert clamp("b", "a", "c") == "b"'], "clamp", "javascript")
    js = "function clamp(x, lo, hi) { return x < lo ? lo : x > hi ? hi : x; }"
    assert run_tests(js, js_tests, "javascript") == "pass"
    wrong = js.replace("x > hi ? hi", "x > hi ? lo")
    assert run_tests(wrong, js_tests, "javascript") == "fail"
    if has_lua:
        lua_tests = translate_tests(["assert pairs_of([1, 2]) == [[1, 2], [2, 4]]"], "pairs_of", "lua")
        lua = "function pairs_of(t) local r = {} for i, v in ipairs(t) do r[i] = {v, 2 * v} end return r end"
        assert run_tests(lua, lua_tests, "lua") == "pass"
        assert run_tests(lua.replace("2 * v", "v"), lua_tests, "lua") == "fail"


def test_mutants_change_one_site_and_are_deterministic():
    muts = mutants(CLAMP, seed=1)
    ops = {op for op, _ in muts}
    assert {"flip-comparison", "negate-condition"} <= ops
    assert muts == mutants(CLAMP, seed=1) and len({code for _, code in muts}) == len(muts)
    assert ("flip-comparison", CLAMP.split('"""')[0] + "if x <= lo:") not in muts  # code is unparsed, not raw
    assert any("if x <= lo:" in code for op, code in muts if op == "flip-comparison")
    assert mutants("def f(:") == []
    # Every mutant of clamp is caught by at least one of its tests except equivalent ones; most must be.
    results = [run_tests(code, CLAMP_TESTS, "python") for _, code in muts]
    assert sum(r == "fail" for r in results) >= len(muts) - 2


def test_extract_code():
    assert extract_code("Here:\n```js\nlet a;\n```\n```python\nx = 1\n```", "python") == "x = 1"
    assert extract_code("```\ny = 2\n```", "python") == "y = 2"
    assert extract_code("z = 3\n", "python") == "z = 3"


def test_validate_examples_per_task():
    good = "```python\n" + CLAMP + "```"
    buggy = CLAMP.replace("if x < lo:", "if x < lo - 1:")
    js = "function clamp(x, lo, hi) { return Math.min(Math.max(x, lo), hi); }"
    pairs = [
        ({"task": "generate", "language": "python", "output": good}, SEED),
        ({"task": "generate", "language": "python", "output": CLAMP.replace("return lo", "return hi")}, SEED),
        ({"task": "fix", "language": "python", "input": buggy, "output": good}, {**SEED, "tests": CLAMP_TESTS[:1]}),
        ({"task": "fix", "language": "python", "input": buggy, "output": good}, SEED),
        ({"task": "translate", "language": "javascript", "target_language": "javascript", "output": js}, SEED),
        ({"task": "summarize", "language": "python", "output": "Clamps."}, SEED),
        ({"task": "generate", "language": "python", "output": good}, {**SEED, "tests": []}),
        ({"task": "generate", "language": "python", "output": "exit(0)\n" + CLAMP}, SEED),
    ]
    v = validate_examples(pairs, FAST, workers=2)
    assert v[0] == {"status": "pass", "language": "python", "tests_run": 3, "tests_passed": 3, "coverage": 1.0}
    assert (v[1]["status"], v[1]["tests_passed"]) == ("fail", 2)
    assert v[1]["detail"].startswith("fails `assert clamp(-1, 0, 10) == 0`")  # the concrete failing test
    assert v[2]["status"] == "fail" and "buggy input passes" in v[2]["detail"]  # only clamp(5) == 5: bug unseen
    assert v[3]["status"] == "pass"  # clamp(-1, 0, 10) exposes the bug
    assert v[4]["status"] == "pass" and v[4]["language"] == "javascript" and v[4]["tests_run"] == 3
    assert v[5]["status"] == "skipped"  # summarize: not code-bearing, nothing to run
    assert (v[6]["status"], v[6]["reason"]) == ("unvalidated", "no_tests")  # fail closed: unknown is not a pass
    assert v[7]["status"] == "fail" and "before its tests" in v[7]["detail"]


def test_fix_whose_buggy_run_could_not_happen_is_unvalidated(monkeypatch):
    """A fix is checked only if the buggy input's run happened: a sandbox error there is unknown, not a fail."""
    import codecurate.generate.validate as validate
    from codecurate.execute.sandbox import ExecutionResult

    buggy = CLAMP.replace("if x < lo:", "if x < lo - 1:")
    real = validate.execute_many

    def buggy_run_breaks(jobs, *args, **kwargs):
        results = real(jobs, *args, **kwargs)
        return [
            ExecutionResult("sandbox-error", None, "", "", 0.0, "could not start") if "lo - 1" in job[0] else r
            for job, r in zip(jobs, results, strict=True)
        ]

    monkeypatch.setattr(validate, "execute_many", buggy_run_breaks)
    pair = ({"task": "fix", "language": "python", "input": buggy, "output": "```python\n" + CLAMP + "```"}, SEED)
    [v] = validate_examples([pair], FAST, workers=1)
    assert (v["status"], v["reason"]) == ("unvalidated", "sandbox_error")


def test_add_seed_tests_keeps_passing_covering_assertions():
    answer = "```python\n" + "\n".join([*CLAMP_TESTS, "assert clamp(1, 0, 10) == 99", "x = 1"]) + "\n```"
    partial = "assert half(4) == 2\nassert half(5) == 2"  # the second raises: kept tests miss the raise line
    seeds = [
        {"code": CLAMP, "language": "python", "func_name": "clamp"},
        {"code": "def half(n):\n    if n % 2:\n        raise ValueError(n)\n    return n // 2\n", "language": "python"},
        {"code": "function f() {}", "language": "javascript"},
        {"code": "def method(self):\n    return self.x\n", "language": "python", "func_name": "A.method"},
    ]

    def llm(messages):
        prompt = messages[0]["content"]
        if "clamp" in prompt:
            return answer
        return partial if "half" in prompt else "assert method(1) == 1"

    out, stats = add_seed_tests(seeds, FunctionBackend(llm), SeedTestConfig(timeout_s=10, workers=2))
    assert out[0]["tests"] == CLAMP_TESTS and out[0]["test_coverage"] == 1.0
    assert out[1]["tests"] == [] and 0.5 < out[1]["test_coverage"] < 0.9  # passing but below 90% coverage
    assert out[2]["tests"] == [] and out[3]["tests"] == []
    assert stats["with_tests"] == 1 and stats["below_coverage"] == 1 and stats["skipped_not_python"] == 1
    assert stats["assertions_fail"] == 2  # clamp == 99, half(5)
    assert stats["skipped_not_runnable"] == 1 and stats["no_passing_assertion"] == 0  # the method never runs
    assert out[3]["runnable"] is False and out[3]["runnable_reason"] == "method without its class (self)"


def test_parse_assertions_filters():
    text = "assert f(1) == 2\nassert g(1) == 2\nassert f(1) == 2\nassert f(( == 1\nprint(f(1))"
    assert parse_assertions(text, "f") == ["assert f(1) == 2"]


def test_free_names_keeps_only_self_contained_functions():
    from codecurate.generate.seedtests import free_names

    alone = "def f(xs, k=2):\n    import math\n    out = [math.floor(x) * k for x in xs]\n    return sorted(out)\n"
    assert free_names(alone) == set()
    assert free_names("def g(x):\n    return helper(x) + LIMIT\n") == {"helper", "LIMIT"}
    assert free_names("def m(self, x):\n    return x\n") == {"self"}
    assert free_names("def broken(:\n") is None


def test_seed_tests_skip_seeds_that_cannot_run_alone():
    from codecurate.generate.seedtests import SeedTestConfig, add_seed_tests
    from codecurate.llm.base import FunctionBackend

    calls = []
    backend = FunctionBackend(lambda m: calls.append(m) or "assert g(1) == 2")
    seeds = [{"code": "def g(x):\n    return helper(x)\n", "language": "python", "func_name": "g"}]
    out, stats = add_seed_tests(seeds, backend, SeedTestConfig())
    assert calls == [] and stats["skipped_not_runnable"] == 1 and out[0]["tests"] == []
    assert out[0]["runnable_reason"] == "undefined names: helper"
