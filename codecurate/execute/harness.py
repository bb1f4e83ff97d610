"""Test harnesses whose pass mark cannot be printed by the code under test.

    token = new_token()
    program = build_test_program(code, tests, "python", token)
    result = execute(program, "python")
    verdict = read_verdict(result, token, total=len(tests))     # Verdict(status="pass", passed=3, total=3)

Every program we judge ends with a line that carries a random token made fresh for that run: the tests'
``passed/total`` for our own harness, or a bare "reached the end" mark after a benchmark's own tests. A program
passes only when it exits 0 *and* that line is in its output: code that calls ``exit(0)``, ``os._exit(0)`` or
kills its own interpreter before the tests finish never prints it, and a model cannot print a token it has never
seen (a fixed marker string, as we had before, is one ``print`` away from a fake pass).

What the token does not stop: a program that reads its own source file to find the token. The sandbox bounds
what such a program can do; a VM is the answer to deliberately adversarial code.

Our own harness (``build_test_program``) exists for python, javascript, lua, ocaml, r and racket: each test runs on
its own (a failing or raising test does not stop the others), then ``MARK token passed/total`` is printed and the
program exits non-zero unless all passed. Helpers the tests need (deep equality) are placed after the code, so
the code cannot redefine them before the tests run (Lua's is a local before the code, which a later global of
the same name cannot replace).

Benchmarks that bring their own tests (MultiPL-E, HumanEval, HumanEvalPack):

- python, javascript, lua, ocaml, r, racket: append ``end_mark(language, token)`` after the tests; it prints the
  bare mark, so it runs only if the tests did not raise or exit first. Two traps: MultiPL-E's Lua tests end with
  ``os.exit(lu.LuaUnit.run())``, which exits before anything appended (run ``lu.LuaUnit.run()`` into a variable,
  print the mark only when it is 0, then exit with it); Racket's rackunit checks outside a ``test-case`` print a
  failure and carry on, so insert ``fail_fast("racket")`` right after the tests' ``(require rackunit)`` to make
  the first failing check raise (and the program exit non-zero before the mark).
- java, go, cpp, rust: a statement appended after ``main`` never runs, so wrap the benchmark's main instead:
  rename it (``main`` -> ``main0``), and add a ``main`` that calls it and then runs ``mark_statement(language,
  token)`` (Java: ``System.out.println``; Go: ``fmt.Println``, so the file must import "fmt"; C++:
  ``std::cout << ... << std::endl``, needs <iostream>; Rust: ``println!``). A test that fails must throw, panic,
  abort or exit non-zero (HumanEvalPack's do), which skips the mark; ``System.exit(0)`` / ``os.Exit(0)`` /
  ``exit(0)`` / ``std::process::exit(0)`` before the mark fails too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from codecurate.execute.languages import canonical_name
from codecurate.execute.sandbox import ExecutionResult

# Fixed prefix so a mark is easy to find in a log; the token after it is what makes it unforgeable.
MARK = "__codecurate_done__"


def new_token() -> str:
    return secrets.token_hex(12)


def mark_line(token: str) -> str:
    return f"{MARK} {token}"


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line for line in text.splitlines())


# Per language: how one test is wrapped so a failing test does not stop the others (``{test}``), and the tail that
# prints ``MARK token passed/total`` and exits non-zero unless all passed. The leading newline of the mark means
# output the program left without a line end cannot glue itself to the mark.
_WRAP: dict[str, str] = {
    "python": "try:\n{test_py}\n    __passed += 1\nexcept Exception:\n    pass\n",
    "javascript": "try {{\n{test}\n__passed++;\n}} catch (e) {{}}\n",
    "lua": "if pcall(function()\n{test}\nend) then __passed = __passed + 1 end\n",
    # `with _` catches every exception (Assert_failure, Not_found, Stack_overflow, ...); `exit` is no exception.
    "ocaml": "let () = try (\n{test}\n); Stdlib.incr _cc_passed with _ -> ()\n",
    # The tryCatch expression runs in the global frame, so the assignment counts there.
    "r": "base::tryCatch({{\n{test}\n.cc_passed <- .cc_passed + 1\n}}, error = function(e) NULL)\n",
    "racket": "(with-handlers ([(lambda (e) #t) void])\n{test}\n(set! __cc-passed (add1 __cc-passed)))\n",
}
_HEAD: dict[str, str] = {
    "python": "__passed = 0\n",
    "javascript": "let __passed = 0;\n",
    "lua": "local __passed = 0\n",
    "ocaml": "let _cc_passed = ref 0\n",
    "r": ".cc_passed <- 0\n",
    "racket": "(define __cc-passed 0)\n",
}
_TAIL: dict[str, str] = {
    "python": (
        "print('\\n{mark} ' + str(__passed) + '/{n}', flush=True)\nraise SystemExit(0 if __passed == {n} else 1)\n"
    ),
    "javascript": "console.log('\\n{mark} ' + __passed + '/{n}');\nprocess.exit(__passed === {n} ? 0 : 1);\n",
    "lua": "print('\\n{mark} ' .. __passed .. '/{n}')\nos.exit(__passed == {n} and 0 or 1)\n",
    "ocaml": (
        'let () = Stdlib.print_endline ("\\n{mark} " ^ Stdlib.string_of_int !_cc_passed ^ "/{n}");\n'
        "  Stdlib.exit (if !_cc_passed = {n} then 0 else 1)\n"
    ),
    "r": (
        'base::cat("\\n{mark} ", .cc_passed, "/{n}\\n", sep = "")\n'
        'base::quit(save = "no", status = if (.cc_passed == {n}) 0 else 1)\n'
    ),
    "racket": '(printf "\\n{mark} ~a/{n}\\n" __cc-passed)\n(flush-output)\n(exit (if (= __cc-passed {n}) 0 1))\n',
}
# Helpers the translated tests call (values.py): deep equality as Python's == means it in that language.
PRELUDES: dict[str, str] = {
    "lua": """local type, pairs = type, pairs  -- the code under test may define functions with these names
local function deep_equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k, _ in pairs(b) do if a[k] == nil then return false end end
  return true
end
""",
    # base:: throughout: the code under test may define functions called length, names, ...
    "r": """.cc_leaf <- function(a, b) {
  if (base::is.na(a) || base::is.na(b)) return(FALSE)
  if (base::is.logical(b)) return(base::is.logical(a) && a == b)
  if (base::is.numeric(b)) return(base::is.numeric(a) && a == b)
  if (base::is.character(b)) return(base::is.character(a) && a == b)
  FALSE
}
.cc_seq <- function(x) base::is.atomic(x) || base::is.list(x)
.cc_eq <- function(a, b) {
  if (base::is.null(b)) return(base::is.null(a))
  nb <- base::names(b)
  if (!base::is.null(nb)) {
    if (!.cc_seq(a) || base::length(a) != base::length(b)) return(FALSE)
    if (base::length(b) == 0) return(TRUE)
    na <- base::names(a)
    if (base::is.null(na) || base::anyDuplicated(na) || !base::setequal(na, nb)) return(FALSE)
    for (k in nb) if (!.cc_eq(a[[k]], b[[k]])) return(FALSE)
    return(TRUE)
  }
  if (base::is.null(a)) return(base::length(b) == 0)
  if (!.cc_seq(a) || base::length(a) != base::length(b)) return(FALSE)
  if (base::is.atomic(a) && base::is.atomic(b) && base::length(b) == 1) return(.cc_leaf(a, b))
  for (i in base::seq_along(b)) if (!.cc_eq(a[[i]], b[[i]])) return(FALSE)
  TRUE
}
""",
    "racket": """(define (__cc-equal? a b)
  (cond [(and (number? a) (number? b)) (= a b)]
        [(and (pair? a) (pair? b)) (and (__cc-equal? (car a) (car b)) (__cc-equal? (cdr a) (cdr b)))]
        [(and (hash? a) (hash? b))
         (and (= (hash-count a) (hash-count b))
              (for/and ([(k v) (in-hash b)]) (and (hash-has-key? a k) (__cc-equal? (hash-ref a k) v))))]
        [else (equal? a b)]))
""",
}
# The bare end mark appended after a benchmark's own tests (MultiPL-E, HumanEval, ...).
_END: dict[str, str] = {
    "python": "print('\\n{mark}', flush=True)\n",
    "javascript": "console.log('\\n{mark}');\n",
    "lua": "print('\\n{mark}')\n",
    "ocaml": '\n;;\nlet () = Stdlib.print_endline "\\n{mark}"\n',
    "r": 'base::cat("\\n{mark}\\n")\n',
    "racket": '(printf "\\n{mark}\\n")\n(flush-output)\n',
}
# A statement printing the bare mark from inside a program's main (compiled languages: see the module docstring).
_STATEMENT: dict[str, str] = {
    **_END,
    "java": 'System.out.println("\\n{mark}");',
    "go": 'fmt.Println("\\n{mark}")',
    "cpp": 'std::cout << "\\n{mark}" << std::endl;',
    "rust": 'println!("\\n{mark}");',
}
# Inserted after a benchmark's `(require rackunit)`: a failing check raises instead of printing and carrying on.
_FAIL_FAST: dict[str, str] = {"racket": "(current-check-handler raise)\n"}


def harness_languages() -> list[str]:
    """Languages with a test harness here (a language can run programs without one: see ``end_mark``)."""
    return sorted(_WRAP)


def build_test_program(code: str, tests: list[str], language: str, token: str) -> str:
    """``code``, then each test on its own (a failing test does not stop the others), then the mark line
    ``MARK token passed/total``; the program exits non-zero unless all passed."""
    language = canonical_name(language)
    if language not in _WRAP:
        raise ValueError(f"no test harness for {language}")
    wrap = _WRAP[language]
    body = "".join(wrap.format(test=t, test_py=_indent(t, "    ")) for t in tests)
    tail = _TAIL[language].format(mark=mark_line(token), n=len(tests))
    head = ""
    if language == "racket" and not code.lstrip().startswith("#lang"):
        head = "#lang racket\n"  # a Racket program is a module; its first line names the language
    if language == "ocaml":
        code += "\n;;"  # ends a trailing top-level expression, so the tests' `let` starts a new item
    prelude = PRELUDES.get(language, "")
    if language == "lua":  # Lua's helper must be a local before the code, where it also captures the builtins
        return f"{prelude}{code}\n\n\n{_HEAD[language]}{body}{tail}"
    return f"{head}{code}\n\n\n{prelude}{_HEAD[language]}{body}{tail}"


def end_mark(language: str, token: str) -> str:
    """A statement that prints the bare end mark: appended after a benchmark's tests, it runs only if they did."""
    language = canonical_name(language)
    if language not in _END:
        raise ValueError(f"no end mark for {language}: wrap its main and use mark_statement (see harness.py)")
    return _END[language].format(mark=mark_line(token))


def mark_statement(language: str, token: str) -> str:
    """A statement printing the bare mark, for the end of a wrapping ``main`` (java, go, cpp, rust) or the end
    of a script (the other languages, where it equals ``end_mark``)."""
    language = canonical_name(language)
    if language not in _STATEMENT:
        raise ValueError(f"no mark statement for {language}")
    return _STATEMENT[language].format(mark=mark_line(token))


def fail_fast(language: str) -> str:
    """Text to insert after a benchmark's test-library import so a failing check stops the program ("" when the
    language's checks already do): Racket's rackunit otherwise reports a failure and goes on."""
    return _FAIL_FAST.get(canonical_name(language), "")


@dataclass
class Verdict:
    status: str  # "pass", or the run's failure status ("fail", "timeout", ...)
    passed: int | None  # tests passed, from the mark line (None for a bare end mark or no mark)
    detail: str = ""


def _find_mark(stdout: str, token: str) -> tuple[bool, int | None]:
    mark = mark_line(token)
    for line in reversed(stdout.splitlines()):
        if line == mark:
            return True, None
        if line.startswith(mark + " "):
            try:
                return True, int(line[len(mark) + 1 :].split("/")[0])
            except ValueError:
                return False, None
    return False, None


def read_verdict(result: ExecutionResult, token: str, total: int | None = None) -> Verdict:
    """Pass only when the run exited 0 and printed this run's mark (and, with ``total``, all tests passed)."""
    reached, passed = _find_mark(result.stdout, token)
    if result.status != "pass":
        return Verdict(result.status, passed, result.detail or last_line(result.stderr))
    if not reached:
        return Verdict("fail", None, "program exited before its tests finished")
    if total is not None and passed != total:
        return Verdict("fail", passed, f"{passed}/{total} tests passed")
    return Verdict("pass", passed)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
