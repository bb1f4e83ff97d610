"""LLM-written tests for Python seeds, kept only when they pass and cover the seed (the MultiPL-T recipe).

    seeds, stats = add_seed_tests(seeds, backend, SeedTestConfig(min_coverage=0.9))

1. One batched ``backend.complete`` call asks for ``n_tests`` assertions per seed.
2. Each assertion runs alone against the seed in the sandbox; failing ones are dropped.
3. Line coverage of the seed by the kept assertions is measured with coverage.py, inside the sandbox.
4. Seeds below ``min_coverage`` get ``tests=[]`` (their ``test_coverage`` still says how far they got).
Many mined seeds are methods or need module globals: their assertions fail and are counted, not hidden.
"""

from __future__ import annotations

import ast
import builtins
import json
import logging
from collections import Counter
from dataclasses import dataclass, field

from codecurate.execute.harness import build_test_program, new_token, read_verdict
from codecurate.execute.sandbox import ExecutionResult, Limits, execute_many
from codecurate.generate.backends.base import Backend, Request, SamplingParams
from codecurate.generate.validate import extract_code

log = logging.getLogger(__name__)


@dataclass
class SeedTestConfig:
    n_tests: int = field(default=8, metadata={"help": "Assertions to ask the LLM for, per seed."})
    min_coverage: float = field(
        default=0.9, metadata={"help": "Drop a seed's tests when they cover less of it than this (MultiPL-T: 0.9)."}
    )
    timeout_s: float = field(default=5.0, metadata={"help": "Wall-clock limit per assertion run, in seconds."})
    workers: int | None = field(default=None, metadata={"help": "Parallel sandbox runs (default: CPU count)."})
    max_tokens: int = field(default=512, metadata={"help": "LLM tokens per answer."})
    temperature: float = field(default=0.0, metadata={"help": "LLM sampling temperature (0 = greedy)."})


PROMPT = """Write {n} Python assert statements that test the function below. Each must be one line of the form
`assert {name}(...) == expected` with literal arguments and a literal expected value, and they should together
exercise every branch. Reply with the assert lines only, in one ```python block.

```python
{code}
```"""

# Runs in the sandbox: import the seed as a module under coverage, run each test in its namespace, report
# the seed's line coverage as JSON. data_file=None: nothing is written.
_COVERAGE_PROGRAM = """import json
import coverage
cov = coverage.Coverage(data_file=None, include=["*/seed.py"])
cov.start()
import seed
for test in json.load(open("tests.json")):
    try:
        exec(test, vars(seed))
    except Exception:
        pass
cov.stop()
_, statements, _, missing, _ = cov.analysis2(seed.__file__)
print(json.dumps({"statements": len(statements), "missing": len(missing)}))
"""


def function_name(seed: dict) -> str:
    """The seed's top-level function name: from ``func_name`` (last dotted part) or the code's first def."""
    if seed.get("func_name"):
        return str(seed["func_name"]).split(".")[-1]
    try:
        for node in ast.parse(seed["code"]).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node.name
    except SyntaxError:
        pass
    return ""


def free_names(code: str) -> set[str] | None:
    """Names the seed's first function reads but neither defines nor gets from builtins; None if it won't parse.

    A seed that needs module globals, or is a method (``self``/``cls``), cannot run alone in the sandbox, so
    asking an LLM for its tests only costs time: MultiPL-T likewise keeps self-contained functions.
    """
    try:
        fn = next(n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
    except (SyntaxError, StopIteration):
        return None
    bound = {fn.name, *dir(builtins)}
    loads = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    free = loads - bound
    first = (fn.args.posonlyargs + fn.args.args)[:1]
    if first and first[0].arg in ("self", "cls"):
        free.add(first[0].arg)  # a method: needs its class
    return free


def parse_assertions(text: str, name: str) -> list[str]:
    """Distinct one-line ``assert`` statements that call ``name`` and parse, in answer order."""
    out: list[str] = []
    for line in extract_code(text, "python").splitlines():
        line = line.strip()
        if not line.startswith("assert ") or f"{name}(" not in line or line in out:
            continue
        try:
            ast.parse(line)
        except SyntaxError:
            continue
        out.append(line)
    return out


def coverage_job(code: str, tests: list[str]) -> tuple[str, str, dict[str, str]]:
    """An ``execute_many`` job that measures the line coverage of ``code`` by ``tests``."""
    return _COVERAGE_PROGRAM, "python", {"seed.py": code, "tests.json": json.dumps(tests)}


def read_coverage(result: ExecutionResult) -> float | None:
    """Coverage (0..1) from a ``coverage_job`` run; None if it could not run."""
    if result.status != "pass":
        log.debug("coverage run failed: %s %s", result.status, result.stderr[-300:])
        return None
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return 1.0 if report["statements"] == 0 else 1 - report["missing"] / report["statements"]


def add_seed_tests(seeds: list[dict], backend: Backend, cfg: SeedTestConfig) -> tuple[list[dict], dict]:
    """Seeds with ``tests`` and ``test_coverage`` set, and counts of what happened at each step."""
    stats: Counter = Counter(seeds=len(seeds))
    out = [dict(s) for s in seeds]
    todo = []
    for seed in out:
        seed["tests"], seed["test_coverage"] = [], 0.0
        name = function_name(seed)
        if seed.get("language", "python").lower() != "python":
            stats["skipped_not_python"] += 1
        elif not name:
            stats["skipped_no_function"] += 1
        elif free_names(seed["code"]) != set():
            stats["skipped_not_standalone"] += 1
        else:
            todo.append((seed, name))
    params = SamplingParams(temperature=cfg.temperature, max_tokens=cfg.max_tokens)
    requests = [
        Request([{"role": "user", "content": PROMPT.format(n=cfg.n_tests, name=name, code=seed["code"])}], params)
        for seed, name in todo
    ]
    responses = backend.complete(requests) if requests else []
    candidates = []
    for (seed, name), response in zip(todo, responses, strict=True):
        if response.error:
            stats["llm_errors"] += 1
            continue
        asserts = parse_assertions(response.text, name)
        stats["assertions_generated"] += len(asserts)
        if not asserts:
            stats["no_assertions"] += 1
        candidates += [(seed, a) for a in asserts]
    limits = Limits(timeout_s=cfg.timeout_s)
    # Each assertion in the tokened harness: a seed that exits at import time cannot pass its tests unrun.
    tokens = [new_token() for _ in candidates]
    jobs = [
        (build_test_program(s["code"], [a], "python", t), "python")
        for (s, a), t in zip(candidates, tokens, strict=True)
    ]
    results = execute_many(jobs, limits, cfg.workers)
    for (seed, assertion), result, token in zip(candidates, results, tokens, strict=True):
        verdict = read_verdict(result, token, 1)
        stats[f"assertions_{verdict.status}"] += 1
        if verdict.status == "pass":
            seed["tests"].append(assertion)
    tried = {id(seed) for seed, _ in candidates}
    tested = [seed for seed, _ in todo if seed["tests"]]
    stats["no_passing_assertion"] = sum(1 for seed, _ in todo if id(seed) in tried and not seed["tests"])
    runs = execute_many([coverage_job(seed["code"], seed["tests"]) for seed in tested], limits, cfg.workers)
    for seed, run in zip(tested, runs, strict=True):
        coverage = read_coverage(run)
        if coverage is None:
            stats["coverage_failed"] += 1
            seed["tests"] = []
            continue
        seed["test_coverage"] = round(coverage, 4)
        if coverage < cfg.min_coverage:
            stats["below_coverage"] += 1
            seed["tests"] = []
        else:
            stats["with_tests"] += 1
    return out, dict(stats)
