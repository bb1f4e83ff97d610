"""The record types stages hand each other. Files are JSONL (or Parquet) with one record per line.

``seeds.jsonl`` (mine) -> ``coreset.jsonl`` (curate) -> ``instructions.jsonl`` (generate) -> finetune -> eval.
Field meanings are in docs/schema.md; the TypedDicts here are the single source of the names.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from codecurate.io import sha256_text

# CodeSearchNet / CodeXGLUE code-to-text columns, in their order.
CSN_FIELDS = (
    "repo", "path", "func_name", "original_string", "language", "code", "code_tokens",
    "docstring", "docstring_tokens", "sha", "url", "partition",
)  # fmt: skip
SEED_REQUIRED = ("code", "language")  # the least a seed needs: everything else is filled or optional

TASKS = ("generate", "summarize", "translate", "fix")
Task = Literal["generate", "summarize", "translate", "fix"]


class SeedRecord(TypedDict, total=False):
    """One mined function (CodeSearchNet format) plus our stable ``id``."""

    id: str
    repo: str
    path: str
    func_name: str
    original_string: str
    language: str
    code: str
    code_tokens: list[str]
    docstring: str
    docstring_tokens: list[str]
    sha: str
    url: str
    partition: str
    code_no_docstring: str
    # Python seeds (mine): the module context the function needs to run alone, with its place marked by
    # codecurate.seedcode.SLOT; whether it runs alone (a sandbox probe) and, when not, why. Optional: older seed
    # files lack them (generate then decides runnable itself).
    context: str
    runnable: bool
    runnable_reason: str
    # Added by execution validation (issue: tests for seeds): assertions kept and the line coverage they reach.
    tests: list[str]
    test_coverage: float


class Selection(TypedDict):
    method: str  # kcenter | kmeans | random
    rank: int  # order of selection (0 = first pick)
    cluster: int  # k-means cluster id, or index of the nearest selected point for kcenter/random
    distance: float  # cosine distance to the centroid (kmeans) or to the nearest earlier pick (kcenter)


class CoresetRecord(SeedRecord, total=False):
    selection: Selection


class Validation(TypedDict, total=False):
    # pass | fail | timeout | memory | crash (checked); unvalidated (code whose tests could not run: fail closed,
    # never in the output without --keep-unvalidated); skipped (summarize: not code-bearing, nothing to run)
    status: str
    language: str
    tests_run: int
    tests_passed: int
    coverage: float
    reason: str  # unvalidated only: no_adapter | runtime_missing | no_harness | no_test_translator | no_tests | ...
    detail: str  # the concrete failure (first failing test, compiler/runtime error) or why it could not run


class InstructionRecord(TypedDict, total=False):
    """One accepted (or, in the rejected file, refused) instruction example."""

    id: str
    task: Task
    language: str  # language of the answer (the target language for translate)
    instruction: str
    input: str
    output: str
    messages: list[dict[str, str]]  # [{"role": "user", ...}, {"role": "assistant", ...}], ready for TRL
    target_language: str
    seed_id: str
    generator: str
    discriminator: str
    template_hash: str
    verdict: str  # accept | reject
    reasons: list[str]
    attempt: int
    sample: int  # with --samples N > 1: the candidate's 0-based index within its try
    validation: Validation


def seed_id(record: dict) -> str:
    """Stable id of a seed: hash of where it came from and its code (16 hex chars)."""
    return sha256_text(
        str(record.get("repo", "")), str(record.get("path", "")), str(record.get("func_name", "")), record["code"]
    )[:16]


def chat_messages(instruction: str, input_: str, output: str) -> list[dict[str, str]]:
    """The chat form TRL trains on: the user turn holds instruction and input, the assistant turn the output."""
    user = instruction if not input_ else f"{instruction}\n\n{input_}"
    return [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
