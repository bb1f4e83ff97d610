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
}
_HEAD: dict[str, str] = {"python": "__passed = 0\n", "javascript": "let __passed = 0;\n", "lua": "local __passed = 0\n"}
_TAIL: dict[str, str] = {
    "python": (
        "print('\\n{mark} ' + str(__passed) + '/{n}', flush=True)\nraise SystemExit(0 if __passed == {n} else 1)\n"
    ),
    "javascript": "console.log('\\n{mark} ' + __passed + '/{n}');\nprocess.exit(__passed === {n} ? 0 : 1);\n",
    "lua": "print('\\n{mark} ' .. __passed .. '/{n}')\nos.exit(__passed == {n} and 0 or 1)\n",
}
# Helpers a test file needs before its assertions (Lua has no deep equality of tables).
PRELUDES: dict[str, str] = {
    "lua": """local function deep_equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k, _ in pairs(b) do if a[k] == nil then return false end end
  return true
end
""",
}
# The bare end mark appended after a benchmark's own tests (MultiPL-E, HumanEval, ...).
_END: dict[str, str] = {
    "python": "print('\\n{mark}', flush=True)\n",
    "javascript": "console.log('\\n{mark}');\n",
    "lua": "print('\\n{mark}')\n",
}


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
    return f"{PRELUDES.get(language, '')}{code}\n\n\n{_HEAD[language]}{body}{tail}"


def end_mark(language: str, token: str) -> str:
    """A statement that prints the bare end mark: appended after a benchmark's tests, it runs only if they did."""
    language = canonical_name(language)
    if language not in _END:
        raise ValueError(f"no end mark for {language}")
    return _END[language].format(mark=mark_line(token))


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
