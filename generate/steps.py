"""The steps of one round, in order: prompt -> call -> parse -> rules -> judge -> validate -> near-duplicates.

Each takes the round's examples and returns them with their verdict so far: a step looks only at the examples
every earlier step passed (``Example.passing``) and stops the ones it refuses (``Example.stop(stage, reasons)``).
``call`` fans out: a request for N candidates (``--samples``) returns N examples, one per reply. ``record``
(``rounds.py``) then writes each example exactly once and decides which tries are finished. Every step gets the
whole list, so the first example names the batch (shared few-shot draws, below).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from codecurate.codeblocks import extract_code, fence
from codecurate.generate.config import GenerateConfig
from codecurate.generate.discriminate import verdict
from codecurate.generate.examples import Example
from codecurate.generate.memory import Memory
from codecurate.generate.parse import parse_reply
from codecurate.generate.rules import check_example
from codecurate.generate.samples import rouge_dedup, samples_for
from codecurate.generate.templates import ask_fields, checklist, discriminator_messages, generation_messages
from codecurate.generate.validate import CODE_TASKS
from codecurate.llm.base import Backend, Request, Response, SamplingParams
from codecurate.records import chat_messages
from codecurate.timer import Timings

Examples = list[Example]


class Sink(Protocol):
    """Where finished tries go: a ``JsonlAppender`` locally, a list collector in a Ray worker."""

    def write(self, record: dict[str, Any]) -> None: ...


@dataclass
class Sinks:
    accepted: Sink
    rejected: Sink
    unvalidated: Sink


@dataclass
class Round:
    """What every step may use: the run's settings and templates, its models and memory, where records go."""

    cfg: GenerateConfig
    templates: dict[str, Any]
    generator: Backend
    judge: Backend | None
    memory: Memory
    sinks: Sinks
    timings: Timings
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0, "requests": 0})


def complete(rnd: Round, backend: Backend, requests: list[Request], timing: str) -> list[Response]:
    """One backend call, timed under `timing`, its tokens counted in ``rnd.tokens``."""
    with rnd.timings(timing):
        responses = backend.complete(requests)
    for r in responses:
        rnd.tokens["prompt"] += r.prompt_tokens
        rnd.tokens["completion"] += sum(c.completion_tokens for c in r.completions)
    rnd.tokens["requests"] += len(requests)
    return responses


def shots_rng(rnd: Round, examples: Examples, example: Example, kind: str) -> random.Random:
    # Shared shots: examples of one task and language in this batch get the same few-shot examples, so their
    # prompts begin alike and the backend prefills that prefix once (bench/RESULTS.md).
    first = examples[0]
    batch = f"{first.seed_id}:{first.attempt}"
    own = f"{example.seed_id}:{example.attempt}"
    who = f"{batch}:{example.seed['language']}" if rnd.cfg.memory.share_shots else own
    return random.Random(f"{rnd.cfg.seed}:{who}:{example.task}{kind}")


def prompt(examples: Examples, rnd: Round) -> Examples:
    """Each planned example's request: the task's chat with few-shot examples from memory, N candidates."""
    cfg, mem = rnd.cfg, rnd.cfg.memory
    for ex in examples:
        lang = ex.seed["language"]
        rng = shots_rng(rnd, examples, ex, "")
        spec = rnd.templates["tasks"][ex.task]
        good = rnd.memory.sample(ex.task, lang, mem.shots_good, True, rng, spec["good"])
        bad = rnd.memory.sample(ex.task, lang, mem.shots_bad, False, rng, spec["bad"])
        faults = rnd.memory.fault_summary(lang) if mem.per_language_memory else ""
        msgs = generation_messages(rnd.templates, ex.task, ex.context(), good, bad, faults, cfg.max_seed_chars)
        n, temperature = samples_for(cfg.sampling, ex.task)
        budget = cfg.sampling.max_tokens
        params = SamplingParams(temperature, cfg.sampling.top_p, budget, seed=cfg.seed + ex.attempt, n=n)
        ex.request = Request(msgs, params)
    return examples


def call(examples: Examples, rnd: Round) -> Examples:
    """Ask the generator: one example per reply (a failed request: one example stopped at ``backend``)."""
    responses = complete(rnd, rnd.generator, [ex.request for ex in examples], "generate")
    out: Examples = []
    for ex, resp in zip(examples, responses, strict=True):
        if resp.error or not resp.completions:
            failed = ex.candidate(0, None)
            failed.record = _mark_sample(failed, _head(failed) | {"error": resp.error or "no completion"})
            failed.stop("backend", ["backend_error"])
            out.append(failed)
            continue
        out += [ex.candidate(k, c.text) for k, c in enumerate(resp.completions)]
    return out


def parse(examples: Examples, rnd: Round) -> Examples:
    """Read each reply's asked sections into fields and the record to be written (``parse`` on failure)."""
    for ex in filter(_passing, examples):
        text = ex.reply or ""
        fields, why = parse_reply(text, list(ask_fields(rnd.templates, ex.task, ex.context())))
        if fields is None:
            ex.record = _mark_sample(ex, _head(ex) | {"raw": text[:2000], "error": why})
            ex.stop("parse", ["parse_failed"])
        else:
            ex.fields = fields
            ex.record = _mark_sample(ex, build_record(ex, fields))
    return examples


def rules(examples: Examples, rnd: Round) -> Examples:
    """The cheap rule filters (``rules.py``): non-empty fields, sentence count, syntax, no copy, a real bug."""
    for ex in filter(_passing, examples):
        if reasons := check_example(ex.record | _seed_fields(ex), rnd.cfg.max_sentences):
            ex.stop("rules", reasons)
    return examples


def judge(examples: Examples, rnd: Round) -> Examples:
    """The discriminator answers the task's checklist about each example (skipped with ``--discriminator none``)."""
    todo = [ex for ex in examples if ex.passing]
    if rnd.judge is None or not todo:
        return examples
    cfg, mem = rnd.cfg, rnd.cfg.memory
    params = SamplingParams(0.0, 1.0, cfg.sampling.disc_max_tokens, seed=cfg.seed)
    requests = []
    for ex in todo:
        rng = shots_rng(rnd, examples, ex, ":judge")
        good = rnd.memory.sample(ex.task, ex.seed["language"], mem.disc_shots_good, True, rng)
        bad = rnd.memory.sample(ex.task, ex.seed["language"], mem.disc_shots_bad, False, rng)
        shown = ex.record | {"seed_language": ex.seed["language"]}
        requests.append(Request(discriminator_messages(rnd.templates, shown, cfg.max_seed_chars, good, bad), params))
    for ex, resp in zip(todo, complete(rnd, rnd.judge, requests, "discriminate"), strict=True):
        if resp.error:
            ex.record["error"] = resp.error
            ex.stop("discriminator", ["disc:backend_error"])
            continue
        decision, answers, reasons = verdict(resp.text, questions(rnd, ex), cfg.min_answered)
        ex.record["checklist"] = answers
        if decision != "accept":
            ex.stop("discriminator", reasons)
    return examples


def validate(examples: Examples, rnd: Round) -> Examples:
    """``--validate``: run each code answer against its seed's tests in the sandbox. Fails closed: only "pass"
    clears code; a check that could not run stops the example at ``unvalidated`` with its reason."""
    from codecurate.generate.validate import validate_examples

    todo = [ex for ex in examples if ex.passing]
    if not rnd.cfg.validate or not todo:
        return examples
    sandbox = rnd.cfg.sandbox
    with rnd.timings("validate"):
        checks = validate_examples([(ex.record, ex.seed) for ex in todo], sandbox.limits(), sandbox.workers)
    for ex, check in zip(todo, checks, strict=True):
        ex.record["validation"] = check
        status = check.get("status")
        # "skipped" is summarize's (nothing to run); on a code task it would mean the check never ran, which is
        # "unknown", so it is held back like "unvalidated".
        if status == "pass" or (status == "skipped" and ex.task not in CODE_TASKS):
            continue
        if status in ("unvalidated", "skipped"):
            ex.stop("unvalidated", [f"unvalidated:{check.get('reason', 'not_checked')}"])
            if status == "skipped":
                check.update(status="unvalidated", reason="not_checked")
        else:
            ex.stop("validation", [f"validation:{status}"])
    return examples


def drop_near_duplicates(examples: Examples, rnd: Round) -> Examples:
    """Among one try's kept candidates (``--samples``), a ROUGE-L near-duplicate of an earlier one is rejected."""
    tries: dict[tuple[str, str, int], Examples] = {}
    for ex in examples:
        if ex.stage in (None, "unvalidated"):
            tries.setdefault(ex.key, []).append(ex)
    for group in tries.values():
        if len(group) < 2:
            continue
        texts = [ex.record.get("output", "") for ex in group]
        _, dropped = rouge_dedup(texts, rnd.cfg.sampling.sample_dedup_threshold)
        for index, twin, score in dropped:
            ex = group[index]
            ex.stop("duplicate", ["near_duplicate_sample"])
            ex.record["duplicate_of"] = group[twin].record["id"]
            ex.record["rouge_l"] = score
    return examples


def build_record(ex: Example, fields: dict[str, str]) -> dict[str, Any]:
    """The record for a parsed reply (provenance is added when it is written)."""
    code = ex.shown_code()
    lang = ex.language
    rec: dict[str, Any] = {
        "id": ex.id,
        "task": ex.task,
        "language": lang,
        "instruction": fields.get("instruction", "").strip(),
        "input": "",
        "output": fields.get("output", "").strip(),
    }
    if ex.task in ("generate", "translate") and rec["output"] and "```" not in rec["output"]:
        rec["output"] = fence(rec["output"], lang)  # a consistent shape for training
    if ex.task in ("summarize", "translate"):
        rec["input"] = fence(code, ex.seed["language"])
    if ex.task == "translate":
        rec["target_language"] = lang
    if ex.task == "fix":
        buggy = ex.buggy if ex.buggy is not None else extract_code(fields.get("buggy", ""))
        explanation = fields.get("explanation", "").strip()
        rec["input"] = fence(buggy, lang) if buggy.strip() else ""
        rec["output"] = f"{explanation}\n\n{fence(code, lang)}" if explanation else ""
        if ex.mutation:
            rec["mutation"] = ex.mutation
    rec["messages"] = chat_messages(rec["instruction"], rec["input"], rec["output"])
    return rec


def questions(rnd: Round, ex: Example) -> list[str]:
    """The task's checklist, filled in for this example."""
    return checklist(rnd.templates, ex.task, ex.context())


def _passing(ex: Example) -> bool:
    return ex.passing


def _head(ex: Example) -> dict[str, Any]:
    return {"id": ex.id, "task": ex.task, "language": ex.language}


def _mark_sample(ex: Example, record: dict[str, Any]) -> dict[str, Any]:
    """A candidate of a sampled try says which one it is."""
    if ex.request is not None and ex.request.params.n > 1:
        record["sample"] = ex.sample
    return record


def _seed_fields(ex: Example) -> dict[str, Any]:
    """What the rules compare an answer with (not written: the seed is in the coreset)."""
    extra = {"seed_language": ex.seed["language"], "seed_code": ex.shown_code()}
    return extra | ({"fixed": ex.shown_code()} if ex.task == "fix" else {})
