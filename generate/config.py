"""The generate stage's settings: one typed section per concern inside `GenerateConfig`.

Every leaf is a flag and a YAML key under its flat name (``--backend``, ``--executor``, ``--test-max-tokens``,
``--sandbox-timeout-s``), exactly as when the config was one flat dataclass; the code reads ``cfg.models.backend``,
``cfg.ray.executor``, ``cfg.seed_tests.max_tokens``. ``codecurate.config`` routes the flat keys into their sections
(YAML may also nest them: ``ray: {executor: ray}``), and `codecurate.config.flat_names` lets Python callers build
a config with the same flat names: ``GenerateConfig("seeds.jsonl", backend="openai", executor="ray")``; reading or
writing a flat name (``cfg.max_tokens``) still reaches its section, with a DeprecationWarning.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from codecurate.config import flat_names
from codecurate.errors import UserError
from codecurate.execute.sandbox import Limits
from codecurate.generate.examples import parse_mix
from codecurate.generate.seedtests import SeedTestConfig
from codecurate.models import DEFAULT_LLM
from codecurate.raycluster import RayOptions

C = TypeVar("C")


def _at_least_one(section: object, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(section, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")


@dataclass
class ModelConfig:
    """Which LLMs write and judge the examples, and how to reach them."""

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

    def __post_init__(self) -> None:
        if self.base_url and "openai" not in (self.backend, self.disc_backend):
            raise UserError("--base-url is the endpoint of --backend openai (or --disc-backend openai)")


@dataclass
class SamplingConfig:
    """How replies are sampled: budgets, temperature, and MultiPL-T's many candidates per try."""

    max_tokens: int = field(default=128, metadata={"help": "generation budget per reply (the main cost on CPU)"})
    disc_max_tokens: int = field(default=32, metadata={"help": "discriminator budget per reply"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature (0 = greedy)"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling"})
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

    def __post_init__(self) -> None:
        _at_least_one(self, ("max_tokens", "disc_max_tokens", "samples"))
        if not 0 < self.sample_dedup_threshold <= 1:
            raise UserError("--sample-dedup-threshold must be in (0, 1]")


@dataclass
class MemoryConfig:
    """The few-shot pools: where they live, how many examples each prompt and each judge call sees."""

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

    def __post_init__(self) -> None:
        if self.disc_shots_good < 0 or self.disc_shots_bad < 0:
            raise UserError("--disc-shots-good and --disc-shots-bad must be >= 0")


@dataclass
class SandboxLimits:
    """Limits of each sandbox run that validates an answer (``--validate``); flags ``--sandbox-<name>``.

    The network stays off: generated code never gets it, so it is no knob here."""

    timeout_s: float = field(default=Limits.timeout_s, metadata={"help": "wall-clock limit per validation run (s)"})
    cpu_s: float | None = field(default=None, metadata={"help": "CPU-time limit per run (s; default: the timeout)"})
    memory_mb: int = field(default=Limits.memory_mb, metadata={"help": "address-space limit per run (MB)"})
    file_size_mb: int = field(default=Limits.file_size_mb, metadata={"help": "largest file a run may write (MB)"})
    max_procs: int = field(default=Limits.max_procs, metadata={"help": "processes and threads per run"})
    max_output_bytes: int = field(
        default=Limits.max_output_bytes, metadata={"help": "stdout and stderr cap per run; more is a failure"}
    )
    compile_timeout_s: float = field(
        default=Limits.compile_timeout_s, metadata={"help": "wall-clock limit of a compiled language's compile step"}
    )
    compile_memory_mb: int = field(
        default=Limits.compile_memory_mb, metadata={"help": "address-space limit of the compile step (MB)"}
    )
    workers: int | None = field(default=None, metadata={"help": "parallel validation runs (default: CPU count)"})

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or (self.cpu_s is not None and self.cpu_s <= 0) or self.compile_timeout_s <= 0:
            raise UserError("--sandbox-timeout-s, --sandbox-cpu-s and --sandbox-compile-timeout-s must be > 0")
        _at_least_one(self, ("memory_mb", "file_size_mb", "max_procs", "max_output_bytes", "compile_memory_mb"))
        if self.workers is not None and self.workers < 1:
            raise UserError("--sandbox-workers must be at least 1")

    def limits(self) -> Limits:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "workers"}
        return Limits(**values)


@dataclass
class OutputFilters:
    """What is removed from the accepted set after the loop: duplicates and benchmark contamination."""

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

    def __post_init__(self) -> None:
        _at_least_one(self, ("ngram",))
        if not 0 < self.near_dup_threshold <= 1 or not 0 < self.ngram_threshold <= 1:
            raise UserError("--near-dup-threshold and --ngram-threshold must be in (0, 1]")


@dataclass
class Exports:
    """Extra copies of the final output in other formats."""

    alpaca: str | None = field(default=None, metadata={"help": "also write Alpaca-style JSON here"})
    hf_dir: str | None = field(default=None, metadata={"help": "also write a Hugging Face datasets Parquet folder"})


@flat_names
@dataclass
class GenerateConfig:
    input: str = field(metadata={"help": "coreset (or seeds) JSONL/Parquet: `code`, `language`", "positional": True})
    output: str = field(default="instructions.jsonl", metadata={"help": "accepted examples (JSONL)", "aliases": ["-o"]})
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
    seed: int = field(default=0, metadata={"help": "seed for task choice, few-shot sampling and generation"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N seeds"})
    templates: str | None = field(default=None, metadata={"help": "prompt template YAML (default: built-in)"})
    max_seed_chars: int = field(default=1000, metadata={"help": "seed code longer than this is cut in prompts"})
    max_sentences: int = field(default=3, metadata={"help": "most sentences an instruction may have"})
    min_answered: float = field(default=0.5, metadata={"help": "share of checklist items the judge must answer"})
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
    overwrite: bool = field(default=False, metadata={"help": "start over instead of resuming"})
    models: ModelConfig = field(default_factory=ModelConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    # Seed tests (--validate): --test-max-tokens, --test-samples, --test-n-tests, --test-min-coverage...
    seed_tests: SeedTestConfig = field(default_factory=SeedTestConfig, metadata={"prefix": "test_"})
    sandbox: SandboxLimits = field(default_factory=SandboxLimits, metadata={"prefix": "sandbox_"})
    filters: OutputFilters = field(default_factory=OutputFilters)
    exports: Exports = field(default_factory=Exports)
    ray: RayOptions = field(default_factory=RayOptions)

    def __post_init__(self) -> None:
        parse_mix(self.mix)
        _at_least_one(self, ("batch_size", "max_attempts", "tasks_per_seed"))
        tests = self.seed_tests
        for name in ("n_tests", "max_tokens", "samples", "workers"):
            if (value := getattr(tests, name)) is not None and value < 1:
                raise UserError(f"--test-{name.replace('_', '-')} must be at least 1")
        if tests.timeout_s <= 0 or not 0 <= tests.min_coverage <= 1:
            raise UserError("--test-timeout-s must be > 0 and --test-min-coverage in [0, 1]")
        if self.limit is not None and self.limit < 0:
            raise UserError("--limit must be >= 0")
        if self.ray.ray_workers < 0 or self.ray.ray_gpus_per_worker < 0:
            raise UserError("--ray-workers and --ray-gpus-per-worker must be >= 0")

    def seed_test_config(self) -> SeedTestConfig:
        """The seed tests' settings with their sample temperature resolved: ``--test-sample-temperature``, else
        ``--sample-temperature``, else 0.8 (MultiPL-T's)."""
        temperature = self.seed_tests.sample_temperature
        if temperature is None:
            temperature = self.sampling.sample_temperature if self.sampling.sample_temperature is not None else 0.8
        return dataclasses.replace(self.seed_tests, sample_temperature=temperature)
