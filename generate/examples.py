"""The one shape of a generated example, and the plan step that makes the first ones.

An `Example` is one try at one (seed, task): planned here (which seed, which task, a translate target, a
mutation-made bug), then carried through a round's steps (``steps.py``): its request, one sampled reply, the
fields parsed from it, the record that will be written, and its verdict so far (``stage`` None while every step
passed it, else the step that stopped it, with ``reasons``). Choices are seeded by (run seed, seed id), so a rerun
plans exactly the same examples and `still_to_do` can skip the finished ones.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codecurate.docstrings import code_without_docstring
from codecurate.errors import UserError
from codecurate.io import iter_records, sha256_text
from codecurate.llm.base import Request
from codecurate.records import TASKS, seed_id

log = logging.getLogger(__name__)

HIDE_DOCSTRING = ("summarize", "generate")  # tasks whose prompt shows the seed without its docstring
BugMaker = Callable[[str, str, random.Random], "tuple[str, str] | None"]  # (code, language, rng) -> (op, buggy)


@dataclass
class Example:
    """One try at one (seed, task), and after ``call`` one candidate reply of it, with its verdict so far."""

    # The plan: which seed and task, and what the try is given.
    seed_id: str
    task: str
    seed: dict[str, Any]
    target_language: str | None = None
    buggy: str | None = None  # a mutation-made bug for `fix` (None: the model plants one)
    mutation: str | None = None
    attempt: int = 1
    # One candidate of the try: filled in by the round's steps.
    sample: int = 0  # 0-based index among the candidates its request asked for
    request: Request | None = None
    reply: str | None = None
    fields: dict[str, str] | None = None  # the reply's sections, once parsed
    record: dict[str, Any] = field(default_factory=dict)  # what is written (provenance added when recorded)
    # The verdict so far: None while every step passed it, else the step that stopped it.
    stage: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def language(self) -> str:
        """Language of the answer: the target for translate, else the seed's."""
        return self.target_language or self.seed["language"]

    @property
    def passing(self) -> bool:
        return self.stage is None

    def stop(self, stage: str, reasons: list[str]) -> None:
        self.stage, self.reasons = stage, reasons

    def shown_code(self) -> str:
        """The seed as the model sees it: without its docstring for summarize (the docstring is the answer it is
        asked to write) and generate (its instruction must come from what the code does, not a copied docstring,
        and its answer is then code without that docstring); whole for translate and fix."""
        return code_without_docstring(self.seed) if self.task in HIDE_DOCSTRING else self.seed["code"]

    def context(self) -> dict[str, Any]:
        """What a prompt, the checklist and a memory entry say about the seed (templates fill it in)."""
        return {
            "language": self.seed["language"],
            "target_language": self.target_language,
            "code": self.shown_code(),
            "buggy": self.buggy,
        }

    @property
    def id(self) -> str:
        """Stable id of this candidate; candidate ``sample`` > 0 of a sampled try (``--samples``) gets its own."""
        parts = [self.seed_id, self.task, str(self.attempt)] + ([str(self.sample)] if self.sample else [])
        return sha256_text(*parts)[:16]

    @property
    def key(self) -> tuple[str, str, int]:
        """The try this example belongs to: every candidate of one request shares it."""
        return (self.seed_id, self.task, self.attempt)

    def planned(self) -> dict[str, Any]:
        """The plan fields alone (what a Ray worker is sent, and what a retry starts from)."""
        keys = ("seed_id", "task", "seed", "target_language", "buggy", "mutation", "attempt")
        return {k: getattr(self, k) for k in keys}

    def candidate(self, sample: int, reply: str | None) -> Example:
        """One reply to this planned example's request, as an example of its own."""
        return Example(**self.planned(), sample=sample, request=self.request, reply=reply)

    def next_attempt(self) -> Example:
        return Example(**(self.planned() | {"attempt": self.attempt + 1}))


@dataclass
class Plan:
    items: list[Example] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> seeds not planned


def read_seeds(path: str, limit: int | None) -> list[tuple[str, dict]]:
    seeds = []
    for _, record in iter_records(path):
        if limit is not None and len(seeds) >= limit:
            break
        code = record.get("code")
        sid = record.get("id") or (seed_id(record) if isinstance(code, str) else f"line{len(seeds)}")
        seeds.append((str(sid), record))
    if not seeds:
        raise UserError(f"{path}: empty input (no records)")
    return seeds


def parse_mix(text: str) -> dict[str, float]:
    """``"generate=57,summarize=16,translate=11,fix=16"`` -> weights (a task left out gets weight 0)."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        name = name.strip()
        if not sep or name not in TASKS:
            raise UserError(f"--mix: bad entry {part!r}; expected task=weight with task in {', '.join(TASKS)}")
        try:
            mix[name] = float(weight)
        except ValueError:
            raise UserError(f"--mix: weight of {name} is not a number: {weight!r}") from None
        if mix[name] < 0:
            raise UserError(f"--mix: weight of {name} is negative")
    if sum(mix.values()) <= 0:
        raise UserError("--mix: at least one task needs a positive weight")
    return mix


def plan_items(
    seeds: list[tuple[str, dict]],
    mix: dict[str, float],
    tasks_per_seed: int,
    translate_to: list[str],
    run_seed: int,
    make_bug: BugMaker | None = None,
) -> Plan:
    """Draw `tasks_per_seed` distinct tasks per seed by `mix`: one planned `Example` each."""
    from codecurate.generate.validate import expand_targets

    translate_to = expand_targets(translate_to)  # "auto": the languages whose answers can be validated here
    plan = Plan()
    for sid, seed in seeds:
        if not str(seed.get("code") or "").strip() or not seed.get("language"):
            plan.skipped["no_code"] = plan.skipped.get("no_code", 0) + 1
            continue
        rng = random.Random(f"{run_seed}:{sid}")
        targets = [t for t in translate_to if t != seed["language"]]
        weights = {t: w for t, w in mix.items() if w > 0 and (t != "translate" or targets)}
        chosen: list[str] = []
        while weights and len(chosen) < tasks_per_seed:
            task = rng.choices(list(weights), weights=list(weights.values()))[0]
            chosen.append(task)
            del weights[task]
        for task in chosen:
            example = Example(sid, task, seed)
            if task == "translate":
                example.target_language = rng.choice(targets)
            elif task == "fix" and make_bug is not None:
                bug = make_bug(seed["code"], seed["language"], rng)
                if bug:
                    example.mutation, example.buggy = bug
            plan.items.append(example)
    return plan


def make_bug_fn() -> BugMaker | None:
    """A `fix` bug maker from the mutation module when it is installed, else None (the model plants bugs)."""
    try:
        from codecurate.generate.mutate import mutants
    except ImportError:
        return None

    def make_bug(code: str, language: str, rng: random.Random) -> tuple[str, str] | None:
        if language != "python":
            return None
        try:
            options = mutants(code, seed=rng.randrange(1 << 30))
        except Exception as e:  # a seed the mutator cannot handle falls back to a model-made bug
            log.debug("mutants failed: %s", e)
            return None
        return rng.choice(options) if options else None

    return make_bug


def translate_targets(translate_to: list[str], validate: bool) -> list[str]:
    """``--translate-to`` with ``auto`` expanded; one warning line per target whose answers cannot be validated.

    With ``--validate`` such a target's translations all land in the unvalidated file, so saying it at start-up
    spares a user a run that writes nothing they asked for.
    """
    from codecurate.generate.validate import UNVALIDATED_REASONS, cannot_validate, expand_targets

    targets = expand_targets(translate_to)
    if "auto" in translate_to:
        log.info("translate targets (auto: validatable here): %s", ", ".join(targets) or "none")
    say = log.warning if validate else log.info
    for lang in targets:
        if (why := cannot_validate(lang)) is not None:
            say("translate target %s cannot be validated here: %s", lang, UNVALIDATED_REASONS[why])
    return targets


def still_to_do(planned: list[Example], done: list[dict], max_attempts: int) -> list[Example]:
    """Planned examples still to try: not accepted yet, with attempts left; each resumes at its next attempt."""
    last: dict[tuple[str, str], int] = {}
    finished: set[tuple[str, str]] = set()
    for rec in done:
        key = (rec.get("seed_id"), rec.get("task"))
        last[key] = max(last.get(key, 0), int(rec.get("attempt", 0)))
        if rec.get("verdict") == "accept":
            finished.add(key)
    todo = []
    for example in planned:
        key = (example.seed_id, example.task)
        if key in finished or last.get(key, 0) >= max_attempts:
            continue
        example.attempt = last.get(key, 0) + 1
        todo.append(example)
    return todo
