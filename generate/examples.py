"""Work items and example records: which task each seed gets, and how a parsed reply becomes a record.

A work item is one (seed, task) pair; each try at it is an ``attempt`` (1, 2, ...). Choices are seeded by
(run seed, seed id), so a rerun plans exactly the same items and can skip the finished ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from codecurate.docstrings import code_without_docstring
from codecurate.errors import UserError
from codecurate.generate.parse import extract_code, fence
from codecurate.io import sha256_text
from codecurate.records import TASKS, chat_messages


@dataclass
class Item:
    seed_id: str
    task: str
    seed: dict[str, Any]
    target_language: str | None = None
    buggy: str | None = None  # a mutation-made bug for `fix` (None: the model plants one)
    mutation: str | None = None
    attempt: int = 1

    @property
    def language(self) -> str:
        """Language of the answer: the target for translate, else the seed's."""
        return self.target_language or self.seed["language"]

    def shown_code(self) -> str:
        """The seed as the model sees it: without its docstring for summarize (the docstring is the answer it is
        asked to write) and generate (its instruction must come from what the code does, not a copied docstring,
        and its answer is then code without that docstring); whole for translate and fix."""
        return code_without_docstring(self.seed) if self.task in HIDE_DOCSTRING else self.seed["code"]

    def context(self) -> dict[str, Any]:
        return {
            "language": self.seed["language"],
            "target_language": self.target_language,
            "code": self.shown_code(),
            "buggy": self.buggy,
        }


HIDE_DOCSTRING = ("summarize", "generate")  # tasks whose prompt shows the seed without its docstring


@dataclass
class Plan:
    items: list[Item] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> seeds not planned


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
    make_bug: Any = None,
) -> Plan:
    """Draw `tasks_per_seed` distinct tasks per seed by `mix`. `make_bug(code, language, rng)` -> (op, buggy)."""
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
            item = Item(sid, task, seed)
            if task == "translate":
                item.target_language = rng.choice(targets)
            elif task == "fix" and make_bug is not None:
                bug = make_bug(seed["code"], seed["language"], rng)
                if bug:
                    item.mutation, item.buggy = bug
            plan.items.append(item)
    return plan


def example_id(item: Item, sample: int = 0) -> str:
    """Stable id of one try; candidate ``sample`` > 0 of a sampled try (``--samples``) gets its own."""
    if sample:
        return sha256_text(item.seed_id, item.task, str(item.attempt), str(sample))[:16]
    return sha256_text(item.seed_id, item.task, str(item.attempt))[:16]


def assemble(item: Item, fields: dict[str, str], sample: int = 0) -> dict[str, Any]:
    """The example record for a parsed reply (provenance is added by the loop)."""
    code = item.shown_code()
    lang = item.language
    ex: dict[str, Any] = {
        "id": example_id(item, sample),
        "task": item.task,
        "language": lang,
        "instruction": fields.get("instruction", "").strip(),
        "input": "",
        "output": fields.get("output", "").strip(),
    }
    if item.task in ("generate", "translate") and ex["output"] and "```" not in ex["output"]:
        ex["output"] = fence(ex["output"], lang)  # a consistent shape for training
    if item.task in ("summarize", "translate"):
        ex["input"] = fence(code, item.seed["language"])
    if item.task == "translate":
        ex["target_language"] = lang
    if item.task == "fix":
        buggy = item.buggy if item.buggy is not None else extract_code(fields.get("buggy", ""))
        explanation = fields.get("explanation", "").strip()
        ex["input"] = fence(buggy, lang) if buggy.strip() else ""
        ex["output"] = f"{explanation}\n\n{fence(code, lang)}" if explanation else ""
        ex["fixed"] = code
        if item.mutation:
            ex["mutation"] = item.mutation
    ex["seed_language"] = item.seed["language"]
    ex["seed_code"] = code
    ex["messages"] = chat_messages(ex["instruction"], ex["input"], ex["output"])
    return ex


# Fields used while judging an example, dropped from the written record (the seed is in the coreset).
SCRATCH = ("fixed", "seed_code", "seed_language")


def finish(ex: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ex.items() if k not in SCRATCH}
