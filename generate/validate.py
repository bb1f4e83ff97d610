"""Execution validation of generated examples: does the answer pass the seed's tests (in its language)?

    from codecurate.generate.validate import validate_examples
    validations = validate_examples([(example, seed), ...])   # one Validation dict per pair

Per task: ``generate`` - the output must pass the tests; ``translate`` - the tests are translated to the
target language by ``values.translate_tests`` and the output must pass them; ``fix`` - the input (buggy code)
must fail at least one test and the output pass all; ``summarize`` - nothing to run ("skipped").
"""

from __future__ import annotations

from codecurate.generate.languages import TEST_PRELUDES, canonical_name
from codecurate.generate.parse import fenced_blocks
from codecurate.generate.sandbox import ExecutionResult, Limits, execute_many
from codecurate.generate.values import translate_tests

# The harness prints this as its last line; a program that exits early never prints it, so "exit(0) before the
# tests" cannot pass.
RESULT_MARK = "__codecurate_tests__"

_FENCE_TAGS = {"python": {"python", "py", "python3"}, "javascript": {"javascript", "js", "node"}, "lua": {"lua"}}


def extract_code(text: str, language: str) -> str:
    """The code in an LLM answer: the first fenced block tagged with ``language``, else the first fenced
    block, else the whole text."""
    blocks = fenced_blocks(text, closed_only=True)
    if not blocks:
        return text.strip("\n")
    tags = _FENCE_TAGS.get(canonical_name(language), set())
    for tag, body in blocks:
        if tag.lower() in tags:
            return body.strip("\n")
    return blocks[0][1].strip("\n")


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line for line in text.splitlines())


def build_test_program(code: str, tests: list[str], language: str) -> str:
    """``code`` followed by each test run on its own (a failing test does not stop the others) and a last line
    ``__codecurate_tests__ passed/total``; exits non-zero unless all pass."""
    language = canonical_name(language)
    n = len(tests)
    if language == "python":
        body = "".join(f"try:\n{_indent(t, '    ')}\n    __passed += 1\nexcept Exception:\n    pass\n" for t in tests)
        tail = f"print('{RESULT_MARK}', f'{{__passed}}/{n}')\nraise SystemExit(0 if __passed == {n} else 1)\n"
        return f"{code}\n\n\n__passed = 0\n{body}{tail}"
    if language == "javascript":
        body = "".join(f"try {{\n{t}\n__passed++;\n}} catch (e) {{}}\n" for t in tests)
        tail = f"console.log('{RESULT_MARK} ' + __passed + '/{n}');\nprocess.exit(__passed === {n} ? 0 : 1);\n"
        return f"{code}\n\nlet __passed = 0;\n{body}{tail}"
    if language == "lua":
        body = "".join(f"if pcall(function()\n{t}\nend) then __passed = __passed + 1 end\n" for t in tests)
        tail = f"print('{RESULT_MARK} ' .. __passed .. '/{n}')\nos.exit(__passed == {n} and 0 or 1)\n"
        return f"{TEST_PRELUDES['lua']}{code}\n\nlocal __passed = 0\n{body}{tail}"
    raise ValueError(f"no test harness for {language}")


def tests_passed(result: ExecutionResult) -> int:
    """Passed-test count from the harness's last mark line (0 when the program never got there)."""
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return int(line.split()[-1].split("/")[0])
    return 0


def _completed(result: ExecutionResult) -> bool:
    return any(line.startswith(RESULT_MARK) for line in result.stdout.splitlines())


def _plan(example: dict, seed: dict) -> tuple[str, list[str], list[str]] | dict:
    """(language, programs to run, tests) for one pair, or a finished "skipped" Validation."""
    task = example.get("task", "")
    language = example.get("target_language") or example.get("language") or seed.get("language", "python")
    try:
        language = canonical_name(language)
    except Exception:
        return {"status": "skipped", "language": str(language), "detail": f"no sandbox adapter for {language!r}"}
    skip = {"status": "skipped", "language": language, "tests_run": 0, "tests_passed": 0}
    if task not in ("generate", "translate", "fix"):
        return {**skip, "detail": f"task {task!r} has no executable check"}
    tests = list(seed.get("tests") or [])
    if not tests:
        return {**skip, "detail": "seed has no tests"}
    if language != "python":
        translated = translate_tests(tests, seed.get("func_name", "").split(".")[-1], language)
        if translated is None:
            return {**skip, "detail": f"seed tests not translatable to {language}"}
        tests = translated
    output = extract_code(example.get("output", ""), language)
    programs = [build_test_program(output, tests, language)]
    if task == "fix":
        programs.append(build_test_program(extract_code(example.get("input", ""), language), tests, language))
    return language, programs, tests


def validate_examples(
    pairs: list[tuple[dict, dict]], limits: Limits | None = None, workers: int | None = None
) -> list[dict]:
    """One Validation dict ({status, language, tests_run, tests_passed, coverage[, detail]}) per (example, seed).

    All programs run in one bounded pool. ``coverage`` is the seed's ``test_coverage``: how much of the seed its
    tests reach, i.e. how much a pass means.
    """
    plans = [_plan(example, seed) for example, seed in pairs]
    jobs = [(prog, plan[0]) for plan in plans if isinstance(plan, tuple) for prog in plan[1]]
    results = iter(execute_many(jobs, limits, workers))
    out = []
    for (_, seed), plan in zip(pairs, plans, strict=True):
        if isinstance(plan, dict):
            out.append(plan)
            continue
        language, programs, tests = plan
        fixed = next(results)
        buggy = next(results) if len(programs) > 1 else None
        v = {"language": language, "tests_run": len(tests), "tests_passed": tests_passed(fixed)}
        v["coverage"] = float(seed.get("test_coverage", 0.0))
        if fixed.status == "pass" and not _completed(fixed):
            v.update(status="fail", detail="program exited before its tests ran")
        elif fixed.status != "pass":
            v.update(status=fixed.status, detail=fixed.detail or _last_line(fixed.stderr))
        elif buggy is not None and buggy.status == "pass" and _completed(buggy):
            v.update(status="fail", detail="the buggy input passes all tests")
        else:
            v["status"] = "pass"
        out.append(v)
    return out


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
