"""LLM-written tests for Python seeds, kept only when they pass and cover the seed (the MultiPL-T recipe).

    seeds, stats = add_seed_tests(seeds, backend, SeedTestConfig(min_coverage=0.9))

1. Only seeds that run alone are asked about: the record's ``runnable`` flag (set by mine), or for records
   without it, ``codecurate.seedprobe.check_runnable`` (static checks, then one sandbox probe).
2. One batched ``backend.complete`` call asks for ``n_tests`` assertions per seed, ``samples`` answers each (at
   ``sample_temperature`` when more than one, as MultiPL-T samples several test suites per function).
3. Each distinct assertion of any answer runs alone against the seed's program (``seed_program``: its module
   context, the function, the method shim) in the sandbox; every passing one is kept.
4. Line coverage of the seed's own lines (not its context) by the kept assertions is measured with coverage.py,
   inside the sandbox; seeds below ``min_coverage`` get ``tests=[]`` (``test_coverage`` still says how far
   they got).
"""

from __future__ import annotations

import ast
import builtins
import json
import logging
from collections import Counter
from dataclasses import dataclass, field

from codecurate.codeblocks import extract_code
from codecurate.execute.harness import build_test_program, new_token, read_verdict
from codecurate.execute.sandbox import ExecutionResult, Limits, execute_many
from codecurate.llm.base import Backend, Request, SamplingParams
from codecurate.seedcode import global_reads, seed_program, seed_span
from codecurate.seedprobe import check_runnable

log = logging.getLogger(__name__)


@dataclass
class SeedTestConfig:
    """How seed tests are written and kept; in the generate stage the section ``seed_tests``, flags ``--test-*``."""

    n_tests: int = field(default=8, metadata={"help": "seed tests: assertions asked of the LLM per seed"})
    min_coverage: float = field(
        default=0.9, metadata={"help": "seed tests: drop a seed's tests covering less of it than this (MultiPL-T)"}
    )
    timeout_s: float = field(default=5.0, metadata={"help": "seed tests: wall-clock limit per assertion run (s)"})
    workers: int | None = field(
        default=None, metadata={"help": "seed tests: parallel sandbox runs (None: one per CPU)"}
    )
    max_tokens: int = field(default=256, metadata={"help": "seed tests: LLM tokens per answer"})
    temperature: float = field(
        default=0.0, metadata={"help": "seed tests: LLM temperature with one sample (0 = greedy)"}
    )
    samples: int = field(
        default=1,
        metadata={"help": "seed tests: answers asked per seed, at --test-sample-temperature; every passing assertion "
                  "of any of them is kept (MultiPL-T samples several test suites per function; 1 suits CPU)"},
    )  # fmt: skip
    sample_temperature: float | None = field(
        default=None,
        metadata={"help": "seed tests: temperature when samples > 1 (None: the stage's --sample-temperature, else "
                  "MultiPL-T's 0.8)"},
    )  # fmt: skip


PROMPT = """Write {n} Python assert statements that test the function below. Each must be one line of the form
`assert {name}(...) == expected` with literal arguments and a literal expected value, and they should together
exercise every branch. Reply with the assert lines only, in one ```python block.

```python
{code}
```"""
METHOD_NOTE = """
`{name}` is a method of `{owner}`, already bound (to an instance built without arguments for a plain method):
call it as `{name}(...)`, without `self`."""

# Runs in the sandbox: import the seed's program as a module under coverage, run each test in its namespace,
# report the line coverage of the seed's own lines (span.json: first and last line; the context around them is
# not counted) as JSON. data_file=None: nothing is written.
_COVERAGE_PROGRAM = """import json
import coverage
first, last = json.load(open("span.json"))
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
statements = [n for n in statements if first <= n <= last]
missing = [n for n in missing if first <= n <= last]
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

    Without its module context, a seed with free names (or a method: ``self``/``cls``) cannot run alone. The
    gate of ``add_seed_tests`` is the record's ``runnable`` flag; this is the static half of deciding it.
    """
    try:
        fn = next(n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
    except (SyntaxError, StopIteration):
        return None
    free = global_reads(fn) - {fn.name, *dir(builtins)}
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


def coverage_job(code: str, tests: list[str], span: tuple[int, int] | None = None) -> tuple[str, str, dict[str, str]]:
    """An ``execute_many`` job that measures the line coverage of ``code`` by ``tests``, counting only the
    1-based lines ``span`` (default: all of ``code``)."""
    first, last = span or (1, code.count("\n") + 1)
    files = {"seed.py": code, "tests.json": json.dumps(tests), "span.json": json.dumps([first, last])}
    return _COVERAGE_PROGRAM, "python", files


def prompt_for(seed: dict, name: str, n_tests: int) -> str:
    """The test-writing prompt: the seed's code (a method with a note on how it is called)."""
    text = PROMPT.format(n=n_tests, name=name, code=seed["code"])
    qual = str(seed.get("func_name") or "").split(".")
    if len(qual) > 1 and seed.get("context"):
        text += METHOD_NOTE.format(name=name, owner=qual[-2])
    return text


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
    if cfg.samples < 1:
        raise ValueError(f"samples must be >= 1, got {cfg.samples}")
    stats: Counter = Counter(seeds=len(seeds))
    out = [dict(s) for s in seeds]
    todo = _runnable_seeds(out, cfg, stats)
    candidates = _ask(todo, backend, cfg, stats)
    limits = Limits(timeout_s=cfg.timeout_s)
    # Each assertion in the tokened harness: a seed that exits at import time cannot pass its tests unrun.
    tokens = [new_token() for _ in candidates]
    programs = {id(seed): seed_program(seed) for seed, _ in todo}
    jobs = [
        (build_test_program(programs[id(s)], [a], "python", t), "python")
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
    _keep_covering(tested, cfg, limits, stats)
    return out, dict(stats)


def _runnable_seeds(seeds: list[dict], cfg: SeedTestConfig, stats: Counter) -> list[tuple[dict, str]]:
    """(seed, name) of the Python seeds that run alone; the others get ``tests=[]`` and are counted."""
    python = []
    for seed in seeds:
        seed["tests"], seed["test_coverage"] = [], 0.0
        name = function_name(seed)
        if seed.get("language", "python").lower() != "python":
            stats["skipped_not_python"] += 1
        elif not name:
            stats["skipped_no_function"] += 1
        else:
            python.append((seed, name))
    # Records mined before `runnable` existed (or with the check off) are decided here, the same way mine does.
    unknown = [seed for seed, _ in python if not isinstance(seed.get("runnable"), bool)]
    if unknown:
        stats["runnable_checked"] += len(unknown)
        for seed, (ok, reason) in zip(unknown, check_runnable(unknown, cfg.timeout_s, cfg.workers), strict=True):
            seed["runnable"], seed["runnable_reason"] = ok, reason
    todo = [(seed, name) for seed, name in python if seed["runnable"]]
    stats["skipped_not_runnable"] += len(python) - len(todo)
    return todo


def _ask(todo: list[tuple[dict, str]], backend: Backend, cfg: SeedTestConfig, stats: Counter) -> list[tuple[dict, str]]:
    """(seed, assertion) candidates: the distinct assertions of all ``cfg.samples`` answers per seed."""
    sampled = cfg.samples > 1
    temperature = cfg.temperature
    if sampled:
        temperature = cfg.sample_temperature if cfg.sample_temperature is not None else 0.8
    params = SamplingParams(temperature=temperature, max_tokens=cfg.max_tokens, n=cfg.samples)
    requests = [
        Request([{"role": "user", "content": prompt_for(seed, name, cfg.n_tests)}], params) for seed, name in todo
    ]
    responses = backend.complete(requests) if requests else []
    candidates = []
    for (seed, name), response in zip(todo, responses, strict=True):
        if response.error:
            stats["llm_errors"] += 1
            continue
        asserts: list[str] = []
        for completion in response.completions:
            # Exact duplicates across samples are run once; every distinct one is a candidate.
            asserts += [a for a in parse_assertions(completion.text, name) if a not in asserts]
        stats["samples"] += len(response.completions)
        stats["assertions_generated"] += len(asserts)
        if not asserts:
            stats["no_assertions"] += 1
        candidates += [(seed, a) for a in asserts]
    return candidates


def _keep_covering(tested: list[dict], cfg: SeedTestConfig, limits: Limits, stats: Counter) -> None:
    """Measure each seed's line coverage (its own lines only) by its passing tests; drop them below the bar."""
    spans = [seed_span(seed) for seed in tested]
    jobs = [coverage_job(prog, seed["tests"], (a, b)) for seed, (prog, a, b) in zip(tested, spans, strict=True)]
    for seed, run in zip(tested, execute_many(jobs, limits, cfg.workers), strict=True):
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
