"""Execution validation of generated examples: does the answer pass the seed's tests (in its language)?

    from codecurate.generate.validate import validate_examples
    validations = validate_examples([(example, seed), ...])   # one Validation dict per pair

Per task: ``generate`` - the output must pass the tests; ``translate`` - the tests are translated to the
target language by ``values.translate_tests`` and the output must pass them; ``fix`` - the input (buggy code)
must fail at least one test and the output pass all; ``summarize`` - nothing to run ("skipped").
"""

from __future__ import annotations

from codecurate.execute.harness import build_test_program, new_token, read_verdict
from codecurate.execute.languages import canonical_name
from codecurate.execute.sandbox import Limits, execute_many
from codecurate.execute.values import translate_tests
from codecurate.generate.parse import fenced_blocks

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


def _plan(example: dict, seed: dict) -> tuple[str, list[tuple[str, str]], list[str]] | dict:
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
    # (program, token) pairs: each run gets its own token, so no program can print another's pass mark.
    codes = [extract_code(example.get("output", ""), language)]
    if task == "fix":
        codes.append(extract_code(example.get("input", ""), language))
    programs = [(build_test_program(code, tests, language, token), token) for code in codes for token in [new_token()]]
    return language, programs, tests


def validate_examples(
    pairs: list[tuple[dict, dict]], limits: Limits | None = None, workers: int | None = None
) -> list[dict]:
    """One Validation dict ({status, language, tests_run, tests_passed, coverage[, detail]}) per (example, seed).

    All programs run in one bounded pool. ``coverage`` is the seed's ``test_coverage``: how much of the seed its
    tests reach, i.e. how much a pass means.
    """
    plans = [_plan(example, seed) for example, seed in pairs]
    jobs = [(prog, plan[0]) for plan in plans if isinstance(plan, tuple) for prog, _ in plan[1]]
    results = iter(execute_many(jobs, limits, workers))
    out = []
    for (_, seed), plan in zip(pairs, plans, strict=True):
        if isinstance(plan, dict):
            out.append(plan)
            continue
        language, programs, tests = plan
        fixed = read_verdict(next(results), programs[0][1], len(tests))
        buggy = read_verdict(next(results), programs[1][1], len(tests)) if len(programs) > 1 else None
        v = {"language": language, "tests_run": len(tests), "tests_passed": fixed.passed or 0}
        v["coverage"] = float(seed.get("test_coverage", 0.0))
        if fixed.status != "pass":
            v.update(status=fixed.status, detail=fixed.detail)
        elif buggy is not None and buggy.status == "pass":
            v.update(status="fail", detail="the buggy input passes all tests")
        else:
            v["status"] = "pass"
        out.append(v)
    return out
