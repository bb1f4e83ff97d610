"""MultiPL-E and HumanEvalPack scored by the execute package's runners, in every language with a runtime here.

MultiPL-E has no reference solutions: per language, hand-written correct answers must pass, a wrong one must fail,
and one that exits with status 0 before the tests ran must fail (the pass mark comes only after the tests).
HumanEvalPack's canonical solutions in all six languages: test_humanevalpack_canonical.py.
"""

from __future__ import annotations

import pytest

from codecurate.errors import UserError
from codecurate.eval import benchmarks
from codecurate.eval.harness import EvalConfig, evaluate_completions, run

# code -> {problem: completion after the prompt}; "wrong" answers `add` wrongly, "exit0" exits 0 inside `add`.
ANSWERS: dict[str, dict[str, str]] = {
    "js": {
        "HumanEval_53_add": "  return x + y;\n}\n",
        "HumanEval_23_strlen": "  return string.length;\n}\n",
        "HumanEval_13_greatest_common_divisor": "  while (b !== 0) { [a, b] = [b, a % b]; }\n  return a;\n}\n",
        "wrong": "  return x - y;\n}\n",
        "exit0": "  process.exit(0);\n}\n",
    },
    "lua": {
        "HumanEval_53_add": "    return x + y\nend\n",
        "HumanEval_23_strlen": "    return #string\nend\n",
        "HumanEval_13_greatest_common_divisor": "    while b ~= 0 do a, b = b, a % b end\n    return a\nend\n",
        "wrong": "    return x - y\nend\n",
        "exit0": "    os.exit(0)\nend\n",
    },
    "r": {
        "HumanEval_53_add": "  x + y\n}\n",
        "HumanEval_23_strlen": "  nchar(string)\n}\n",
        "HumanEval_13_greatest_common_divisor": "  while (b != 0) { t <- b; b <- a %% b; a <- t }\n  a\n}\n",
        "wrong": "  x - y\n}\n",
        "exit0": "  quit(status = 0)\n}\n",
    },
    "rkt": {
        "HumanEval_53_add": "  (+ x y))\n",
        "HumanEval_23_strlen": "  (string-length string))\n",
        "HumanEval_13_greatest_common_divisor": "  (if (= b 0) a (greatest_common_divisor b (modulo a b))))\n",
        "wrong": "  (- x y))\n",
        "exit0": "  (exit 0))\n",
    },
    "java": {
        "HumanEval_53_add": "        return x + y;\n    }\n",
        "HumanEval_23_strlen": "        return string.length();\n    }\n",
        "HumanEval_13_greatest_common_divisor": (
            "        while (b != 0) { long t = b; b = a % b; a = t; }\n        return a;\n    }\n"
        ),
        # uses javatuples' Pair, which the runner provides
        "HumanEval_107_even_odd_palindrome": (
            "        long e = 0, o = 0;\n        for (long i = 1; i <= n; i++) {\n"
            "            String s = Long.toString(i);\n"
            "            if (s.equals(new StringBuilder(s).reverse().toString())) { if (i % 2 == 0) e++; else o++; }\n"
            "        }\n        return Pair.with(e, o);\n    }\n"
        ),
        "wrong": "        return x - y;\n    }\n",
        "exit0": "        System.exit(0);\n        return 0;\n    }\n",
    },
    "go": {
        "HumanEval_53_add": "\treturn x + y\n}\n",
        "HumanEval_23_strlen": "\treturn len(myString)\n}\n",
        "HumanEval_13_greatest_common_divisor": "\tfor b != 0 {\n\t\ta, b = b, a%b\n\t}\n\treturn a\n}\n",
        "wrong": "\treturn x - y\n}\n",
        # a whole file (the answer may bring its own imports): os.Exit(0) inside add
        "exit0": (
            'package add_test\n\nimport (\n    "os"\n    "testing"\n    "fmt"\n)\n\n'
            "func add(x int, y int) int {\n\tos.Exit(0)\n\treturn 0\n}\n"
        ),
    },
    "cpp": {
        "HumanEval_53_add": "    return x + y;\n}\n",
        "HumanEval_23_strlen": "    return string.size();\n}\n",
        # MultiPL-E completion style: the tests bring the closing brace
        "HumanEval_13_greatest_common_divisor": "    while (b != 0) { long t = b; b = a % b; a = t; }\n    return a;\n",
        "wrong": "    return x - y;\n}\n",
        "exit0": "    exit(0);\n}\n",
    },
    "rs": {
        "HumanEval_53_add": "    x + y\n}\n",
        "HumanEval_23_strlen": "    string.len() as isize\n}\n",
        "HumanEval_13_greatest_common_divisor": (
            "    let (mut a, mut b) = (a, b);\n    while b != 0 { let t = b; b = a % b; a = t; }\n    a\n}\n"
        ),
        "wrong": "    x - y\n}\n",
        "exit0": "    std::process::exit(0)\n}\n",
    },
}


def _judge(code: str, docs: list[dict], answers: dict[str, str]) -> dict[str, str]:
    """label -> status, all answers judged in one parallel batch."""
    bench = benchmarks.get(f"multipl-e:{code}")
    assert bench.unavailable() is None, bench.unavailable()  # CI installs every runtime: never a silent skip
    by_name = {d["task_id"]: d for d in docs}
    tasks = {label: label if label in by_name else "HumanEval_53_add" for label in answers}
    completions: dict[str, list[str]] = {}
    slots = {}
    for label, task in tasks.items():
        slots[label] = (task, len(completions.setdefault(task, [])))
        completions[task].append(answers[label])
    chosen = [by_name[t] for t in dict.fromkeys(tasks.values())]
    results = {(r["task_id"], r["sample"]): r["status"] for r in evaluate_completions(bench, chosen, completions, 30)}
    return {label: results[slot] for label, slot in slots.items()}


@pytest.mark.parametrize("code", sorted(ANSWERS))
def test_multiple_hand_written_answers(code):
    docs = benchmarks.get(f"multipl-e:{code}").load()  # bundled data, no --data-dir
    results = _judge(code, docs, ANSWERS[code])
    right = {k: v for k, v in results.items() if k not in ("wrong", "exit0")}
    assert len(right) >= 3 and set(right.values()) == {"pass"}, results
    assert results["wrong"] in ("fail", "crash"), results  # a failed C assert aborts: "crash"
    assert results["exit0"] == "fail", results  # exited 0, but before the tests: no mark


# MultiPL-E's OCaml and Python files are not bundled (DeepSeek-Coder's copy has neither), so these records are
# written here in MultiPL-E's shape for those languages: prompt ending at the signature, tests that raise.
ML_DOC = {
    "name": "HumanEval_53_add",
    "prompt": "(**Add two numbers x and y\n * >>> add 2 3\n * 5\n*)\nlet add (x : int) (y : int) : int =",
    "tests": "\nlet assertions =\n  assert (5 = add 2 3);\n  assert (12 = add 5 7);\n  assert (0 = add 0 0);\n  ()\n",
}
PY_DOC = {
    "name": "HumanEval_53_add",
    "prompt": 'def add(x: int, y: int) -> int:\n    """Add two numbers x and y"""\n',
    "tests": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(5, 7) == 12\n\n"
    "def test_check():\n    check(add)\n\ntest_check()\n",
}


@pytest.mark.parametrize(
    ("code", "doc", "right", "wrong", "exit0"),
    [
        ("ml", ML_DOC, "\n  x + y\n", "\n  x - y\n", "\n  exit 0\n"),
        ("py", PY_DOC, "    return x + y\n", "    return x - y\n", "    import os\n    os._exit(0)\n"),
    ],
)
def test_multiple_unbundled_languages_run(code, doc, right, wrong, exit0):
    bench = benchmarks.get(f"multipl-e:{code}")
    assert bench.unavailable() is None, bench.unavailable()
    docs = [dict(doc, task_id=doc["name"], _lang=code)]
    results = evaluate_completions(bench, docs, {doc["name"]: [right, wrong, exit0]}, timeout=30)
    assert [r["status"] for r in results] == ["pass", "fail", "fail"], results


def test_multiple_language_without_runner_is_skipped_not_scored(tmp_path):
    cfg = EvalConfig(model="m", benchmarks=["multipl-e:php"], output=str(tmp_path), limit=2, ks=[1])
    from codecurate.llm.base import FunctionBackend

    summary = run(cfg, backend=FunctionBackend(lambda m: pytest.fail("must not generate"), name="x"))
    assert summary["multipl-e:php"]["statuses"] == {"skipped": 2}


def test_canonical_backend_without_references_is_a_user_error(tmp_path):
    cfg = EvalConfig(backend="canonical", benchmarks=["multipl-e:js"], output=str(tmp_path), limit=2, ks=[1])
    with pytest.raises(UserError, match="no reference solutions"):
        run(cfg)


def test_canonical_backend_without_references_is_one_line_on_the_cli(tmp_path):
    import subprocess
    import sys

    argv = [sys.executable, "-m", "codecurate", "eval", "--backend", "canonical", "--benchmarks", "multipl-e:js"]
    proc = subprocess.run([*argv, "-o", str(tmp_path / "o"), "--limit", "1"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "no reference solutions" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr


def test_cpp_tests_main_that_returns_failure_keeps_its_status():
    """A C++ test main may report failure by its return value instead of assert: the wrapper must not turn that
    into a pass by printing the mark and returning 0."""
    from runtimes import require_runtime

    from codecurate.eval.benchmarks.marks import cpp_wrap_main
    from codecurate.execute.harness import new_token, read_verdict
    from codecurate.execute.sandbox import Limits, execute

    require_runtime("cpp")
    verdicts = {}
    for name, ret in (("ok", "0"), ("failed", "1")):
        token = new_token()
        program = "#include <iostream>\nint main() {\n    return " + ret + ";\n}\n"
        verdicts[name] = read_verdict(execute(cpp_wrap_main(program, token), "cpp", Limits(timeout_s=60)), token).status
    assert verdicts == {"ok": "pass", "failed": "fail"}
