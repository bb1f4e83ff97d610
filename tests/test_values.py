"""Python test literals translated to javascript, lua, ocaml, r and racket, run for real in the sandbox: in every
language a right translation passes all the translated tests and a wrong one fails, on values that each language
writes differently (nested and empty lists, negative numbers, floats beside ints, unicode and escapes, None,
dicts, tuples, bools)."""

# ruff: noqa: E501  (the per-language programs below read best one per line)

from __future__ import annotations

import pytest
from runtimes import require_runtime

from codecurate.execute.harness import build_test_program, new_token, read_verdict
from codecurate.execute.sandbox import Limits, execute_many
from codecurate.execute.values import to_literal, translate_tests

LIMITS = Limits(timeout_s=30)

# Python seed tests per function. A wrong translation below differs from the right one on exactly these values.
SEED_TESTS = {
    "squares": ["assert squares([1, -2]) == [[1, 1], [-2, 4]]", "assert squares([]) == []"],
    "halve": [
        "assert halve(3) == 1.5",
        "assert halve(-1) == -0.5",
        "assert halve(0.25) == 0.125",
        "assert halve(4) == 2",
    ],
    "greet": ['assert greet("Zoë😀") == "¡hola, Zoë😀! \\"✓\\"\\t\\n"', 'assert greet("") == "¡hola, ! \\"✓\\"\\t\\n"'],
    "find": ["assert find([3, 1, 2], 1) == 1", "assert find([], 5) == None", "assert find([-4], -4) == 0"],
    "counts": ['assert counts("b a b") == {"b": 2, "a": 1}', 'assert counts("") == {}'],
    "swap": ['assert swap((1, "a")) == ("a", 1)', 'assert swap((-2.5, "")) == ("", -2.5)'],
    "is_neg": ["assert is_neg(-1) == True", "assert is_neg(0) == False"],
}

# language -> function -> (right, wrong)
IMPLS: dict[str, dict[str, tuple[str, str]]] = {
    "javascript": {
        "squares": ("function squares(xs) { return xs.map(x => [x, x * x]); }", "function squares(xs) { return xs.map(x => [x, Math.abs(x) * x]); }"),
        "halve": ("function halve(x) { return x / 2; }", "function halve(x) { return Math.trunc(x / 2); }"),
        "greet": ("function greet(n) { return '¡hola, ' + n + '! \"✓\"\\t\\n'; }", "function greet(n) { return 'hola, ' + n + '! \"✓\"\\t\\n'; }"),
        "find": ("function find(xs, x) { const i = xs.indexOf(x); return i < 0 ? null : i; }", "function find(xs, x) { return xs.indexOf(x); }"),
        "counts": (
            "function counts(s) { const h = {}; for (const w of s.split(' ').filter(w => w)) h[w] = (h[w] || 0) + 1; return h; }",
            "function counts(s) { const h = {}; for (const w of s.split(' ').filter(w => w)) h[w] = 1; return h; }",
        ),
        "swap": ("function swap(t) { return [t[1], t[0]]; }", "function swap(t) { return [t[1], -t[0]]; }"),
        "is_neg": ("function is_neg(x) { return x < 0; }", "function is_neg(x) { return x <= 0; }"),
    },
    "lua": {
        "squares": (
            "function squares(xs) local r = {} for i, x in ipairs(xs) do r[i] = {x, x * x} end return r end",
            "function squares(xs) local r = {} for i, x in ipairs(xs) do r[i] = {x, math.abs(x) * x} end return r end",
        ),
        "halve": ("function halve(x) return x / 2 end", "function halve(x) return x // 2 end"),
        "greet": ("function greet(n) return '¡hola, ' .. n .. '! \"✓\"\\t\\n' end", "function greet(n) return 'hola, ' .. n .. '! \"✓\"\\t\\n' end"),
        "find": (
            "function find(xs, x) for i, y in ipairs(xs) do if y == x then return i - 1 end end return nil end",
            "function find(xs, x) for i, y in ipairs(xs) do if y == x then return i - 1 end end return -1 end",
        ),
        "counts": (
            "function counts(s) local h = {} for w in s:gmatch('%S+') do h[w] = (h[w] or 0) + 1 end return h end",
            "function counts(s) local h = {} for w in s:gmatch('%S+') do h[w] = 1 end return h end",
        ),
        "swap": ("function swap(t) return {t[2], t[1]} end", "function swap(t) return {t[2], -t[1]} end"),
        "is_neg": ("function is_neg(x) return x < 0 end", "function is_neg(x) return x <= 0 end"),
    },
    "ocaml": {
        "squares": ("let squares xs = List.map (fun x -> [x; x * x]) xs", "let squares xs = List.map (fun x -> [x; abs x * x]) xs"),
        "halve": ("let halve x = x /. 2.0", "let halve x = Float.of_int (int_of_float x / 2)"),
        "greet": ('let greet n = "¡hola, " ^ n ^ "! \\"✓\\"\\t\\n"', 'let greet n = "hola, " ^ n ^ "! \\"✓\\"\\t\\n"'),
        "find": (
            "let find xs x = let rec go i = function [] -> None | y :: r -> if y = x then Some i else go (i + 1) r in go 0 xs",
            "let find xs x = let rec go i = function [] -> Some (-1) | y :: r -> if y = x then Some i else go (i + 1) r in go 0 xs",
        ),
        "counts": (
            "let counts s = List.fold_left (fun acc w -> match List.assoc_opt w acc with Some n -> (w, n + 1) :: List.remove_assoc w acc | None -> (w, 1) :: acc) [] (List.filter (fun w -> w <> \"\") (String.split_on_char ' ' s))",
            "let counts s = List.map (fun w -> (w, 1)) (List.sort_uniq compare (List.filter (fun w -> w <> \"\") (String.split_on_char ' ' s)))",
        ),
        "swap": ("let swap (a, b) = (b, a)", "let swap (a, b) = (b, -. a)"),
        "is_neg": ("let is_neg x = x < 0", "let is_neg x = x <= 0"),
    },
    "r": {
        "squares": ("squares <- function(xs) lapply(xs, function(x) c(x, x * x))", "squares <- function(xs) lapply(xs, function(x) c(x, abs(x) * x))"),
        "halve": ("halve <- function(x) x / 2", "halve <- function(x) x %/% 2"),
        "greet": ('greet <- function(n) paste0("¡hola, ", n, "! \\"✓\\"\\t\\n")', 'greet <- function(n) paste0("hola, ", n, "! \\"✓\\"\\t\\n")'),
        "find": (
            "find <- function(xs, x) { i <- which(unlist(xs) == x); if (length(i) == 0) NULL else i[1] - 1 }",
            "find <- function(xs, x) { i <- which(unlist(xs) == x); if (length(i) == 0) -1 else i[1] - 1 }",
        ),
        "counts": (
            'counts <- function(s) { w <- strsplit(s, " ")[[1]]; as.list(table(w[w != ""])) }',
            'counts <- function(s) { w <- unique(strsplit(s, " ")[[1]]); w <- w[w != ""]; setNames(as.list(rep(1, length(w))), w) }',
        ),
        "swap": ("swap <- function(t) list(t[[2]], t[[1]])", "swap <- function(t) list(t[[2]], -t[[1]])"),
        "is_neg": ("is_neg <- function(x) x < 0", "is_neg <- function(x) x <= 0"),
    },
    "racket": {
        "squares": ("(define (squares xs) (map (lambda (x) (list x (* x x))) xs))", "(define (squares xs) (map (lambda (x) (list x (* (abs x) x))) xs))"),
        "halve": ("(define (halve x) (/ x 2))", "(define (halve x) (quotient x 2))"),
        "greet": ('(define (greet n) (string-append "¡hola, " n "! \\"✓\\"\\t\\n"))', '(define (greet n) (string-append "hola, " n "! \\"✓\\"\\t\\n"))'),
        "find": (
            "(define (find xs x) (let loop ([ys xs] [i 0]) (cond [(null? ys) #f] [(equal? (car ys) x) i] [else (loop (cdr ys) (add1 i))])))",
            "(define (find xs x) (let loop ([ys xs] [i 0]) (cond [(null? ys) -1] [(equal? (car ys) x) i] [else (loop (cdr ys) (add1 i))])))",
        ),
        "counts": (
            "(define (counts s) (for/fold ([h (hash)]) ([w (string-split s)]) (hash-update h w add1 0)))",
            "(define (counts s) (for/fold ([h (hash)]) ([w (string-split s)]) (hash-set h w 1)))",
        ),
        "swap": ("(define (swap t) (list (second t) (first t)))", "(define (swap t) (list (second t) (- (first t))))"),
        "is_neg": ("(define (is_neg x) (< x 0))", "(define (is_neg x) (<= x 0))"),
    },
}  # fmt: skip


def _program(language: str, wrong: str | None) -> tuple[str, list[str]]:
    code, tests = [], []
    for func, seed_tests in SEED_TESTS.items():
        translated = translate_tests(seed_tests, func, language)
        assert translated is not None, (language, func)
        right, bad = IMPLS[language][func]
        code.append(bad if func == wrong else right)
        tests += translated
    return "\n".join(code), tests


@pytest.mark.parametrize("language", sorted(IMPLS))
def test_right_translation_passes_and_each_wrong_one_fails(language):
    require_runtime(language)
    variants = [None, *SEED_TESTS]  # all right, then one wrong function at a time
    jobs, tokens, totals = [], [], []
    for wrong in variants:
        code, tests = _program(language, wrong)
        token = new_token()
        jobs.append((build_test_program(code, tests, language, token), language))
        tokens.append(token)
        totals.append(len(tests))
    results = execute_many(jobs, LIMITS, workers=2)
    verdicts = [read_verdict(r, t, n) for r, t, n in zip(results, tokens, totals, strict=True)]
    assert verdicts[0].status == "pass", (verdicts[0], results[0].stderr[-2000:])
    for wrong, verdict, result in zip(variants[1:], verdicts[1:], results[1:], strict=True):
        n_wrong = len(SEED_TESTS[wrong])
        # Only the wrong function's tests fail (one test failing does not stop the others) ...
        assert verdict.status == "fail", (wrong, verdict)
        # ... and at least one of them does (each wrong function differs on these values).
        assert totals[0] - n_wrong <= verdict.passed < totals[0], (wrong, verdict, result.stdout[-500:])


@pytest.mark.parametrize(
    "value, ocaml, r, racket",
    [
        (None, "None", "NULL", "#f"),
        (-3, "(-3)", "-3", "-3"),
        (-0.5, "(-0.5)", "-0.5", "-0.5"),
        ('é\n"', '"\\195\\169\\n\\""', '"\\U{e9}\\n\\""', '"\\u00e9\\n\\""'),
        ("😀1", '"\\240\\159\\152\\1281"', '"\\U{1f600}1"', '"\\U0001f6001"'),
        ([[1], []], "[[1]; []]", "list(c(1), list())", "(list (list 1) (list))"),
        ([1, "a"], None, 'list(1, "a")', '(list 1 "a")'),  # mixed list: no OCaml type
        ((1, "a"), '(1, "a")', 'list(1, "a")', '(list 1 "a")'),
        ({"k": [True]}, '[("k", [true])]', 'list("k" = c(TRUE))', '(hash "k" (list #t))'),
        (10**30, None, None, "1" + "0" * 30),  # beyond 63 bits / exact doubles; Racket integers are exact
        (float("inf"), None, None, None),
    ],
)
def test_literals(value, ocaml, r, racket):
    for language, want in (("ocaml", ocaml), ("r", r), ("racket", racket)):
        if want is None:
            with pytest.raises(ValueError):
                to_literal(value, language)
        else:
            assert to_literal(value, language) == want, language


def test_ocaml_types_come_from_all_the_tests_and_annotations():
    tests = ["assert f([1, 2]) == None", "assert f([]) == 2.5", "assert f([3]) == 1"]
    assert translate_tests(tests, "f", "ocaml") == [
        "assert (f [1; 2] = None)",
        "assert (f [] = (Some 2.5))",
        "assert (f [3] = (Some 1.0))",
    ]
    # An annotation makes f(2) a float argument even though every value there is an int.
    code = "def g(x: float, ys: list[int]) -> Optional[int]:\n    return None\n"
    assert translate_tests(["assert g(2, []) == 3"], "g", "ocaml", code=code) == ["assert (g 2.0 [] = (Some 3))"]
    assert translate_tests(["assert f([1, 'a']) == 1"], "f", "ocaml") is None  # heterogeneous list
    assert translate_tests(["assert f(1) == 1", "assert f('a') == 1"], "f", "ocaml") is None  # int or str
    assert translate_tests(["assert f((1,)) == 1"], "f", "ocaml") is None  # no 1-tuples
    assert translate_tests(["assert F(1) == 1"], "F", "ocaml") is None  # a constructor name, not a function
    # Dicts are association lists, compared sorted (Python's dict equality ignores order).
    assert "List.sort Stdlib.compare" in translate_tests(['assert f(1) == {"a": 1}'], "f", "ocaml")[0]


def test_ambiguous_or_unfaithful_values_are_untranslatable():
    assert translate_tests(["assert f(1) == True", "assert f(2) == None"], "f", "racket") is None  # both #f
    assert translate_tests(["assert f(1) == 1", "assert f(2) == None"], "f", "racket") is not None
    assert translate_tests(["assert f({1: 2}) == 1"], "f", "r") is None  # R names are strings
    assert translate_tests(["assert f('\\x00') == 1"], "f", "r") is None  # R strings hold no NUL
    assert translate_tests(["assert f('\\ud800') == 1"], "f", "lua") is None  # a lone surrogate is no UTF-8
    assert translate_tests(["assert end(1) == 1"], "end", "lua") is None  # reserved word
    assert translate_tests(["assert f(1) == 1"], "f", "java") is None  # no translator: untranslatable, not wrong


def test_r_equality_is_faithful_to_python():
    """R has vectors and lists, integers and doubles, and names: the helper equates what Python's == equates."""
    require_runtime("r")
    cases = [  # (R expression returned, Python expected, equal?)
        ("c(1L, 2L)", [1, 2], True),  # integer vector vs Python ints written as doubles
        ("list(1, 2)", [1, 2], True),  # a list where a vector was written
        ("c(a = 1, b = 2)", [1, 2], True),  # names ignored when a list is expected
        ("c(1, 2)", [2, 1], False),
        ("c(1, 2, 3)", [1, 2], False),
        ("NULL", [], True),  # c() is NULL in R
        ("list()", None, False),  # only NULL is None
        ("c(TRUE)", [1], False),  # a bool is not a number
        ("list(b = 2, a = 1)", {"a": 1, "b": 2}, True),  # dicts: order-free
        ("list(a = 1, c = 2)", {"a": 1, "b": 2}, False),
        ("list(c(1, 2), 3)", [[1, 2], [3]], True),
        ("list(c(1, 2), c(3, 4))", [[1, 2], [3]], False),
        ("0.30000000000000004", 0.1 + 0.2, True),  # exact
        ("0.3", 0.1 + 0.2, False),  # no tolerance, as in Python
        ('"\\u00e9"', "é", True),
    ]
    code = "\n".join(f"f{i} <- function() {expr}" for i, (expr, _, _) in enumerate(cases))
    tests = []
    for i, (_, expected, _) in enumerate(cases):
        tests += translate_tests([f"assert f{i}() == {expected!r}"], f"f{i}", "r")
    token = new_token()
    result = execute_many([(build_test_program(code, tests, "r", token), "r")], LIMITS)[0]
    want = sum(equal for _, _, equal in cases)
    assert read_verdict(result, token, len(tests)).passed == want, result.stderr[-1000:]
    # Which ones: each case alone.
    jobs, tokens = [], []
    for expr, expected, _ in cases:
        token = new_token()
        test = translate_tests([f"assert f() == {expected!r}"], "f", "r")
        jobs.append((build_test_program(f"f <- function() {expr}", test, "r", token), "r"))
        tokens.append(token)
    results = execute_many(jobs, LIMITS, workers=2)
    got = [read_verdict(r, t, 1).status == "pass" for r, t in zip(results, tokens, strict=True)]
    assert got == [equal for _, _, equal in cases]


def test_floats_round_trip_exactly_in_every_language():
    """A float literal must read back as the same double; checked with values whose shortest repr has 17 digits."""
    for language in ("javascript", "lua", "ocaml", "r", "racket"):
        require_runtime(language)
    values = [0.1 + 0.2, 1 / 3, -2.5e-300, 1.7976931348623157e308, 5e-324, 123456789.12345679, 2.0**60]
    programs = {  # f(i) returns the i-th value, read from its literal in the language
        "javascript": lambda lits: f"function f(i) {{ return [{', '.join(lits)}][i]; }}",
        "lua": lambda lits: f"function f(i) return ({{{', '.join(lits)}}})[i + 1] end",
        "ocaml": lambda lits: f"let f i = List.nth [{'; '.join(lits)}] i",
        "r": lambda lits: f"f <- function(i) c({', '.join(lits)})[i + 1]",
        "racket": lambda lits: f"(define (f i) (list-ref (list {' '.join(lits)}) i))",
    }
    jobs, tokens, n = [], [], len(values)
    for language, make in programs.items():
        code = make([to_literal(v, language) for v in values])
        tests = translate_tests([f"assert f({i}) == {v!r}" for i, v in enumerate(values)], "f", language)
        token = new_token()
        jobs.append((build_test_program(code, tests, language, token), language))
        tokens.append(token)
    results = execute_many(jobs, LIMITS, workers=2)
    for language, result, token in zip(programs, results, tokens, strict=True):
        assert read_verdict(result, token, n).status == "pass", (language, result.stdout[-300:], result.stderr[-800:])
