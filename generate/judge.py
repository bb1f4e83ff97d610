"""One round of the loop over a batch of items: generate, parse, rule-check, discriminate, validate, record.

Every candidate ends as exactly one line: in the output (accepted), in the unvalidated file (accepted by rules and
judge, but with ``--validate`` its code could not be checked: fail closed), or in the rejected file with its
``stage`` (backend, parse, rules, discriminator, validation, duplicate) and ``reasons``, so nothing is dropped
silently and a rerun knows which (seed, task, attempt) keys are done. With ``--samples N`` a generate or translate
try asks for N candidates: every one that passes is kept (ids stay distinct), near-duplicates among them by
ROUGE-L go to the rejected file (``samples.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections import deque
from typing import Any, Protocol

from codecurate.generate.backends.base import Backend, Request, SamplingParams
from codecurate.generate.discriminate import verdict
from codecurate.generate.examples import Item, assemble, example_id, finish
from codecurate.generate.memory import Memory
from codecurate.generate.parse import parse_reply
from codecurate.generate.rules import check_example
from codecurate.generate.samples import rouge_dedup, samples_for
from codecurate.generate.templates import (
    ask_fields,
    checklist,
    discriminator_messages,
    generation_messages,
    template_hash,
)
from codecurate.generate.validate import CODE_TASKS
from codecurate.timer import Timings

log = logging.getLogger(__name__)

# Readable fault names for the running summary fed back into prompts.
FAULTS = {
    "instruction_sentences": "instruction not 1 to 3 sentences",
    "instruction_too_long": "instruction too long",
    "output_copies_input": "output copies the input",
    "output_in_source_language": "translation left in the source language",
    "bug_not_changed": "buggy code equals the fixed code",
    "instruction_is_code": "instruction is code",
}


class Sink(Protocol):
    """Where finished tries go: a ``JsonlAppender`` locally, a list collector in a Ray worker."""

    def write(self, record: dict[str, Any]) -> None: ...


def describe(reason: str, questions: list[str]) -> str:
    """A readable fault category for a reason name (counted in the running fault summary)."""
    if reason.startswith("disc:no:"):
        i = int(reason.rsplit(":", 1)[1])
        return f"judge said no to '{questions[i - 1]}'" if i <= len(questions) else reason
    if reason.startswith("syntax:"):
        return f"{reason.split(':', 1)[1]} code does not parse"
    if reason.startswith("empty:"):
        return f"missing {reason.split(':', 1)[1].upper()}"
    if reason.startswith("validation:"):
        return f"code {reason.split(':', 1)[1].replace('fail', 'failed')} its tests"
    return FAULTS.get(reason, reason)


def said(reason: str, questions: list[str], checklist_answers: list[dict], validation: dict | None) -> str:
    """What the model is shown for a rejection: the judge's own words for a "no" (its stated reason, with the
    question), the concrete failure for a validation failure, else the readable category."""
    if reason.startswith("disc:no:"):
        i = int(reason.rsplit(":", 1)[1])
        why = checklist_answers[i - 1].get("reason", "") if 0 < i <= len(checklist_answers) else ""
        if why:
            return f"judge: {why} (asked: {questions[i - 1]})" if i <= len(questions) else f"judge: {why}"
    if reason.startswith("validation:") and validation and validation.get("detail"):
        return f"{describe(reason, questions)}: {validation['detail']}"
    return describe(reason, questions)


@dataclasses.dataclass
class Candidate:
    """One sampled reply to one item: what it became and the stage that stopped it (None: accepted)."""

    item: int  # index of its item in the batch
    sample: int  # 0-based index among the item's candidates
    example: dict[str, Any]
    stage: str | None = None
    reasons: list[str] = dataclasses.field(default_factory=list)
    fields: dict[str, str] | None = None


class Judge:
    def __init__(
        self,
        cfg: Any,
        templates: dict[str, Any],
        backend: Backend,
        disc_backend: Backend | None,
        memory: Memory,
        accepted: Sink,
        rejected: Sink,
        timings: Timings,
        unvalidated: Sink | None = None,
    ):
        self.cfg, self.templates, self.backend, self.disc = cfg, templates, backend, disc_backend
        self.memory, self.accepted, self.rejected, self.timings = memory, accepted, rejected, timings
        self.unvalidated = unvalidated if unvalidated is not None else rejected
        self.tokens = {"prompt": 0, "completion": 0, "requests": 0}

    def run(self, todo: list[Item]) -> None:
        from tqdm.auto import tqdm

        queue = deque(todo)
        bar = tqdm(total=len(todo), desc="generate", unit="item")
        while queue:
            batch = [queue.popleft() for _ in range(min(self.cfg.batch_size, len(queue)))]
            for item, done in self.step(batch):
                if done:
                    bar.update(1)
                else:  # retried at the back of the queue, so batches stay full
                    queue.append(dataclasses.replace(item, attempt=item.attempt + 1))
        bar.close()

    def _complete(self, backend: Backend, requests: list[Request], stage: str) -> list:
        with self.timings(stage):
            responses = backend.complete(requests)
        for r in responses:
            self.tokens["prompt"] += r.prompt_tokens
            self.tokens["completion"] += sum(c.completion_tokens for c in r.completions)
        self.tokens["requests"] += len(requests)
        return responses

    def _rng(self, items: list[Item], item: Item, kind: str) -> random.Random:
        # Shared shots: items of one task and language in this batch get the same examples, so their prompts
        # begin alike and the backend prefills that prefix once (bench/RESULTS.md).
        batch_key = f"{items[0].seed_id}:{items[0].attempt}" if items else ""
        who = f"{batch_key}:{item.seed['language']}" if self.cfg.share_shots else f"{item.seed_id}:{item.attempt}"
        return random.Random(f"{self.cfg.seed}:{who}:{item.task}{kind}")

    def step(self, items: list[Item]) -> list[tuple[Item, bool]]:
        """Judge one batch; returns (item, finished) pairs: unfinished ones get another attempt."""
        cfg, tpl = self.cfg, self.templates
        requests = []
        for item in items:
            lang = item.seed["language"]
            rng = self._rng(items, item, "")
            spec = tpl["tasks"][item.task]
            good = self.memory.sample(item.task, lang, cfg.shots_good, True, rng, spec["good"])
            bad = self.memory.sample(item.task, lang, cfg.shots_bad, False, rng, spec["bad"])
            faults = self.memory.fault_summary(lang) if cfg.per_language_memory else ""
            msgs = generation_messages(tpl, item.task, item.context(), good, bad, faults, cfg.max_seed_chars)
            n, temperature = samples_for(cfg, item.task)
            params = SamplingParams(temperature, cfg.top_p, cfg.max_tokens, seed=cfg.seed + item.attempt, n=n)
            requests.append(Request(msgs, params))
        responses = self._complete(self.backend, requests, "generate")

        cands: list[Candidate] = []
        for i, (item, resp) in enumerate(zip(items, responses, strict=True)):
            base = {"id": example_id(item), "task": item.task, "language": item.language}
            if resp.error or not resp.completions:
                error = base | {"error": resp.error or "no completion"}
                cands.append(Candidate(i, 0, error, "backend", ["backend_error"]))
                continue
            for k, completion in enumerate(resp.completions):
                cands.append(self._parse(i, k, item, completion.text, base))
        for c in cands:
            if requests[c.item].params.n > 1:
                c.example["sample"] = c.sample

        survivors = [c for c in cands if c.stage is None]
        if self.disc is not None and survivors:
            self._discriminate(items, survivors)
        if cfg.validate:
            self._validate(items, [c for c in cands if c.stage is None])
        self._drop_near_duplicates(cands)
        by_item: dict[int, list[Candidate]] = {}
        for c in cands:
            by_item.setdefault(c.item, []).append(c)
        return [self._record(item, by_item[i]) for i, item in enumerate(items)]

    def _parse(self, i: int, k: int, item: Item, text: str, base: dict[str, Any]) -> Candidate:
        tpl = self.templates
        base = base | {"id": example_id(item, k)}
        fields, why = parse_reply(text, list(ask_fields(tpl, item.task, item.context())))
        if fields is None:
            return Candidate(i, k, base | {"raw": text[:2000], "error": why}, "parse", ["parse_failed"])
        ex = assemble(item, fields, k)
        reasons = check_example(ex, self.cfg.max_sentences)
        return Candidate(i, k, ex, "rules" if reasons else None, reasons, fields)

    def _discriminate(self, items: list[Item], survivors: list[Candidate]) -> None:
        cfg = self.cfg
        params = SamplingParams(0.0, 1.0, cfg.disc_max_tokens, seed=cfg.seed)
        reqs = []
        for c in survivors:
            item = items[c.item]
            rng = self._rng(items, item, ":judge")
            good = self.memory.sample(item.task, item.seed["language"], cfg.disc_shots_good, True, rng)
            bad = self.memory.sample(item.task, item.seed["language"], cfg.disc_shots_bad, False, rng)
            msgs = discriminator_messages(self.templates, c.example, cfg.max_seed_chars, good, bad)
            reqs.append(Request(msgs, params))
        responses = self._complete(self.disc, reqs, "discriminate")
        for c, resp in zip(survivors, responses, strict=True):
            if resp.error:
                c.example["error"] = resp.error
                c.stage, c.reasons = "discriminator", ["disc:backend_error"]
                continue
            questions = checklist(self.templates, c.example["task"], _ctx(items[c.item]))
            decision, answers, reasons = verdict(resp.text, questions, cfg.min_answered)
            c.example["checklist"] = answers
            c.stage, c.reasons = (None if decision == "accept" else "discriminator"), reasons

    def _validate(self, items: list[Item], survivors: list[Candidate]) -> None:
        from codecurate.generate.validate import validate_examples

        if not survivors:
            return
        pairs = [(finish(c.example), items[c.item].seed) for c in survivors]
        with self.timings("validate"):
            checks = validate_examples(pairs)
        for c, check in zip(survivors, checks, strict=True):
            c.example["validation"] = check
            status = check.get("status")
            # Fail closed: only "pass" clears code. "skipped" is summarize's (nothing to run); on a code task it
            # would mean the check never ran, which is "unknown", so it is held back like "unvalidated".
            if status == "pass" or (status == "skipped" and c.example.get("task") not in CODE_TASKS):
                continue
            if status in ("unvalidated", "skipped"):
                c.stage, c.reasons = "unvalidated", [f"unvalidated:{check.get('reason', 'not_checked')}"]
                if status == "skipped":
                    check.update(status="unvalidated", reason="not_checked")
            else:
                c.stage, c.reasons = "validation", [f"validation:{status}"]

    def _drop_near_duplicates(self, cands: list[Candidate]) -> None:
        """Among one item's kept candidates, ROUGE-L near-duplicates of an earlier one are rejected."""
        by_item: dict[int, list[Candidate]] = {}
        for c in cands:
            if c.stage in (None, "unvalidated"):
                by_item.setdefault(c.item, []).append(c)
        for group in by_item.values():
            if len(group) < 2:
                continue
            kept, dropped = rouge_dedup([c.example.get("output", "") for c in group], self.cfg.sample_dedup_threshold)
            for index, twin, score in dropped:
                c = group[index]
                c.stage, c.reasons = "duplicate", ["near_duplicate_sample"]
                c.example["duplicate_of"] = group[twin].example["id"]
                c.example["rouge_l"] = score

    def _record(self, item: Item, cands: list[Candidate]) -> tuple[Item, bool]:
        finished = False
        remembered: set[bool] = set()
        for c in cands:
            ok = c.stage is None
            rec = finish(c.example) | {
                "seed_id": item.seed_id,
                "generator": self.backend.name,
                "discriminator": self.disc.name if self.disc is not None else "none",
                "template_hash": template_hash(self.templates, item.task),
                "verdict": "accept" if ok or c.stage == "unvalidated" else "reject",
                "reasons": c.reasons,
                "attempt": item.attempt,
            }
            if ok:
                self.accepted.write(rec)
            elif c.stage == "unvalidated":  # accepted by rules and judge, but its code could not run: unknown
                self.unvalidated.write(rec | {"stage": "unvalidated"})  # --keep-unvalidated merges at finalize
            else:
                self.rejected.write(rec | {"stage": c.stage})
            # Retrying an unvalidated try cannot help: what is missing (a runtime, tests) does not change.
            finished |= ok or c.stage == "unvalidated"
            good = c.stage is None  # only examples that passed every check teach by example
            if c.fields is None or c.stage in ("unvalidated", "duplicate") or good in remembered:
                continue
            remembered.add(good)  # one good and one bad entry per try, so sampling does not flood the pools
            self.memory.add(item.task, self._memory_entry(item, c, good), good)
        return item, finished or item.attempt >= self.cfg.max_attempts

    def _memory_entry(self, item: Item, c: Candidate, good: bool) -> dict[str, Any]:
        questions = checklist(self.templates, item.task, _ctx(item))
        entry = {"language": item.seed["language"], "target_language": item.target_language}
        entry |= {"code": item.shown_code(), "buggy": item.buggy} | (c.fields or {})
        check = c.example.get("validation")
        if good:
            why = [a["reason"] for a in c.example.get("checklist", []) if a.get("answer") == "yes" and a.get("reason")]
            if check and check.get("status") == "pass":
                why.append(f"passed {check.get('tests_passed')}/{check.get('tests_run')} tests")
            entry["why"] = "; ".join(why) or "accepted"
        else:
            answers = c.example.get("checklist", [])
            entry["reasons"] = [said(r, questions, answers, check) for r in c.reasons]  # shown to the model
            entry["faults"] = [describe(r, questions) for r in c.reasons]  # counted in the fault summary
        return entry


def _ctx(item: Item) -> dict[str, Any]:
    return {"language": item.seed["language"], "target_language": item.target_language}
