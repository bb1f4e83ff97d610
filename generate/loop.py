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

import functools
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codecurate.errors import UserError
from codecurate.generate.backends.base import Backend
from codecurate.generate.examples import Item, parse_mix, plan_items
from codecurate.io import JsonlAppender, iter_records, side_path
from codecurate.models import DEFAULT_LLM
from codecurate.records import seed_id
from codecurate.timer import Timings

log = logging.getLogger(__name__)


@dataclass
class GenerateConfig:
    input: str = field(metadata={"help": "coreset (or seeds) JSONL/Parquet: `code`, `language`", "positional": True})
    output: str = field(default="instructions.jsonl", metadata={"help": "accepted examples (JSONL)", "aliases": ["-o"]})
    backend: Literal["transformers", "vllm", "openai"] = field(
        default="transformers", metadata={"help": "generator backend"}
    )
    model: str = field(default=DEFAULT_LLM, metadata={"help": "generator model: local folder, hub name or alias"})
    backend_options: dict = field(
        default_factory=dict, metadata={"help": "backend keyword options, e.g. base_url, concurrency (YAML only)"}
    )
    base_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible endpoint for --backend openai (else backend_options."
                                "base_url, else $OPENAI_BASE_URL, else https://api.openai.com/v1)"},
    )  # fmt: skip
    discriminator: str = field(
        default="same", metadata={"help": "discriminator model: 'same' (the generator), 'none' (rules only) or a name"}
    )
    disc_backend: str | None = field(default=None, metadata={"help": "discriminator backend (default: --backend)"})
    disc_backend_options: dict = field(default_factory=dict, metadata={"help": "discriminator backend options (YAML)"})
    mix: str = field(
        default="generate=57,summarize=16,translate=11,fix=16", metadata={"help": "task weights (WaveCoder's mix)"}
    )
    tasks_per_seed: int = field(default=1, metadata={"help": "distinct tasks drawn per seed"})
    max_attempts: int = field(default=2, metadata={"help": "tries per (seed, task) before giving up"})
    translate_to: list[str] = field(
        default_factory=lambda: ["auto"],
        metadata={"help": "translate target languages; 'auto': every language whose answers can be validated here "
                  "(runtime, test harness and test translator present)"},
    )  # fmt: skip
    batch_size: int = field(default=16, metadata={"help": "items generated per batch (more: faster, more memory)"})
    max_tokens: int = field(default=128, metadata={"help": "generation budget per reply (the main cost on CPU)"})
    disc_max_tokens: int = field(default=32, metadata={"help": "discriminator budget per reply"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature (0 = greedy)"})
    samples: int = field(
        default=1,
        metadata={"help": "candidates per generate/translate try (MultiPL-T: 50 for translation, on GPU); every one "
                  "that passes is kept, near-duplicates removed"},
    )  # fmt: skip
    sample_temperature: float | None = field(
        default=None, metadata={"help": "temperature when --samples > 1 (MultiPL-T: 0.8; default: --temperature)"}
    )
    sample_dedup_threshold: float = field(
        default=0.6, metadata={"help": "ROUGE-L F at which two kept candidates of one try are near-duplicates"}
    )
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling"})
    seed: int = field(default=0, metadata={"help": "seed for task choice, few-shot sampling and generation"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N seeds"})
    templates: str | None = field(default=None, metadata={"help": "prompt template YAML (default: built-in)"})
    memory_dir: str | None = field(default=None, metadata={"help": "few-shot pools folder (default: <out>.memory)"})
    pool_size: int = field(default=32, metadata={"help": "most recent examples kept per pool"})
    shots_good: int = field(default=1, metadata={"help": "accepted examples shown per prompt"})
    shots_bad: int = field(default=1, metadata={"help": "rejected examples shown per prompt"})
    disc_shots_good: int = field(
        default=1, metadata={"help": "accepted examples (with why) shown to the discriminator per prompt"}
    )
    disc_shots_bad: int = field(
        default=1, metadata={"help": "rejected examples (with the reasons) shown to the discriminator per prompt"}
    )
    share_shots: bool = field(
        default=True,
        metadata={"help": "items of one task and language in a batch see the same few-shot examples, so their "
                  "prompts share a prefix that is prefilled once; --no-share-shots draws them per item"},
    )  # fmt: skip
    per_language_memory: bool = field(
        default=False, metadata={"help": "xCoder-style per-language pools and fault summary"}
    )
    max_seed_chars: int = field(default=1000, metadata={"help": "seed code longer than this is cut in prompts"})
    max_sentences: int = field(default=3, metadata={"help": "most sentences an instruction may have"})
    min_answered: float = field(default=0.5, metadata={"help": "share of checklist items the judge must answer"})
    dedup: bool = field(default=True, metadata={"help": "drop exact and near-duplicate examples"})
    near_dup_threshold: float = field(default=0.85, metadata={"help": "MinHash Jaccard at which two are duplicates"})
    decontaminate_with: list[str] = field(
        default_factory=lambda: ["humaneval", "mbpp", "humanevalpack", "multipl-e"],
        metadata={
            "help": "benchmarks to decontaminate against: humaneval, mbpp, humanevalpack, multipl-e (bundled, "
            "offline; the default is all four), files, folders or datasets names"
        },
    )
    ngram: int = field(default=10, metadata={"help": "decontamination n-gram size (tokens)"})
    ngram_threshold: float = field(default=0.5, metadata={"help": "share of a benchmark text's n-grams that flags"})
    substring_min_chars: int = field(default=50, metadata={"help": "benchmark strings this long are substring-checked"})
    validate: bool = field(
        default=False,
        metadata={"help": "execute answers against seed tests in the sandbox; code examples go to the output only "
                  "when their tests ran and passed (unchecked ones: <out>.unvalidated.jsonl)"},
    )  # fmt: skip
    keep_unvalidated: bool = field(
        default=False,
        metadata={"help": "with --validate, also write code examples whose tests could not run to the output "
                  "(marked validation.status 'unvalidated')"},
    )  # fmt: skip
    test_max_tokens: int = field(default=256, metadata={"help": "budget for the seed tests the LLM writes"})
    test_samples: int = field(
        default=1,
        metadata={"help": "answers sampled per seed when writing its tests, at --sample-temperature (0.8 when "
                  "unset); the distinct assertions of all are tried (MultiPL-T samples several test suites)"},
    )  # fmt: skip
    alpaca: str | None = field(default=None, metadata={"help": "also write Alpaca-style JSON here"})
    hf_dir: str | None = field(default=None, metadata={"help": "also write a Hugging Face datasets Parquet folder"})
    overwrite: bool = field(default=False, metadata={"help": "start over instead of resuming"})
    executor: Literal["local", "ray"] = field(
        default="local", metadata={"help": "where the LLM rounds run: this process, or a Ray actor pool"}
    )
    ray_address: str = field(default="", metadata={"help": "Ray cluster address (empty: $RAY_ADDRESS or a local one)"})
    ray_workers: int = field(
        default=0, metadata={"help": "LLM actors (0: one per GPU / --ray-gpus-per-worker, else one per CPU)"}
    )
    ray_gpus_per_worker: float = field(
        default=0, metadata={"help": "GPUs per LLM actor (1: one model replica per GPU; 0 on CPU)"}
    )

    def __post_init__(self) -> None:
        parse_mix(self.mix)
        if self.base_url and "openai" not in (self.backend, self.disc_backend):
            raise UserError("--base-url is the endpoint of --backend openai (or --disc-backend openai)")
        at_least_one = ("batch_size", "max_tokens", "disc_max_tokens", "max_attempts", "tasks_per_seed", "ngram")
        for name in (*at_least_one, "samples", "test_samples"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
        if self.limit is not None and self.limit < 0:
            raise UserError("--limit must be >= 0")
        if self.ray_workers < 0 or self.ray_gpus_per_worker < 0:
            raise UserError("--ray-workers and --ray-gpus-per-worker must be >= 0")
        if not 0 < self.near_dup_threshold <= 1 or not 0 < self.ngram_threshold <= 1:
            raise UserError("--near-dup-threshold and --ngram-threshold must be in (0, 1]")
        if not 0 < self.sample_dedup_threshold <= 1:
            raise UserError("--sample-dedup-threshold must be in (0, 1]")
        if self.disc_shots_good < 0 or self.disc_shots_bad < 0:
            raise UserError("--disc-shots-good and --disc-shots-bad must be >= 0")


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


def make_bug_fn() -> Any:
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


def backend_options(cfg: GenerateConfig, kind: str, given: dict) -> dict:
    # --batch-size is the model's batch too, unless backend_options says otherwise (servers batch themselves).
    if kind == "openai" and cfg.base_url:  # --base-url (or a top-level YAML base_url) wins over backend_options
        given = {**given, "base_url": cfg.base_url}
    return {"batch_size": cfg.batch_size, **given} if kind == "transformers" else given


def load_backends(cfg: GenerateConfig) -> tuple[Backend, Backend | None]:
    from codecurate.generate.backends import load_backend

    options = functools.partial(backend_options, cfg)
    gen = load_backend(cfg.backend, cfg.model, **options(cfg.backend, cfg.backend_options))
    if cfg.discriminator == "none":
        return gen, None
    kind = cfg.disc_backend or cfg.backend
    if cfg.discriminator == "same" and kind == cfg.backend and not cfg.disc_backend_options:
        return gen, gen
    model = cfg.model if cfg.discriminator == "same" else cfg.discriminator
    return gen, load_backend(kind, model, **options(kind, cfg.disc_backend_options or cfg.backend_options))


def run(cfg: GenerateConfig, backend: Backend | None = None, disc_backend: Backend | None = None) -> dict[str, Any]:
    """Run the stage; `backend`/`disc_backend` may be passed in (tests, notebooks) instead of loaded.

    With ``executor="ray"`` passed-in backends are pickled to every worker, so they must be picklable (a
    `FunctionBackend` over a module-level function is); else each worker loads its own from the config.
    """
    from codecurate.generate.finalize import finalize
    from codecurate.generate.judge import Judge
    from codecurate.generate.memory import Memory
    from codecurate.generate.templates import load_templates

    if cfg.executor == "ray":
        from codecurate.raycluster import require_ray

        require_ray()  # before any file is touched
    timings = Timings()
    out = Path(cfg.output)
    rejected_path = side_path(out, "rejected.jsonl")
    unvalidated_path = side_path(out, "unvalidated.jsonl")
    memory_dir = Path(cfg.memory_dir) if cfg.memory_dir else side_path(out, "memory")
    templates = load_templates(cfg.templates)
    seeds = read_seeds(cfg.input, cfg.limit)
    if cfg.overwrite:
        import shutil

        for p in (out, rejected_path, unvalidated_path, side_path(out, "seedtests.jsonl")):
            p.unlink(missing_ok=True)
        if not cfg.memory_dir:
            shutil.rmtree(memory_dir, ignore_errors=True)
    else:
        _warn_if_config_changed(cfg, out)
    plan = plan_items(seeds, parse_mix(cfg.mix), cfg.tasks_per_seed, translate_targets(cfg), cfg.seed, make_bug_fn())
    with timings("load_models"):
        if backend is None and cfg.executor == "local":  # with ray, each worker loads its own
            backend, disc_backend = load_backends(cfg)
        elif disc_backend is None and cfg.discriminator != "none":
            disc_backend = backend
    if cfg.validate:
        from codecurate.generate.ray_loop import LazyBackend

        plan.items = _with_seed_tests(plan.items, backend or LazyBackend(cfg), cfg, timings)
    memory = Memory(memory_dir, cfg.pool_size, cfg.per_language_memory)
    accepted = JsonlAppender(out)
    rejected = JsonlAppender(rejected_path)
    unvalidated = JsonlAppender(unvalidated_path)
    try:
        done = accepted.existing + rejected.existing + unvalidated.existing
        todo = _resume(plan.items, done, cfg.max_attempts)
        log.info("%d seeds, %d items planned, %d to do", len(seeds), len(plan.items), len(todo))
        if cfg.executor == "ray":
            from codecurate.generate.ray_loop import run_on_ray

            tokens = run_on_ray(
                cfg, todo, templates, memory, accepted, rejected, timings, backend, disc_backend, unvalidated
            )
        else:
            judge = Judge(cfg, templates, backend, disc_backend, memory, accepted, rejected, timings, unvalidated)
            judge.run(todo)
            tokens = judge.tokens
    finally:
        accepted.close()
        rejected.close()
        unvalidated.close()
        memory.close()
    return finalize(cfg, out, rejected_path, seeds, plan, timings, tokens)


def translate_targets(cfg: GenerateConfig) -> list[str]:
    """``--translate-to`` with ``auto`` expanded; one warning line per target whose answers cannot be validated.

    With ``--validate`` such a target's translations all land in the unvalidated file, so saying it at start-up
    spares a user a run that writes nothing they asked for.
    """
    from codecurate.generate.validate import UNVALIDATED_REASONS, cannot_validate, expand_targets

    targets = expand_targets(cfg.translate_to)
    if "auto" in cfg.translate_to:
        log.info("translate targets (auto: validatable here): %s", ", ".join(targets) or "none")
    say = log.warning if cfg.validate else log.info
    for lang in targets:
        if (why := cannot_validate(lang)) is not None:
            say("translate target %s cannot be validated here: %s", lang, UNVALIDATED_REASONS[why])
    return targets


def _warn_if_config_changed(cfg: GenerateConfig, out: Path) -> None:
    from codecurate.config import to_dict
    from codecurate.manifest import PLACEMENT_KEYS, read_manifest

    old = read_manifest(out)
    new = to_dict(cfg)
    ignore = {"overwrite", "alpaca", "hf_dir"} | PLACEMENT_KEYS  # they do not change what is generated
    if old and out.exists() and any(old.get("config", {}).get(k) != v for k, v in new.items() if k not in ignore):
        log.warning("%s was made with another config; resuming it (--overwrite starts over)", out)


def _resume(items: list[Item], done: list[dict], max_attempts: int) -> list[Item]:
    """Items still to try: not accepted yet, with attempts left; each resumes at its next attempt number."""
    last: dict[tuple[str, str], int] = {}
    finished: set[tuple[str, str]] = set()
    for rec in done:
        key = (rec.get("seed_id"), rec.get("task"))
        last[key] = max(last.get(key, 0), int(rec.get("attempt", 0)))
        if rec.get("verdict") == "accept":
            finished.add(key)
    todo = []
    for item in items:
        key = (item.seed_id, item.task)
        if key in finished or last.get(key, 0) >= max_attempts:
            continue
        item.attempt = last.get(key, 0) + 1
        todo.append(item)
    return todo


def _with_seed_tests(items: list[Item], backend: Backend, cfg: GenerateConfig, timings: Timings) -> list[Item]:
    """Give Python seeds LLM-written, coverage-checked tests (MultiPL-T style) for `--validate`.

    Tests are kept in ``<out>.seedtests.jsonl`` (append-only, one line per seed, written batch by batch), so a
    rerun reuses them instead of paying the LLM again, and the examples already validated keep the tests they
    were checked against. A seed whose runnable source changed since (its code or its mined module context) is
    redone: each line's ``code_sha256`` is a hash of that source.
    """
    from tqdm.auto import tqdm

    from codecurate.generate.seedtests import SeedTestConfig, add_seed_tests
    from codecurate.io import sha256_text
    from codecurate.seedcode import seed_program

    seeds = {id(it.seed): (it.seed_id, it.seed) for it in items if not it.seed.get("tests")}
    if not seeds:
        return items
    store = JsonlAppender(side_path(cfg.output, "seedtests.jsonl"))
    try:
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
        stats: Counter = Counter()
        test_cfg = SeedTestConfig(max_tokens=cfg.test_max_tokens, samples=cfg.test_samples)
        if cfg.sample_temperature is not None:
            test_cfg.sample_temperature = cfg.sample_temperature
        # Batches bound what a crash loses and feed the bar: one call for all seeds is silent for minutes on CPU.
        with timings("seed_tests"), tqdm(total=len(todo), desc="seed tests", unit="seed") as bar:
            for start in range(0, len(todo), cfg.batch_size):
                batch = todo[start : start + cfg.batch_size]
                new, batch_stats = add_seed_tests([seed for *_, seed in batch], backend, test_cfg)
                stats.update(batch_stats)
                for (key, sid, digest, _), seed in zip(batch, new, strict=True):
                    by_id[key] = seed
                    line = {"seed_id": sid, "code_sha256": digest, "tests": seed["tests"]}
                    store.write(line | {"test_coverage": seed["test_coverage"]})
                bar.update(len(batch))
    finally:
        store.close()
    if todo:
        log.info("seed tests written: %s", dict(stats))
    with_tests = sum(1 for seed in by_id.values() if seed.get("tests"))
    log.info("seed tests: %d of %d seeds have tests", with_tests, len(seeds))
    for it in items:
        it.seed = by_id.get(id(it.seed), it.seed)
    return items
