"""End marks for benchmark programs: the run's token is printed only after the benchmark's own tests completed.

A benchmark's tests decide pass or fail by exiting non-zero (an uncaught assertion, a failed check); code that
exits 0 early (``sys.exit(0)``, ``System.exit(0)``, ``os.Exit(0)``, ``std::exit(0)``, ``process::exit(0)``) must
not pass, so every program we build ends with ``mark_line(token)`` printed after the last test, and the verdict
comes from ``read_verdict``. Interpreted languages append ``end_mark`` after the tests; compiled ones wrap the
tests' own entry point here (Java: a ``Main`` that calls the tests' ``main``; C++: the tests' ``main`` renamed
and called; Go and Rust: the test functions called from a generated ``main``).
"""

from __future__ import annotations

import json
import re

from codecurate.execute.harness import end_mark, mark_line


def append_end_mark(program: str, language: str, token: str) -> str:
    """``program`` (tests at its end, run top to bottom) followed by the statement printing the mark."""
    return f"{program.rstrip()}\n\n{end_mark(language, token)}"


def _java_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Java string literal for ASCII text


def java_runner(tests_class: str, token: str) -> str:
    """A ``public class Main`` that runs ``tests_class.main`` and then prints the mark (an exception, a failed
    assertion or ``System.exit`` in the code under test means it is never printed)."""
    mark = _java_string("\n" + mark_line(token))
    return (
        "\npublic class Main {\n    public static void main(String[] args) throws Throwable {\n"
        f"        {tests_class}.main(args);\n        System.out.println({mark});\n        System.out.flush();\n"
        "    }\n}\n"
    )


_CPP_MAIN = re.compile(r"\bint\s+main\s*\(")


def cpp_wrap_main(tests: str, token: str) -> str:
    """The tests with their ``int main(`` renamed, then a ``main`` that calls it and prints the mark.

    ``assert`` aborts on failure and ``exit`` ends the process without returning, so the mark is printed only when
    the tests' main returned, and returned 0: a main that reports failure by its return value keeps that status.
    A main without a ``return`` (both benchmarks' tests: only ``main`` may fall off its end) becomes a ``void``
    function, so nothing reads a value it never returned. (``#undef NDEBUG`` in the tests keeps ``assert`` on.)
    """
    m = _CPP_MAIN.search(tests)
    if m is None:
        raise ValueError("C++ tests without an `int main(`")
    returns = re.search(r"\breturn\b", tests[m.end() :]) is not None
    head = "int" if returns else "void"
    renamed = f"{tests[: m.start()]}{head} codecurate_tests_main({tests[m.end() :]}"
    call = "    codecurate_tests_main();\n"
    if returns:
        call = "    int rc = codecurate_tests_main();\n    if (rc != 0) return rc;\n"
    mark = json.dumps("\n" + mark_line(token) + "\n")
    return (
        f"{renamed}\n\n#include <cstdio>\nint main() {{\n{call}"
        f"    std::fputs({mark}, stdout);\n    std::fflush(stdout);\n    return 0;\n}}\n"
    )


def rust_wrap_main(tests: str, token: str) -> str:
    """Tests that hold ``fn main() { ... assert_eq!(...) }`` (MultiPL-E): that main renamed, and a new one that
    calls it and prints the mark (a failed assertion panics first)."""
    renamed, n = re.subn(r"\bfn\s+main\s*\(\s*\)", "fn codecurate_tests_main()", tests, count=1)
    if n != 1:
        raise ValueError("Rust tests without a `fn main()`")
    mark = json.dumps("\n" + mark_line(token))
    return f"{renamed}\n\nfn main() {{\n    codecurate_tests_main();\n    println!({mark});\n}}\n"


_RUST_TEST_FN = re.compile(r"#\[test\](?:\s|//[^\n]*\n)*fn\s+(\w+)\s*\(")  # a comment may sit between


def rust_tests_main(tests: str, token: str) -> str:
    """``#[cfg(test)] mod tests { #[test] fn t() ... }`` made callable (the attributes dropped, the functions
    ``pub``), then a ``main`` that calls every test function and prints the mark. A failing ``assert!`` panics,
    which exits 101 before the mark."""
    names = _RUST_TEST_FN.findall(tests)
    if not names:
        raise ValueError("Rust tests without a #[test] function")
    body = _RUST_TEST_FN.sub(lambda m: f"pub fn {m.group(1)}(", tests).replace("#[cfg(test)]", "")
    module = re.search(r"\bmod\s+(\w+)\s*\{", body)
    prefix = f"{module.group(1)}::" if module else ""
    calls = "".join(f"    {prefix}{n}();\n" for n in names)
    mark = json.dumps("\n" + mark_line(token))
    return f"{body}\n\nfn main() {{\n{calls}    println!({mark});\n}}\n"


# Go: benchmark tests are `go test` functions (TestX(t *testing.T)). The sandbox builds one file with `go build`
# and has no module proxy, so `testing` is replaced by a minimal T with what the tests call (Run, Errorf, Fatalf,
# ...), and testify's `assert.New(t).Equal` (HumanEvalPack) by a shim with the same equality (reflect.DeepEqual,
# bytes for []byte). The package-level `assert` value makes `assert := assert.New(t)` resolve as with testify.
_GO_SHIM = """
type codecurateT struct{ failed bool }

func (t *codecurateT) Errorf(format string, args ...interface{}) {
\tcodecurateFmt.Fprintf(codecurateOs.Stderr, format+"\\n", args...)
\tt.failed = true
}
func (t *codecurateT) Error(args ...interface{}) {
	codecurateFmt.Fprintln(codecurateOs.Stderr, args...)
	t.failed = true
}
func (t *codecurateT) Fatalf(format string, args ...interface{}) { t.Errorf(format, args...); panic("test failed") }
func (t *codecurateT) Fatal(args ...interface{})                 { t.Error(args...); panic("test failed") }
func (t *codecurateT) Fail()                                     { t.failed = true }
func (t *codecurateT) FailNow()                                  { t.failed = true; panic("test failed") }
func (t *codecurateT) Failed() bool                              { return t.failed }
func (t *codecurateT) Helper()                                   {}
func (t *codecurateT) Logf(format string, args ...interface{})   {}
func (t *codecurateT) Log(args ...interface{})                   {}
func (t *codecurateT) Run(name string, f func(t *codecurateT)) bool {
\tsub := &codecurateT{}
\tf(sub)
\tif sub.failed {
\t\tt.failed = true
\t}
\treturn !sub.failed
}

type codecurateAssertPkg struct{}
type codecurateAssertions struct{ t *codecurateT }

var assert codecurateAssertPkg

func (codecurateAssertPkg) New(t *codecurateT) *codecurateAssertions { return &codecurateAssertions{t} }
func (a *codecurateAssertions) Equal(expected, actual interface{}, msgAndArgs ...interface{}) bool {
\tequal := codecurateReflect.DeepEqual(expected, actual)
\tif e, ok := expected.([]byte); ok {
\t\tif g, ok := actual.([]byte); ok {
\t\t\tequal = codecurateBytes.Equal(e, g)
\t\t}
\t}
\tif !equal {
\t\ta.t.Errorf("Not equal: expected %#v, actual %#v", expected, actual)
\t}
\treturn equal
}
"""
_GO_IMPORTS = (
    'import (\n\tcodecurateBytes "bytes"\n\tcodecurateFmt "fmt"\n\tcodecurateOs "os"\n'
    '\tcodecurateReflect "reflect"\n)\n'
)
_GO_TEST_FN = re.compile(r"^func\s+(Test\w*)\s*\(\s*t\s+\*testing\.T\s*\)", re.M)
_GO_TESTING_IMPORT = re.compile(r'^[ \t]*"testing"[ \t]*$|^import[ \t]+"testing"[ \t]*$', re.M)


# Standard packages whose import follows use: Go refuses both a missing and an unused import, and HumanEvalPack's
# `import` field does not always list what its code uses (Go/17 uses strings, imports nothing), so, as the
# HumanEval-X/bigcode harnesses do, these are imported exactly when `name.` appears in the code or the tests.
GO_STD_IMPORTS = (
    "bytes", "container/heap", "crypto/md5", "errors", "fmt", "math", "math/big", "math/bits", "math/rand",
    "reflect", "regexp", "sort", "strconv", "strings", "time", "unicode", "unicode/utf8",
)  # fmt: skip
_GO_IMPORT_BLOCK = re.compile(r"^import[ \t]*\((.*?)\)[ \t]*$", re.M | re.S)
_GO_IMPORT_ONE = re.compile(r'^import[ \t]+("[^"]+")[ \t]*$', re.M)


def _go_imports(code: str, tests: str) -> tuple[str, str]:
    """``code`` without its imports of GO_STD_IMPORTS (other imports kept), and one import block with the standard
    packages that ``code`` or ``tests`` use."""
    kept: list[str] = []

    def strip(paths: str) -> None:
        for line in paths.splitlines():
            path = line.strip()
            if path and path.strip('"') not in GO_STD_IMPORTS:
                kept.append(path)

    code = _GO_IMPORT_BLOCK.sub(lambda m: strip(m.group(1)) or "", code)
    code = _GO_IMPORT_ONE.sub(lambda m: strip(m.group(1)) or "", code)
    body = code + "\n" + tests
    used = [p for p in GO_STD_IMPORTS if re.search(rf"(?<![\w.]){re.escape(p.rsplit('/', 1)[-1])}\.\w", body)]
    paths = [f'"{p}"' for p in used] + kept
    return code, ("import (\n" + "".join(f"\t{p}\n" for p in paths) + ")\n") if paths else ""


def go_program(code: str, tests: str, token: str) -> str:
    """One ``package main`` file: ``code`` (its own package clause and ``"testing"`` import dropped, standard
    imports set by use), the tests with ``*testing.T`` as the shim's T, the shim, and a ``main`` that runs each
    TestX and prints the mark only when none failed."""
    names = _GO_TEST_FN.findall(tests)
    if not names:
        raise ValueError("Go tests without a func TestX(t *testing.T)")
    code = re.sub(r"^[ \t]*package[ \t]+\w+[ \t]*$", "", code, flags=re.M)
    code = _GO_TESTING_IMPORT.sub("", code)
    code, imports = _go_imports(code, tests)
    tests = tests.replace("*testing.T", "*codecurateT")
    calls = "".join(f"\t{n}(t)\n" for n in names)
    mark = json.dumps("\n" + mark_line(token))
    main = (
        f"\nfunc main() {{\n\tt := &codecurateT{{}}\n{calls}\tif t.failed {{\n\t\tcodecurateOs.Exit(1)\n\t}}\n"
        f"\tcodecurateFmt.Println({mark})\n}}\n"
    )
    return f"package main\n\n{_GO_IMPORTS}{imports}\n{code}\n\n{tests}\n{_GO_SHIM}{main}"
