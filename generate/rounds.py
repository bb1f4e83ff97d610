"""Rounds of the loop: a batch of planned examples through the steps, then each result recorded exactly once.

    round = Round(cfg, templates, generator, judge, memory, Sinks(accepted, rejected, unvalidated), timings)
    run_rounds(todo, round)            # locally; a Ray worker calls run_round per batch instead

Every candidate ends as exactly one line: in the output (accepted), in the unvalidated file (accepted by rules and
judge, but with ``--validate`` its code could not be checked: fail closed), or in the rejected file with its
``stage`` (backend, parse, rules, discriminator, validation, duplicate) and ``reasons``, so nothing is dropped
silently and a rerun knows which (seed, task, attempt) keys are done. A try that is not finished is tried again
(its next attempt) until ``--max-attempts``.
"""

from __future__ import annotations

from collections import deque

from codecurate.generate import steps
from codecurate.generate.examples import Example
from codecurate.generate.feedback import memory_entry
from codecurate.generate.steps import Round, Sink, Sinks  # noqa: F401 (the round's context, re-exported)
from codecurate.generate.templates import template_hash

# The chain a batch goes through, in order; `record` ends it.
STEPS = (steps.prompt, steps.call, steps.parse, steps.rules, steps.judge, steps.validate, steps.drop_near_duplicates)


def run_round(batch: list[Example], rnd: Round) -> list[tuple[Example, bool]]:
    """One batch through every step, then recorded; returns (planned example, finished) pairs."""
    examples = list(batch)
    for step in STEPS:
        examples = step(examples, rnd)
    return record(batch, examples, rnd)


def run_rounds(todo: list[Example], rnd: Round) -> None:
    """Rounds of ``--batch-size`` until every try is finished; an unfinished one goes to the back of the queue as
    its next attempt, so batches stay full."""
    from tqdm.auto import tqdm

    queue = deque(todo)
    with tqdm(total=len(todo), desc="generate", unit="item") as bar:
        while queue:
            batch = [queue.popleft() for _ in range(min(rnd.cfg.batch_size, len(queue)))]
            for planned, done in run_round(batch, rnd):
                if done:
                    bar.update(1)
                else:
                    queue.append(planned.next_attempt())


def record(batch: list[Example], examples: list[Example], rnd: Round) -> list[tuple[Example, bool]]:
    """Write every example once and feed the memory; a try is finished when one of its candidates was accepted or
    held back as unvalidated (retrying cannot supply a missing runtime or tests), or it is out of attempts."""
    finished: set[tuple[str, str, int]] = set()
    remembered: set[tuple[tuple[str, str, int], bool]] = set()
    for ex in examples:
        _write(ex, rnd)
        if ex.stage in (None, "unvalidated"):
            finished.add(ex.key)
        good = ex.passing  # only examples that passed every check teach by example
        if ex.fields is None or ex.stage in ("unvalidated", "duplicate") or (ex.key, good) in remembered:
            continue
        remembered.add((ex.key, good))  # one good and one bad entry per try, so sampling does not flood the pools
        rnd.memory.add(ex.task, memory_entry(ex, steps.questions(rnd, ex)), good)
    return [(p, p.key in finished or p.attempt >= rnd.cfg.max_attempts) for p in batch]


def _write(ex: Example, rnd: Round) -> None:
    rec = ex.record | {
        "seed_id": ex.seed_id,
        "generator": rnd.generator.name,
        "discriminator": rnd.judge.name if rnd.judge is not None else "none",
        "template_hash": template_hash(rnd.templates, ex.task),
        "verdict": "accept" if ex.stage in (None, "unvalidated") else "reject",
        "reasons": ex.reasons,
        "attempt": ex.attempt,
    }
    if ex.passing:
        rnd.sinks.accepted.write(rec)
    elif ex.stage == "unvalidated":  # accepted by rules and judge, but its code could not run: unknown
        rnd.sinks.unvalidated.write(rec | {"stage": "unvalidated"})  # --keep-unvalidated merges at finalize
    else:
        rnd.sinks.rejected.write(rec | {"stage": ex.stage})
