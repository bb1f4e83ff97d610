"""Pass means the tests finished, in every language: our harness and the bare end mark, run for real.

A run passes only when it exits 0 and printed this run's token after its tests; exiting early (with status 0),
printing a mark with another token, or failing a test must all fail."""

from __future__ import annotations

import pytest
from runtimes import require_runtime

from codecurate.execute.harness import (
    build_test_program,
    end_mark,
    fail_fast,
    harness_languages,
    mark_line,
    mark_statement,
    new_token,
    read_verdict,
)
from codecurate.execute.sandbox import Limits, execute_many
from codecurate.execute.values import translate_tests

LIMITS = Limits(timeout_s=30)
TESTS = ["assert inc(1) == 2", "assert inc(-5) == -4"]

# language -> (right inc, inc that exits the process with status 0 when called, a top-level exit(0), print)
PROGRAMS = {
    "python": (
        "def inc(x):\n    return x + 1",
        "def inc(x):\n    import os\n    os._exit(0)",
        "import sys\nsys.exit(0)",
        "print({!r})",
    ),
    "javascript": (
        "function inc(x) { return x + 1; }",
        "function inc(x) { process.exit(0); }",
        "process.exit(0);",
        "console.log({!r});",
    ),
    "lua": ("function inc(x) return x + 1 end", "function inc(x) os.exit(0) end", "os.exit(true)", "print({!r})"),
    "ocaml": ("let inc x = x + 1", "let inc x = exit 0", "let () = exit 0", 'let () = print_endline "{}"'),
    "r": (
        "inc <- function(x) x + 1",
        "inc <- function(x) quit(save = 'no', status = 0)",
        "q('no')",
        "cat({!r}, '\\n')",
    ),
    "racket": ("(define (inc x) (+ x 1))", "(define (inc x) (exit 0))", "(exit 0)", '(displayln "{}")'),
}


def _run(programs: list[tuple[str, str]]) -> list:
    return execute_many(programs, LIMITS, workers=2)


def test_every_harness_language_has_a_program_here():
    assert sorted(PROGRAMS) == harness_languages()


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_harness_passes_only_when_the_tests_finished(language):
    require_runtime(language)
    right, exits_in_call, exits_at_top, printer = PROGRAMS[language]
    tests = TESTS if language == "python" else translate_tests(TESTS, "inc", language)
    fake = mark_line(new_token()) + " 2/2"  # a well-formed mark with some other run's token
    cases = {
        "right": right,
        "wrong": right.replace("1", "2", 1),
        "exit(0) inside the function": exits_in_call,
        "exit(0) before the tests": f"{right}\n{exits_at_top}",
        "prints a mark with another token, then exits 0": f"{right}\n{printer.format(fake)}\n{exits_at_top}",
    }
    tokens = [new_token() for _ in cases]
    jobs = [
        (build_test_program(code, tests, language, t), language) for code, t in zip(cases.values(), tokens, strict=True)
    ]
    results = _run(jobs)
    verdicts = {name: read_verdict(r, t, len(tests)) for name, r, t in zip(cases, results, tokens, strict=True)}
    assert verdicts["right"].status == "pass" and verdicts["right"].passed == 2, results[0].stderr[-1500:]
    assert verdicts["wrong"].status == "fail" and verdicts["wrong"].passed == 0
    for name in list(cases)[2:]:
        result = results[list(cases).index(name)]
        assert result.status == "pass", (name, result)  # the process itself exited 0 ...
        assert verdicts[name].status == "fail", (name, verdicts[name])  # ... and still it is no pass
        assert "before its tests finished" in verdicts[name].detail


# A benchmark's own tests, in the language's own style, then end_mark: (passing tests, failing tests)
NATIVE = {
    "python": ("assert inc(1) == 2", "assert inc(1) == 3"),
    "javascript": ("require('assert').strictEqual(inc(1), 2);", "require('assert').strictEqual(inc(1), 3);"),
    "lua": ("assert(inc(1) == 2)", "assert(inc(1) == 3)"),
    "ocaml": ("let () = assert (inc 1 = 2)", "let () = assert (inc 1 = 3)"),
    "r": ("stopifnot(inc(1) == 2)", "stopifnot(inc(1) == 3)"),
    # MultiPL-E style: rackunit checks, made to raise by fail_fast (they print and carry on otherwise).
    "racket": (
        "(require rackunit)\n{ff}(check-equal? (inc 1) 2)",
        "(require rackunit)\n{ff}(check-equal? (inc 1) 3)\n(check-equal? (inc 1) 2)",
    ),
}


@pytest.mark.parametrize("language", sorted(NATIVE))
def test_end_mark_after_a_benchmarks_own_tests(language):
    require_runtime(language)
    right, _, exits_at_top, _ = PROGRAMS[language]
    good, bad = (t.replace("{ff}", fail_fast(language)) for t in NATIVE[language])
    lang_line = "#lang racket\n" if language == "racket" else ""
    cases = [(good, "pass"), (bad, "fail"), (f"{exits_at_top}\n{good}", "fail")]
    tokens = [new_token() for _ in cases]
    jobs = [
        (f"{lang_line}{right}\n{tests}\n{end_mark(language, t)}", language)
        for (tests, _), t in zip(cases, tokens, strict=True)
    ]
    results = _run(jobs)
    got = [read_verdict(r, t).status for r, t in zip(results, tokens, strict=True)]
    assert got == [want for _, want in cases], [r.stderr[-500:] for r in results]


def test_rackunit_without_fail_fast_would_pass_a_failing_check():
    """Why fail_fast exists: a failing rackunit check outside a test-case only prints."""
    require_runtime("racket")
    token = new_token()
    program = "#lang racket\n(require rackunit)\n(check-equal? 1 2)\n" + end_mark("racket", token)
    result = _run([(program, "racket")])[0]
    assert result.status == "pass" and "FAILURE" in result.stderr
    assert read_verdict(result, token).status == "pass"  # the trap: hence fail_fast("racket")
    assert fail_fast("racket") and fail_fast("python") == ""


# Compiled languages: the benchmark's main renamed, a new main calls it and then prints the mark.
WRAPPED = {
    "java": (
        "public class Main {{\n  static void main0() {{ {body} }}\n"
        "  public static void main(String[] a) {{ main0(); {mark} }}\n}}",
        {"ok": "int x = 1;", "fail": "throw new AssertionError();", "exit": "System.exit(0);"},
    ),
    "go": (
        'package main\nimport ("fmt"; "os")\nvar _ = os.Exit\n'
        "func main0() {{ {body} }}\nfunc main() {{ main0(); {mark} }}",
        {"ok": "_ = 1", "fail": 'panic("test failed")', "exit": "os.Exit(0)"},
    ),
    "cpp": (
        "#include <iostream>\n#include <cstdlib>\n#include <cassert>\nvoid main0() {{ {body} }}\n"
        "int main() {{ main0(); {mark} }}",
        {"ok": "assert(1 + 1 == 2);", "fail": "assert(1 + 1 == 3);", "exit": "std::exit(0);"},
    ),
    "rust": (
        "fn main0() {{ {body} }}\nfn main() {{ main0(); {mark} }}",
        {"ok": "assert_eq!(1 + 1, 2);", "fail": "assert_eq!(1 + 1, 3);", "exit": "std::process::exit(0);"},
    ),
}


@pytest.mark.parametrize("language", sorted(WRAPPED))
def test_mark_statement_in_a_wrapped_main(language):
    require_runtime(language)
    template, bodies = WRAPPED[language]
    with pytest.raises(ValueError, match="mark_statement"):
        end_mark(language, new_token())
    tokens = {name: new_token() for name in bodies}
    jobs = [
        (template.format(body=body, mark=mark_statement(language, tokens[name])), language)
        for name, body in bodies.items()
    ]
    results = dict(zip(bodies, _run(jobs), strict=True))
    verdicts = {name: read_verdict(results[name], tokens[name]).status for name in bodies}
    detail = {n: (r.status, r.stderr[-800:]) for n, r in results.items()}
    assert verdicts["ok"] == "pass" and verdicts["exit"] == "fail", detail
    assert verdicts["fail"] in ("fail", "crash"), detail  # C++'s assert aborts (SIGABRT)
    assert results["exit"].status == "pass"  # exit code 0, yet not a pass
