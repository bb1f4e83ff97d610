"""Seed tests for ``--validate``, written once per seed and kept in ``<out>.seedtests.jsonl``.

The file is append-only, one line per seed (``seed_id``, ``code_sha256``, ``tests``, ``test_coverage``), written a
batch at a time, so a rerun reuses them instead of paying the LLM again, and the examples already validated keep
the tests they were checked against. A seed whose runnable source changed since (its code or its mined module
context) is redone: ``code_sha256`` is a hash of that source.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from codecurate.generate.examples import Example
from codecurate.generate.seedtests import SeedTestConfig, add_seed_tests
from codecurate.io import JsonlAppender, sha256_text
from codecurate.llm.base import Backend
from codecurate.seedcode import seed_program
from codecurate.timer import Timings

log = logging.getLogger(__name__)


def attach_seed_tests(
    examples: list[Example], backend: Backend, cfg: SeedTestConfig, store_path: Path, batch_size: int, timings: Timings
) -> list[Example]:
    """Give the examples' seeds LLM-written, coverage-checked tests (MultiPL-T style), from the store or new."""
    seeds = {id(ex.seed): (ex.seed_id, ex.seed) for ex in examples if not ex.seed.get("tests")}
    if not seeds:
        return examples
    with JsonlAppender(store_path) as store:
        known = {(r.get("seed_id"), r.get("code_sha256")): r for r in store.existing}  # a later line wins
        by_id: dict[int, dict] = {}
        todo: list[tuple[int, str, str, dict]] = []
        for key, (sid, seed) in seeds.items():
            digest = sha256_text(seed_program(seed))
            if (rec := known.get((sid, digest))) is not None:
                by_id[key] = seed | {"tests": rec.get("tests", []), "test_coverage": rec.get("test_coverage", 0.0)}
            else:
                todo.append((key, sid, digest, seed))
        log.info("seed tests: %d seeds, %d reused from %s, %d to write", len(seeds), len(by_id), store.path, len(todo))
        with timings("seed_tests"):
            stats = _write_tests(todo, backend, cfg, store, batch_size, by_id)
    if todo:
        log.info("seed tests written: %s", dict(stats))
    with_tests = sum(1 for seed in by_id.values() if seed.get("tests"))
    log.info("seed tests: %d of %d seeds have tests", with_tests, len(seeds))
    for ex in examples:
        ex.seed = by_id.get(id(ex.seed), ex.seed)
    return examples


def _write_tests(
    todo: list[tuple[int, str, str, dict]],
    backend: Backend,
    cfg: SeedTestConfig,
    store: JsonlAppender,
    batch_size: int,
    by_id: dict[int, dict],
) -> Counter:
    from tqdm.auto import tqdm

    stats: Counter = Counter()
    # Batches bound what a crash loses and feed the bar: one call for all seeds is silent for minutes on CPU.
    with tqdm(total=len(todo), desc="seed tests", unit="seed") as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            new, batch_stats = add_seed_tests([seed for *_, seed in batch], backend, cfg)
            stats.update(batch_stats)
            for (key, sid, digest, _), seed in zip(batch, new, strict=True):
                by_id[key] = seed
                store.write(
                    {"seed_id": sid, "code_sha256": digest, "tests": seed["tests"]}
                    | {"test_coverage": seed["test_coverage"]}
                )
            bar.update(len(batch))
    return stats
