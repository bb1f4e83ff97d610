"""codecurate generate coreset.jsonl -o instructions.jsonl [--backend transformers --model smollm2]

Turn a coreset into instruction data (the CodeOcean generator/discriminator loop). For each seed a generator
LLM writes an instruction and its answer for one of four tasks (generate, summarize, translate, fix); rule
filters and a discriminator LLM with a per-task yes/no checklist judge it; accepted and rejected examples feed
back as few-shot examples. Rejected tries are retried up to --max-attempts. Accepted examples are deduplicated
and decontaminated against benchmarks, then written with chat `messages` ready for TRL.

Outputs beside -o: <out>.rejected.jsonl (with reasons), <out>.unvalidated.jsonl (with --validate: code examples
whose tests could not run, with the reason; --keep-unvalidated merges them into the output instead),
<out>.report.json, <out>.memory/ (few-shot pools), <out>.seedtests.jsonl (with --validate), <out>.manifest.json.
Output is append-only: rerun the same command after a crash to resume.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from codecurate.generate.config import GenerateConfig
from codecurate.generate.examples import make_bug_fn, parse_mix, plan_items, read_seeds, still_to_do, translate_targets
from codecurate.generate.finalize import finalize
from codecurate.generate.llms import LazyBackend, backend_options, load_backends
from codecurate.generate.memory import Memory
from codecurate.generate.rounds import Round, Sinks, run_rounds
from codecurate.generate.seedtest_store import attach_seed_tests
from codecurate.generate.templates import load_templates
from codecurate.io import JsonlAppender, side_path
from codecurate.llm.base import Backend
from codecurate.timer import Timings

# Public names of this module (the CLI and pipeline load GenerateConfig and run from here).
__all__ = [
    "GenerateConfig", "backend_options", "load_backends", "make_bug_fn", "read_seeds", "run", "translate_targets",
]  # fmt: skip

log = logging.getLogger(__name__)


def run(cfg: GenerateConfig, backend: Backend | None = None, disc_backend: Backend | None = None) -> dict[str, Any]:
    """Run the stage; `backend`/`disc_backend` may be passed in (tests, notebooks) instead of loaded.

    With ``executor="ray"`` passed-in backends are pickled to every worker, so they must be picklable (a
    `FunctionBackend` over a module-level function is); else each worker loads its own from the config.
    """
    if cfg.ray.executor == "ray":
        from codecurate.raycluster import require_ray

        require_ray()  # before any file is touched
    timings = Timings()
    out = Path(cfg.output)
    paths = {kind: side_path(out, f"{kind}.jsonl") for kind in ("rejected", "unvalidated", "seedtests")}
    memory_dir = Path(cfg.memory.memory_dir) if cfg.memory.memory_dir else side_path(out, "memory")
    templates = load_templates(cfg.templates)
    seeds = read_seeds(cfg.input, cfg.limit)
    if cfg.overwrite:
        for p in (out, *paths.values()):
            p.unlink(missing_ok=True)
        if not cfg.memory.memory_dir:
            shutil.rmtree(memory_dir, ignore_errors=True)
    else:
        _warn_if_config_changed(cfg, out)
    targets = translate_targets(cfg.translate_to, cfg.validate)
    # make_bug_fn is looked up here at call time, so a test may swap it (tests/planted.py).
    plan = plan_items(seeds, parse_mix(cfg.mix), cfg.tasks_per_seed, targets, cfg.seed, make_bug_fn())
    with timings("load_models"):
        if backend is None and cfg.ray.executor == "local":  # with ray, each worker loads its own
            backend, disc_backend = load_backends(cfg)
        elif disc_backend is None and cfg.models.discriminator != "none":
            disc_backend = backend
    if cfg.validate:
        tests_by = backend or LazyBackend(cfg)
        attach_seed_tests(plan.items, tests_by, cfg.seed_test_config(), paths["seedtests"], cfg.batch_size, timings)
    memory = Memory(memory_dir, cfg.memory.pool_size, cfg.memory.per_language_memory)
    files = [JsonlAppender(out), JsonlAppender(paths["rejected"]), JsonlAppender(paths["unvalidated"])]
    sinks = Sinks(*files)
    try:
        done = [rec for f in files for rec in f.existing]
        todo = still_to_do(plan.items, done, cfg.max_attempts)
        log.info("%d seeds, %d items planned, %d to do", len(seeds), len(plan.items), len(todo))
        if cfg.ray.executor == "ray":
            from codecurate.generate.ray_loop import run_on_ray

            tokens = run_on_ray(cfg, todo, templates, memory, sinks, timings, backend, disc_backend)
        else:
            assert backend is not None  # loaded above when not passed in
            rnd = Round(cfg, templates, backend, disc_backend, memory, sinks, timings)
            run_rounds(todo, rnd)
            tokens = rnd.tokens
    finally:
        for f in files:
            f.close()
        memory.close()
    return finalize(cfg, out, paths["rejected"], seeds, plan, timings, tokens)


def _warn_if_config_changed(cfg: GenerateConfig, out: Path) -> None:
    from codecurate.config import to_dict
    from codecurate.manifest import PLACEMENT_KEYS, read_manifest

    old = read_manifest(out)
    if not old or not out.exists():
        return
    made_with = old.get("config", {})
    ignore = {"overwrite", "alpaca", "hf_dir"} | PLACEMENT_KEYS  # they do not change what is generated
    # A key the old manifest lacks is a setting added since, at its default: not a change.
    if any(made_with.get(k) != v for k, v in to_dict(cfg).items() if k not in ignore and k in made_with):
        log.warning("%s was made with another config; resuming it (--overwrite starts over)", out)
