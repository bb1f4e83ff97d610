"""Execution validation of generated examples: does the answer pass the seed's tests (in its language)?

    from codecurate.generate.validate import validate_examples
    validations = validate_examples([(example, seed), ...])   # one Validation dict per pair

Per task: ``generate`` - the output must pass the tests; ``translate`` - the tests are translated to the
target language by ``values.translate_tests`` and the output must pass them; ``fix`` - the input (buggy code)
must fail at least one test and the output pass all; ``summarize`` - nothing to run (``skipped``: it is not
code-bearing). Python answers run in the seed's place inside ``seed_program(seed, code=answer)``, so they run
against exactly what the seed tests ran against (its mined module context).

Fail closed: a code-bearing example whose check could not run is ``unvalidated`` (never ``pass``), with a
``reason`` saying why (``UNVALIDATED_REASONS``); a failed check carries a ``detail`` naming the concrete failure
(the first failing test, or the compiler/runtime error), cut short, which the loop feeds back to the model.
"""

from __future__ import annotations

import functools

from codecurate.codeblocks import extract_code  # the one policy (also imported from here)
from codecurate.execute.harness import build_test_program, harness_languages, new_token, read_verdict
from codecurate.execute.languages import LANGUAGES, canonical_name, get_language
from codecurate.execute.sandbox import Limits, execute_many
from codecurate.execute.values import translate_tests
from codecurate.seedcode import seed_program

CODE_TASKS = ("generate", "translate", "fix")  # tasks whose answer is code that a test can run
# Why a code-bearing example could not be checked (``validation.reason`` when ``status == "unvalidated"``).
UNVALIDATED_REASONS = {
    "no_adapter": "no sandbox adapter for the language",
    "runtime_missing": "the language's runtime is not installed here",
    "no_harness": "no test harness for the language",
    "no_test_translator": "no test translator for the language",
    "no_tests": "the seed has no tests",
    "tests_untranslatable": "the seed's tests have no faithful translation into the language",
    "sandbox_error": "the sandbox could not run the program",
    "not_checked": "the check did not run",
}
DETAIL_CHARS = 300  # a failure shown to the model is cut to this


@functools.cache
def cannot_validate(language: str) -> str | None:
    """None when answers in ``language`` can be checked here, else the ``UNVALIDATED_REASONS`` key saying why.

    Computed from the language table (adapter, runtime on PATH), the harness and the test translator, so a
    language another engineer adds to any of them becomes validatable without a list to update here.
    """
    try:
        language = canonical_name(language)
    except Exception:
        return "no_adapter"
    if get_language(language).runtime_path() is None:
        return "runtime_missing"
    if language not in harness_languages():
        return "no_harness"
    if language != "python":
        try:  # a probe: the simplest assertion must translate, else no seed test ever will
            if translate_tests(["assert f(1) == 1"], "f", language) is None:
                return "no_test_translator"
        except Exception:
            return "no_test_translator"
    return None


def validatable_languages() -> list[str]:
    """Every language of the sandbox's table whose answers can be checked on this machine."""
    return [name for name in sorted(LANGUAGES) if cannot_validate(name) is None]


def expand_targets(names: list[str]) -> list[str]:
    """Translate targets with ``auto`` replaced by ``validatable_languages()``, each once, in order."""
    out: list[str] = []
    for name in names:
        for lang in validatable_languages() if name == "auto" else [name]:
            if lang not in out:
                out.append(lang)
    return out


def _unvalidated(language: str, reason: str, detail: str = "") -> dict:
    return {
        "status": "unvalidated", "language": language, "reason": reason,
        "detail": detail or UNVALIDATED_REASONS[reason], "tests_run": 0, "tests_passed": 0,
    }  # fmt: skip


def _program_code(example: dict, seed: dict, field: str, language: str) -> str:
    code = extract_code(example.get(field, ""), language)
    # Python answers in the seed's own language take the seed's place in its module context.
    if language == "python" and canonical_name(seed.get("language", "python")) == "python":
        return seed_program(seed, code=code)
    return code


def _plan(example: dict, seed: dict) -> tuple[str, list[tuple[str, str, str]], list[str]] | dict:
    """(language, [(code, program, token)], tests) for one pair, or a finished Validation."""
    task = example.get("task", "")
    language = example.get("target_language") or example.get("language") or seed.get("language", "python")
    if task not in CODE_TASKS:
        return {"status": "skipped", "language": str(language), "tests_run": 0, "tests_passed": 0,
                "detail": f"task {task!r} has no executable check"}  # fmt: skip
    if (why := cannot_validate(str(language))) is not None:
        return _unvalidated(str(language), why, f"{UNVALIDATED_REASONS[why]}: {language}")
    language = canonical_name(language)
    tests = list(seed.get("tests") or [])
    if not tests:
        return _unvalidated(language, "no_tests")
    if language != "python":
        name = str(seed.get("func_name", "")).split(".")[-1]
        # The seed's source lends its annotations to typed targets (OCaml) where the values alone are ambiguous.
        translated = translate_tests(tests, name, language, code=seed.get("code"))
        if translated is None:
            return _unvalidated(language, "tests_untranslatable", f"seed tests not translatable to {language}")
        tests = translated
    # Each run gets its own token, so no program can print another's pass mark.
    codes = [_program_code(example, seed, "output", language)]
    if task == "fix":
        codes.append(_program_code(example, seed, "input", language))
    tokens = [new_token() for _ in codes]
    runs = [(code, build_test_program(code, tests, language, t), t) for code, t in zip(codes, tokens, strict=True)]
    return language, runs, tests


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."


def validate_examples(
    pairs: list[tuple[dict, dict]], limits: Limits | None = None, workers: int | None = None
) -> list[dict]:
    """One Validation dict ({status, language, tests_run, tests_passed, coverage[, reason, detail]}) per pair.

    All programs run in one bounded pool. ``coverage`` is the seed's ``test_coverage``: how much of the seed its
    tests reach, i.e. how much a pass means. An answer that fails some tests is run once more per test (only
    then), to name the first failing one in ``detail``.
    """
    plans = [_plan(example, seed) for example, seed in pairs]
    jobs = [(prog, plan[0]) for plan in plans if isinstance(plan, tuple) for _, prog, _ in plan[1]]
    results = iter(execute_many(jobs, limits, workers))
    out: list[dict] = []
    diagnose: list[tuple[int, str, str, list[str]]] = []  # (index in out, language, code, tests)
    for (_, seed), plan in zip(pairs, plans, strict=True):
        if isinstance(plan, dict):
            out.append(plan)
            continue
        language, runs, tests = plan
        fixed_run = next(results)
        fixed = read_verdict(fixed_run, runs[0][2], len(tests))
        buggy = read_verdict(next(results), runs[1][2], len(tests)) if len(runs) > 1 else None
        coverage = float(seed.get("test_coverage", 0.0))
        v = {"language": language, "tests_run": len(tests), "tests_passed": fixed.passed or 0, "coverage": coverage}
        # A run that could not happen (no runtime, sandbox error) is unknown, not a fail; for fix that holds for the
        # buggy input's run too: "the bug fails the tests" is only known if that run happened.
        unknown = next((r for r in (fixed, buggy) if r is not None and r.status in ("skipped", "sandbox-error")), None)
        if unknown is not None:
            why = "runtime_missing" if unknown.status == "skipped" else "sandbox_error"
            v = _unvalidated(language, why, _cut(unknown.detail or UNVALIDATED_REASONS[why])) | {"coverage": coverage}
        elif fixed.status != "pass":
            v.update(status=fixed.status, detail=_cut(fixed.detail or fixed_run.stderr or fixed.status))
            if fixed.passed is not None and fixed.passed < len(tests):
                diagnose.append((len(out), language, runs[0][0], tests))
        elif buggy is not None and buggy.status == "pass":
            v.update(status="fail", detail="the buggy input passes all tests")
        else:
            v["status"] = "pass"
        out.append(v)
    _name_failing_tests(out, diagnose, limits, workers)
    return out


def _name_failing_tests(
    out: list[dict], diagnose: list[tuple[int, str, str, list[str]]], limits: Limits | None, workers: int | None
) -> None:
    """Set ``detail`` to the first failing test (and its error) of each answer that failed some of its tests."""
    jobs, where = [], []
    for index, language, code, tests in diagnose:
        for test in tests:
            token = new_token()
            jobs.append((build_test_program(code, [test], language, token), language))
            where.append((index, test, token))
    named: set[int] = set()
    for (index, test, token), result in zip(where, execute_many(jobs, limits, workers), strict=True):
        if index in named or read_verdict(result, token, 1).status == "pass":
            continue
        named.add(index)
        error = result.detail or _last_error(result.stderr)
        out[index]["detail"] = _cut(f"fails `{test}`" + (f": {error}" if error else ""))


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
