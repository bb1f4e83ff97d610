"""The language table: names and aliases, every adapter running real programs, version probes, and the
`codecurate languages` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO
from runtimes import INSTALLABLE, require_runtime

from codecurate.errors import UserError
from codecurate.execute.languages import LANGUAGES, canonical_name, get_language
from codecurate.execute.sandbox import Limits, execute_many

# One program per language that prints "hi 42" (computed, so a constant-folding typo cannot pass), and one that
# does not build or run (a syntax or type error).
HELLO = {
    "python": ("print('hi', 6 * 7)", "def f(:"),
    "javascript": ("console.log('hi', 6 * 7);", "function ("),
    "lua": ("print('hi ' .. 6 * 7)", "print('hi' +)"),
    "ocaml": ('let () = Printf.printf "hi %d\\n" (6 * 7)', "let () = print_endline (6 * 7)"),
    "r": ('cat("hi", 6 * 7, "\\n")', "cat(("),
    "racket": ('#lang racket\n(printf "hi ~a\\n" (* 6 7))', '#lang racket\n(printf "hi" '),
    "java": (
        'public class Main { public static void main(String[] a) { System.out.println("hi " + 6 * 7); } }',
        'public class Main { public static void main(String[] a) { int x = "s"; } }',
    ),
    "go": ('package main\nimport "fmt"\nfunc main() { fmt.Println("hi", 6*7) }', "package main\nfunc main() { x := }"),
    "cpp": ('#include <cstdio>\nint main() { std::printf("hi %d\\n", 6 * 7); }', "int main() { return x; }"),
    "rust": ('fn main() { println!("hi {}", 6 * 7); }', 'fn main() { let x: i32 = "s"; }'),
}
LIMITS = Limits(timeout_s=30)


def test_canonical_names_and_aliases():
    assert list(LANGUAGES) == [*INSTALLABLE, "julia"]
    aliases = {"py": "python", "js": "javascript", "node": "javascript", "ml": "ocaml", "R": "r", "rkt": "racket",
               "rs": "rust", "c++": "cpp", "jl": "julia", "go": "go", "golang": "go", " Python ": "python"}  # fmt: skip
    assert {alias: canonical_name(alias) for alias in aliases} == aliases
    with pytest.raises(UserError, match="unknown language 'cobol'"):
        canonical_name("cobol")


def test_every_adapter_runs_a_program_and_reports_a_broken_one():
    for language in INSTALLABLE:
        require_runtime(language)
    jobs = [(program, language) for language in INSTALLABLE for program in HELLO[language]]
    results = iter(execute_many(jobs, LIMITS, workers=2))
    for language in INSTALLABLE:
        ok, broken = next(results), next(results)
        assert ok.status == "pass" and ok.stdout.split() == ["hi", "42"], (language, ok)
        assert broken.status == "fail", (language, broken)
        if get_language(language).compile:
            assert broken.detail == "compile error", (language, broken)  # the compile step failed, not the run


def test_compiled_languages_compile_once_then_run_the_binary():
    """The compile step's output (a binary, or Main.class) is what the run step executes."""
    for language in ("java", "go", "cpp", "rust"):
        lang = get_language(language)
        assert lang.compile and "{file}" in lang.compile and "{file}" not in lang.run


def test_julia_is_listed_and_skips_with_the_reason_when_missing():
    julia = get_language("jl")
    result = execute_many([('println("hi")', "julia")], LIMITS)[0]
    if julia.runtime_path() is None:
        assert result.status == "skipped"
        assert "julia" in result.detail and "no Debian package" in result.detail
    else:  # someone installed it: the entry needs no change to run it
        assert result.status == "pass" and result.stdout == "hi\n"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "codecurate", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_languages_command_reports_real_runtime_versions():
    for language in INSTALLABLE:
        require_runtime(language)
    proc = _cli("languages", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["language"]: row for row in map(json.loads, proc.stdout.splitlines())}
    assert list(rows) == list(LANGUAGES)
    # Each version as the runtime itself prints it, asked here independently of the probe.
    own = {
        "python": [sys.executable, "--version"], "javascript": ["node", "--version"], "lua": ["lua5.4", "-v"],
        "ocaml": ["ocaml", "-vnum"], "r": ["Rscript", "--version"], "racket": ["racket", "--version"],
        "java": ["javac", "-version"], "go": ["go", "version"], "cpp": ["g++", "-dumpfullversion"],
        "rust": ["rustc", "--version"],
    }  # fmt: skip
    for language, argv in own.items():
        row = rows[language]
        argv = [row["path"], *argv[1:]]
        printed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert row["version"] and row["version"] in printed.stdout + printed.stderr, (language, row)
        assert row["detail"] == "ok" and row["compiled"] == (language in ("java", "go", "cpp", "rust"))
    julia = rows["julia"]
    if julia["path"] is None:
        assert julia["version"] is None and "no Debian package" in julia["detail"]
    table = _cli("languages")
    assert table.returncode == 0
    assert re.search(r"^ocaml\s+ml\s+\d+\.\d+", table.stdout, re.M)
    assert "sandbox isolation:" in table.stdout
    assert "languages" in _cli("--help").stdout


def _toolchains(env: dict[str, str], as_nobody: bool = False) -> subprocess.CompletedProcess:
    argv = ["/bin/bash", str(REPO / ".ci" / "toolchains")]
    if as_nobody:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_make_toolchains_installs_only_what_is_missing_and_says_what_to_do_otherwise(tmp_path):
    """Never installs anything here: runtimes present is a no-op; missing ones without root or apt-get give the
    command to run instead (TOOLCHAINS_PATH points the presence check at an empty dir)."""
    for language in INSTALLABLE:
        require_runtime(language)
    present = _toolchains({"PATH": os.environ["PATH"]})
    assert present.returncode == 0 and "every runtime is installed" in present.stdout, present
    no_apt = _toolchains({"PATH": str(tmp_path), "TOOLCHAINS_PATH": str(tmp_path)})
    assert no_apt.returncode == 1 and "not a Debian/Ubuntu system" in no_apt.stderr
    assert "missing nodejs lua5.4 lua-unit ocaml-nox r-base-core racket openjdk-17-jdk-headless" in no_apt.stderr
    if os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("apt-get"):
        not_root = _toolchains({"PATH": "/usr/bin:/bin", "TOOLCHAINS_PATH": str(tmp_path)}, as_nobody=True)
        assert not_root.returncode == 1 and "sudo make toolchains" in not_root.stderr, not_root
