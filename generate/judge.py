"""One round of the loop over a batch of items: generate, parse, rule-check, discriminate, validate, record.

Every try ends as exactly one line, in the output (accepted) or in the rejected file with its ``stage``
(backend, parse, rules, discriminator, validation) and ``reasons``, so nothing is dropped silently and a rerun
knows which (seed, task, attempt) keys are done.
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
from codecurate.generate.templates import (
    ask_fields,
    checklist,
    discriminator_messages,
    generation_messages,
    template_hash,
)
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
    if reason.startswith("disc:no:"):
        i = int(reason.rsplit(":", 1)[1])
        return f"judge said no to '{questions[i - 1]}'" if i <= len(questions) else reason
    if reason.startswith("syntax:"):
        return f"{reason.split(':', 1)[1]} code does not parse"
    if reason.startswith("empty:"):
        return f"missing {reason.split(':', 1)[1].upper()}"
    return FAULTS.get(reason, reason)


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
    ):
        self.cfg, self.templates, self.backend, self.disc = cfg, templates, backend, disc_backend
        self.memory, self.accepted, self.rejected, self.timings = memory, accepted, rejected, timings
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

    def step(self, items: list[Item]) -> list[tuple[Item, bool]]:
        """Judge one batch; returns (item, finished) pairs: unfinished ones get another attempt."""
        cfg, tpl = self.cfg, self.templates
        requests = []
        batch_key = f"{items[0].seed_id}:{items[0].attempt}" if items else ""
        for item in items:
            lang = item.seed["language"]
            # Shared shots: items of one task and language in this batch get the same examples, so their prompts
            # begin alike and the backend prefills that prefix once (bench/RESULTS.md).
            who = f"{batch_key}:{lang}" if cfg.share_shots else f"{item.seed_id}:{item.attempt}"
            rng = random.Random(f"{cfg.seed}:{who}:{item.task}")
            spec = tpl["tasks"][item.task]
            good = self.memory.sample(item.task, lang, cfg.shots_good, True, rng, spec["good"])
            bad = self.memory.sample(item.task, lang, cfg.shots_bad, False, rng, spec["bad"])
            faults = self.memory.fault_summary(lang) if cfg.per_language_memory else ""
            msgs = generation_messages(tpl, item.task, item.context(), good, bad, faults, cfg.max_seed_chars)
            params = SamplingParams(cfg.temperature, cfg.top_p, cfg.max_tokens, seed=cfg.seed + item.attempt)
            requests.append(Request(msgs, params))
        responses = self._complete(self.backend, requests, "generate")

        results: dict[int, tuple[dict[str, Any], str | None, list[str]]] = {}  # index -> (example, stage, reasons)
        fields_of: dict[int, dict[str, str]] = {}
        for i, (item, resp) in enumerate(zip(items, responses, strict=True)):
            base = {"id": example_id(item), "task": item.task, "language": item.language}
            if resp.error:
                results[i] = (base | {"error": resp.error}, "backend", ["backend_error"])
                continue
            fields, why = parse_reply(resp.text, list(ask_fields(tpl, item.task, item.context())))
            if fields is None:
                results[i] = (base | {"raw": resp.text[:2000], "error": why}, "parse", ["parse_failed"])
                continue
            fields_of[i] = fields
            ex = assemble(item, fields)
            reasons = check_example(ex, cfg.max_sentences)
            results[i] = (ex, "rules" if reasons else None, reasons)

        survivors = [i for i, (_, stage, _) in results.items() if stage is None]
        if self.disc is not None and survivors:
            self._discriminate(items, results, survivors)
        if cfg.validate:
            self._validate(items, results, [i for i, (_, stage, _) in results.items() if stage is None])
        return [self._record(item, *results[i], fields_of.get(i)) for i, item in enumerate(items)]

    def _discriminate(self, items: list[Item], results: dict, survivors: list[int]) -> None:
        params = SamplingParams(0.0, 1.0, self.cfg.disc_max_tokens, seed=self.cfg.seed)
        msgs = [discriminator_messages(self.templates, results[i][0], self.cfg.max_seed_chars) for i in survivors]
        reqs = [Request(m, params) for m in msgs]
        responses = self._complete(self.disc, reqs, "discriminate")
        for i, resp in zip(survivors, responses, strict=True):
            ex = results[i][0]
            if resp.error:
                results[i] = (ex | {"error": resp.error}, "discriminator", ["disc:backend_error"])
                continue
            questions = checklist(self.templates, ex["task"], _ctx(items[i]))
            decision, answers, reasons = verdict(resp.text, questions, self.cfg.min_answered)
            ex["checklist"] = answers
            results[i] = (ex, None if decision == "accept" else "discriminator", reasons)

    def _validate(self, items: list[Item], results: dict, survivors: list[int]) -> None:
        from codecurate.generate.validate import validate_examples

        if not survivors:
            return
        pairs = [(finish(results[i][0]), items[i].seed) for i in survivors]
        with self.timings("validate"):
            checks = validate_examples(pairs)
        for i, check in zip(survivors, checks, strict=True):
            ex = results[i][0]
            ex["validation"] = check
            if check.get("status") not in ("pass", "skipped"):
                results[i] = (ex, "validation", [f"validation:{check.get('status')}"])

    def _record(
        self, item: Item, ex: dict[str, Any], stage: str | None, reasons: list[str], fields: dict | None
    ) -> tuple[Item, bool]:
        ok = stage is None
        rec = finish(ex) | {
            "seed_id": item.seed_id,
            "generator": self.backend.name,
            "discriminator": self.disc.name if self.disc is not None else "none",
            "template_hash": template_hash(self.templates, item.task),
            "verdict": "accept" if ok else "reject",
            "reasons": reasons,
            "attempt": item.attempt,
        }
        if ok:
            self.accepted.write(rec)
        else:
            self.rejected.write(rec | {"stage": stage})
        if fields is not None and stage != "validation":
            questions = checklist(self.templates, item.task, _ctx(item))
            entry = {"language": item.seed["language"], "target_language": item.target_language}
            entry |= {"code": item.seed["code"], "buggy": item.buggy} | fields
            if not ok:
                faults = [describe(r, questions) for r in reasons]
                entry |= {"reasons": faults, "faults": faults}  # readable: both are shown to the model
            self.memory.add(item.task, entry, ok)
        return item, ok or item.attempt >= self.cfg.max_attempts


def _ctx(item: Item) -> dict[str, Any]:
    return {"language": item.seed["language"], "target_language": item.target_language}
