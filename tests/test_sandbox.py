"""The sandbox's statuses, languages and output handling (hostile programs are in test_sandbox_hostile.py)."""

from __future__ import annotations

import pytest
from runtimes import require_runtime

from codecurate.errors import UserError
from codecurate.execute import languages, sandbox
from codecurate.execute.sandbox import Limits, execute, execute_many

FAST = Limits(timeout_s=5)


@pytest.mark.parametrize(
    "program, status, exit_code",
    [
        ("assert sum([1, 2]) == 3", "pass", 0),
        ("assert 1 == 2", "fail", 1),
        ("def f(:\n  pass", "fail", 1),  # a syntax error is a failed program, not a sandbox problem
        ("exit(0)", "pass", 0),  # site's exit() still exists under -S
        ("import sys; sys.exit(3)", "fail", 3),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "crash", None),
        ("x = bytearray(2 * 1024**3)", "memory", 1),
    ],
)
def test_python_statuses(program, status, exit_code):
    result = execute(program, "python", FAST)
    assert result.status == status, result
    if exit_code is not None:
        assert result.exit_code == exit_code


def test_crash_names_the_signal():
    result = execute("import os, signal; os.kill(os.getpid(), signal.SIGABRT)", "python", FAST)
    assert result.status == "crash" and "SIGABRT" in result.detail


def test_timeout_is_reported_and_bounded():
    result = execute("while True: pass", "python", Limits(timeout_s=0.5))
    assert result.status == "timeout" and result.exit_code is None
    assert 0.5 <= result.duration_s < 3


def test_stdout_stderr_captured_and_truncated():
    result = execute("import sys; print('out'); print('err', file=sys.stderr)", "python", FAST)
    assert (result.stdout, result.stderr) == ("out\n", "err\n")
    big = execute("print('x' * 5000)", "python", Limits(timeout_s=5, max_output_bytes=6000))
    assert big.status == "pass" and len(big.stdout) == 5001
    over = execute("print('x' * 5000)", "python", Limits(timeout_s=5, max_output_bytes=1000))
    assert over.status == "fail" and over.stdout.startswith("x" * 1000) and "truncated" in over.stdout


def test_environment_is_scrubbed_and_home_is_private():
    result = execute("import os; print(os.environ['HOME'] == os.getcwd(), 'VIRTUAL_ENV' in os.environ)", "py", FAST)
    assert result.stdout.split() == ["True", "False"]


def test_extra_files_sit_beside_the_program():
    result = execute("import helper; assert helper.VALUE == 7", "python", FAST, files={"helper.py": "VALUE = 7"})
    assert result.status == "pass", result
    with pytest.raises(ValueError):
        execute("", "python", FAST, files={"../escape.py": ""})


def test_javascript_and_lua():
    assert (
        execute("const a = require('assert'); a.deepStrictEqual([1, 2], [1, 2]);", "javascript", FAST).status == "pass"
    )
    assert execute("require('assert').strictEqual(1, 2);", "js", FAST).status == "fail"
    require_runtime("lua")
    assert execute("assert(1 + 1 == 2)", "lua", FAST).status == "pass"
    assert execute("assert(1 + 1 == 3)", "lua", FAST).status == "fail"


def test_missing_runtime_is_skipped_and_unknown_language_is_an_error(monkeypatch):
    fake = languages.Language("cobol", "main.cob", ("no-such-runtime-xyz", "{file}"), "no-such-runtime-xyz")
    monkeypatch.setitem(languages.LANGUAGES, "cobol", fake)
    result = execute("DISPLAY 'HI'.", "cobol", FAST)
    assert result.status == "skipped" and "no-such-runtime-xyz" in result.detail
    with pytest.raises(UserError, match="unknown language"):
        execute("", "brainfuck")


def test_execute_many_keeps_order():
    jobs = [(f"import sys; print({i}); sys.exit({i % 2})", "python") for i in range(6)]
    results = execute_many(jobs, FAST, workers=2)
    assert [r.stdout.strip() for r in results] == [str(i) for i in range(6)]
    assert [r.status for r in results] == ["pass", "fail"] * 3
    assert execute_many([], FAST) == []


def test_rlimits_fallback_still_blocks_python_sockets(monkeypatch):
    monkeypatch.setattr(sandbox, "isolation", lambda: "rlimits")
    assert execute("print(1)", "python", FAST).status == "pass"
    result = execute("import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)", "python", FAST)
    assert result.status == "fail" and "network disabled" in result.stderr


def test_runtimes_that_reserve_address_space_still_run_under_a_small_memory_limit():
    """node, the JVM and the Go runtime reserve hundreds of MB of address space at start: their adapters add it to
    RLIMIT_AS (extra_as_mb) and cap the heap at memory_mb instead, so a 256 MB limit still runs them."""
    programs = {
        "javascript": "console.log(process.execArgv.join(' '));",
        "java": "public class Main { public static void main(String[] a) { "
        "System.out.println(Runtime.getRuntime().maxMemory() >> 20); } }",
        "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("ok") }',
    }  # fmt: skip
    for language in programs:
        require_runtime(language)
    jobs = [(program, language) for language, program in programs.items()]
    results = dict(zip(programs, execute_many(jobs, Limits(timeout_s=60, memory_mb=256)), strict=True))
    assert {lang: r.status for lang, r in results.items()} == dict.fromkeys(programs, "pass"), results
    assert results["javascript"].stdout.strip() == "--max-old-space-size=256"
    assert int(results["java"].stdout) <= 256  # the heap cap is memory_mb


def test_compile_step_has_its_own_clock():
    """A compile slower than the run's wall limit still runs; the compile step's own limit stops a slow compile."""
    require_runtime("cpp")
    program = "#include <bits/stdc++.h>\nint main() { std::cout << std::gcd(12, 18) << std::endl; }"
    result = execute(program, "cpp", Limits(timeout_s=0.5, compile_timeout_s=120))
    assert result.status == "pass" and result.stdout == "6\n", result
    assert result.compile_s > 0 and result.duration_s < 0.5
    slow = execute(program, "cpp", Limits(timeout_s=30, compile_timeout_s=0.05))
    assert slow.status == "timeout" and slow.detail.startswith("compile:"), slow
