"""Sandbox throughput on tiny programs, and what each layer of isolation costs; then runs/s per language.

    nice .venv/bin/python bench/sandbox.py --runs 200 --workers 2
    nice .venv/bin/python bench/sandbox.py --only-languages --lang-runs 20   # just the per-language table

Rows (each the same tiny passing Python program, run ``--runs`` times on ``--workers`` threads):
  plain subprocess    one unlimited `python main.py` per run in a temp dir: the baseline
  plain, python -S    the same without site.py (the sandbox's Python adapter skips it too): the floor
  rlimits mode        our sandbox without namespaces: rlimits, scrubbed env, temp dir, socket guard
  namespaces, net on  + pid/mount namespaces, private /tmp, per-run uid (network=True skips the net namespace)
  full sandbox        everything on: the default

Per language (all limits on, ``--lang-runs`` runs of each program on ``--workers`` threads): a trivial program
(prints a computed line) and a small test program (clamp plus three tests through our harness; for java, go, cpp
and rust a main with three checks and the end mark). Each row gives runs/s, and the mean wall time of the compile
step and of the run step (compiled languages compile once per program, in the sandbox). "vs plain" compares the
trivial program's sandboxed runs/s with the same command(s) run as plain subprocesses in a temp dir, measured here
in the same run; "vs python" compares with the Python row. Slow starts (racket, R, the JVM) show as they are.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codecurate.execute import sandbox
from codecurate.execute.harness import build_test_program, mark_statement, new_token, read_verdict
from codecurate.execute.languages import LANGUAGES, SANDBOX_PATH, get_language
from codecurate.execute.sandbox import Limits, execute_many
from codecurate.execute.values import translate_tests

PROGRAM = "def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\n"


def plain(program: str, flags: tuple[str, ...] = ()) -> None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "main.py").write_text(program)
        subprocess.run([sys.executable, *flags, "main.py"], cwd=d, capture_output=True, check=True)


def timed(fn, runs: int, workers: int) -> float:
    start = time.perf_counter()
    fn(runs, workers)
    return runs / (time.perf_counter() - start)


HELLO = {
    "python": "print('hi', 6 * 7)",
    "javascript": "console.log('hi', 6 * 7);",
    "lua": "print('hi ' .. 6 * 7)",
    "ocaml": 'let () = Printf.printf "hi %d\\n" (6 * 7)',
    "r": 'cat("hi", 6 * 7, "\\n")',
    "racket": '#lang racket\n(printf "hi ~a\\n" (* 6 7))',
    "java": 'public class Main { public static void main(String[] a) { System.out.println("hi " + 6 * 7); } }',
    "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("hi", 6*7) }',
    "cpp": '#include <cstdio>\nint main() { std::printf("hi %d\\n", 6 * 7); }',
    "rust": 'fn main() { println!("hi {}", 6 * 7); }',
    "julia": 'println("hi ", 6 * 7)',
}
CLAMP_TESTS = ["assert clamp(5, 0, 10) == 5", "assert clamp(-1, 0, 10) == 0", "assert clamp(11, 0, 10) == 10"]
CLAMP = {
    "python": "def clamp(x, lo, hi):\n    return lo if x < lo else hi if x > hi else x",
    "javascript": "function clamp(x, lo, hi) { return x < lo ? lo : x > hi ? hi : x; }",
    "lua": "function clamp(x, lo, hi) if x < lo then return lo elseif x > hi then return hi end return x end",
    "ocaml": "let clamp x lo hi = if x < lo then lo else if x > hi then hi else x",
    "r": "clamp <- function(x, lo, hi) if (x < lo) lo else if (x > hi) hi else x",
    "racket": "(define (clamp x lo hi) (cond [(< x lo) lo] [(> x hi) hi] [else x]))",
}
# Compiled languages: a main with three checks (a failed one exits non-zero) and then the end mark.
CLAMP_MAIN = {
    "java": (
        "public class Main {\n  static int clamp(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }\n"
        "  public static void main(String[] a) {\n"
        "    if (clamp(5, 0, 10) != 5 || clamp(-1, 0, 10) != 0 || clamp(11, 0, 10) != 10) System.exit(1);\n"
        "    {mark}\n  }\n}"
    ),
    "go": (
        'package main\nimport ("fmt"; "os")\nfunc clamp(x, lo, hi int) int {\n if x < lo { return lo }\n'
        " if x > hi { return hi }\n return x\n}\nfunc main() {\n"
        " if clamp(5, 0, 10) != 5 || clamp(-1, 0, 10) != 0 || clamp(11, 0, 10) != 10 { os.Exit(1) }\n {mark}\n}"
    ),
    "cpp": (
        "#include <iostream>\n#include <cstdlib>\n"
        "int clamp(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }\n"
        "int main() {\n  if (clamp(5, 0, 10) != 5 || clamp(-1, 0, 10) != 0 || clamp(11, 0, 10) != 10) std::exit(1);\n"
        "  {mark}\n}"
    ),
    "rust": (
        "fn clamp(x: i64, lo: i64, hi: i64) -> i64 { if x < lo { lo } else if x > hi { hi } else { x } }\n"
        "fn main() {\n  assert_eq!(clamp(5, 0, 10), 5);\n  assert_eq!(clamp(-1, 0, 10), 0);\n"
        "  assert_eq!(clamp(11, 0, 10), 10);\n  {mark}\n}"
    ),
}


def test_program(language: str) -> tuple[str, str]:
    """(program, token) for the small test program of ``language``."""
    token = new_token()
    if language in CLAMP:
        tests = CLAMP_TESTS if language == "python" else translate_tests(CLAMP_TESTS, "clamp", language)
        return build_test_program(CLAMP[language], tests, language, token), token
    return CLAMP_MAIN[language].replace("{mark}", mark_statement(language, token)), token


def plain_run(language: str, program: str) -> None:
    """The language's own compile and run commands as plain subprocesses in a temp dir: no limits, no isolation."""
    lang = get_language(language)
    with tempfile.TemporaryDirectory() as d:
        Path(d, lang.file_name).write_text(program)
        env = {**os.environ, "PATH": SANDBOX_PATH, "HOME": d, "TMPDIR": d, **dict(lang.env)}
        for step in filter(None, (lang.compile, lang.run)):
            subprocess.run(lang.argv(step), cwd=d, env=env, capture_output=True, check=True)


def per_language(runs: int, workers: int) -> None:
    limits = Limits(timeout_s=60)
    print(f"\nper language: {runs} runs of each program, {workers} workers, all limits on ({limits})")
    print(
        f"{'language':<11}{'trivial/s':>10}{'compile ms':>11}{'run ms':>8}{'plain/s':>9}{'vs plain':>9}"
        f"{'tests/s':>9}{'vs python':>10}  version"
    )
    python_rate = None
    for language, lang in LANGUAGES.items():
        version = lang.runtime_version()
        if lang.runtime_path() is None:
            print(f"{language:<11}{'-':>10}{'':>11}{'':>8}{'':>9}{'':>9}{'':>9}{'':>10}  not installed")
            continue
        start = time.perf_counter()
        trivial = execute_many([(HELLO[language], language)] * runs, limits, workers)
        trivial_rate = runs / (time.perf_counter() - start)
        assert all(r.status == "pass" for r in trivial), {r.status + r.stderr[-300:] for r in trivial}
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(plain_run, [language] * runs, [HELLO[language]] * runs))
        plain_rate = runs / (time.perf_counter() - start)
        programs = [test_program(language) for _ in range(runs)]
        start = time.perf_counter()
        tested = execute_many([(p, language) for p, _ in programs], limits, workers)
        tests_rate = runs / (time.perf_counter() - start)
        verdicts = [read_verdict(r, t).status for r, (_, t) in zip(tested, programs, strict=True)]
        assert all(v == "pass" for v in verdicts), (verdicts, tested[0].stderr[-500:])
        python_rate = python_rate or tests_rate
        compile_ms = 1000 * sum(r.compile_s for r in tested) / runs
        run_ms = 1000 * sum(r.duration_s for r in tested) / runs
        print(
            f"{language:<11}{trivial_rate:10.1f}{compile_ms if lang.compile else 0:11.0f}{run_ms:8.0f}"
            f"{plain_rate:9.1f}{trivial_rate / plain_rate:8.2f}x{tests_rate:9.1f}{tests_rate / python_rate:9.2f}x"
            f"  {version}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lang-runs", type=int, default=20, help="runs of each program per language")
    ap.add_argument("--only-languages", action="store_true", help="skip the Python isolation-layer table")
    args = ap.parse_args()
    if args.only_languages:
        per_language(args.lang_runs, args.workers)
        return
    jobs = [(PROGRAM, "python")] * args.runs

    def run_plain(n: int, w: int) -> None:
        with ThreadPoolExecutor(w) as pool:
            list(pool.map(plain, [PROGRAM] * n))

    def run_plain_s(n: int, w: int) -> None:
        with ThreadPoolExecutor(w) as pool:
            list(pool.map(lambda p: plain(p, ("-S",)), [PROGRAM] * n))

    def run_sandbox(network: bool, mode: str):
        def go(n: int, w: int) -> None:
            sandbox.isolation = lambda: mode  # the probe's answer, forced for this row
            results = execute_many(jobs[:n], Limits(network=network), w)
            assert all(r.status == "pass" for r in results), {r.status + r.stderr[-200:] for r in results}

        return go

    real = sandbox.isolation()
    rows = [("plain subprocess", run_plain), ("plain, python -S", run_plain_s)]
    rows.append(("rlimits mode", run_sandbox(False, "rlimits")))
    if real == "namespace":
        rows += [("namespaces, net on", run_sandbox(True, "namespace")), ("full sandbox", run_sandbox(False, real))]
    timed(run_plain, 10, args.workers)  # warm the page cache
    print(f"{args.runs} runs, {args.workers} workers, {os.cpu_count()} cores, isolation probe: {real}")
    print(f"{'mode':<22}{'runs/s':>8}{'ms/run':>8}{'vs plain':>10}")
    base = None
    for name, fn in rows:
        rate = timed(fn, args.runs, args.workers)
        base = base or rate
        print(f"{name:<22}{rate:8.1f}{1000 * args.workers / rate:8.1f}{rate / base:10.2f}x")
    sandbox.isolation = lambda: real
    per_language(args.lang_runs, args.workers)


if __name__ == "__main__":
    main()
