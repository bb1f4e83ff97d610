"""The stage table: the one place that knows each stage.

For every stage: its name and help line, where its config class lives (imported only when the stage is used, so
``codecurate --help`` stays instant), what it reads and writes in a run folder, and which columns its record
input must hold. The CLI, the pipeline, the report and the dataset card read this table; none of them restates a
module path or a run-folder file name. The run folder itself is `RunFolder` (docs/run-layout.md).

    stage = STAGES["curate"]
    cfg = from_dict(stage.config_class(), {...})
    check_inputs(stage, cfg)        # one line naming the file and the missing column, before any work
    summary = stage.run(cfg)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from codecurate.errors import UserError
from codecurate.io import is_record_file, iter_records, side_path

# Run-folder names of each stage's output (public contract: docs/run-layout.md).
SEEDS = "seeds.jsonl"
CORESET = "coreset.jsonl"
INSTRUCTIONS = "instructions.jsonl"
DATASET = "dataset"
FT = "ft"
EVAL_BASE = "eval-base"
EVAL_FT = "eval-ft"


def beside(output: str, suffix: str) -> str:
    """A side file's run-folder name, by the rule the stages use (``io.side_path``)."""
    return side_path(output, suffix).as_posix()


def manifest_of(output: str) -> str:
    """The manifest's run-folder name (``codecurate.manifest.manifest_path``: folder outputs hold theirs)."""
    return f"{output}/manifest.json" if "." not in output else f"{output}.manifest.json"


@dataclass(frozen=True)
class Stage:
    name: str
    help: str
    target: str  # "module:ConfigClass"
    outputs: tuple[str, ...] = ()  # what it writes into a run folder (eval runs twice: base and fine-tuned model)
    side_files: tuple[str, ...] = ()  # written beside or inside an output on every pipeline run
    optional_files: tuple[str, ...] = ()  # written under some flags or outcomes only
    reads: str = ""  # the earlier stage's output it reads in a run folder ("" : none)
    input_key: str = ""  # its config key naming its record input(s)
    columns: tuple[tuple[str, ...], ...] = ()  # a record input holds every column of one of these sets
    depends_on: tuple[str, ...] = ()  # config keys naming the files its output depends on (manifest inputs)
    default_input: str = ""  # "module:function" giving the input when `input_key` is empty (mine: the stdlib)
    inputs_fn: str = ""  # a function of the stage module listing its manifest inputs (instead of depends_on)
    wired: tuple[tuple[str, Any], ...] = field(default=())  # settings the pipeline always gives it
    uses_gpus: bool = False  # its Ray workers may take GPUs (the pipeline's --ray-gpus-per-worker reaches it)

    @property
    def module_name(self) -> str:
        return self.target.partition(":")[0]

    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)

    def config_class(self) -> type:
        return getattr(self.module(), self.target.partition(":")[2])

    def run(self, cfg: Any) -> dict[str, Any] | None:
        return self.module().run(cfg)

    def manifest_inputs(self, cfg: Any) -> list[str]:
        """What its output depends on besides its config: the list its manifest records (for up-to-date checks)."""
        if self.inputs_fn:
            return list(getattr(self.module(), self.inputs_fn)(cfg))
        paths = [p for key in self.depends_on for p in _as_list(getattr(cfg, key))]
        if not paths and self.default_input:
            module, _, fn = self.default_input.partition(":")
            paths = [str(getattr(importlib.import_module(module), fn)())]
        # A stage records only inputs that exist (a Hub dataset name is not a file): so does this.
        return [p for p in paths if Path(p).exists()]

    def record_inputs(self, cfg: Any) -> list[Path]:
        """The record files (JSONL, Parquet) its config names as input; source trees and models are not."""
        if not self.input_key:
            return []
        return [Path(p) for p in _as_list(getattr(cfg, self.input_key)) if is_record_file(p) and Path(p).is_file()]


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


SEED_COLUMNS = ("code", "language")  # == records.SEED_REQUIRED: the least a seed needs

MINE = Stage(
    "mine", "extract <docstring, code> pairs into CodeSearchNet records", "codecurate.curate.mine:MineConfig",
    outputs=(SEEDS,), side_files=(manifest_of(SEEDS),),
    input_key="src", columns=(SEED_COLUMNS,), depends_on=("src",), default_input="codecurate.models:default_corpus",
)  # fmt: skip
CURATE = Stage(
    "curate", "embed records and select a diverse coreset", "codecurate.curate.coreset:CurateConfig",
    outputs=(CORESET,), side_files=(manifest_of(CORESET), beside(CORESET, "report.json"), beside(CORESET, "map.png")),
    optional_files=(beside(CORESET, "embeddings"),),  # --executor ray: resumable embedding shards
    reads=SEEDS, input_key="input", columns=(SEED_COLUMNS,), depends_on=("input", "embeddings", "initial"),
    wired=(("report", True),), uses_gpus=True,
)  # fmt: skip
GENERATE = Stage(
    "generate", "turn a coreset into validated instruction data", "codecurate.generate.loop:GenerateConfig",
    outputs=(INSTRUCTIONS,),
    side_files=(
        manifest_of(INSTRUCTIONS), beside(INSTRUCTIONS, "rejected.jsonl"), beside(INSTRUCTIONS, "report.json"),
        beside(INSTRUCTIONS, "memory"), f"{DATASET}/README.md",
    ),
    optional_files=(
        beside(INSTRUCTIONS, "seedtests.jsonl"),  # --validate
        beside(INSTRUCTIONS, "unvalidated.jsonl"),  # code whose tests could not run
    ),
    reads=CORESET, input_key="input", columns=(SEED_COLUMNS,), depends_on=("input",),
    wired=(("hf_dir", DATASET),), uses_gpus=True,
)  # fmt: skip
FINETUNE = Stage(
    "finetune", "LoRA / full SFT on instruction data (TRL + PEFT)", "codecurate.finetune.train:FinetuneConfig",
    outputs=(FT,), side_files=(manifest_of(FT), f"{FT}/training_summary.json", f"{FT}/merged"),
    reads=INSTRUCTIONS, input_key="input", depends_on=("input",),
    # The record shapes finetune.data.to_row accepts.
    columns=(("messages",), ("prompt", "completion"), ("instruction", "output")),
    wired=(("merge", True),),
)  # fmt: skip
EVAL = Stage(
    "eval", "pass@k on HumanEval, MBPP, HumanEvalPack, MultiPL-E", "codecurate.eval.harness:EvalConfig",
    outputs=(EVAL_BASE, EVAL_FT),
    side_files=tuple(
        f"{o}/{f}" for o in (EVAL_BASE, EVAL_FT) for f in ("summary.json", "samples.jsonl", "manifest.json")
    ),
    inputs_fn="manifest_inputs",
)  # fmt: skip
PIPELINE = Stage(
    "pipeline", "run all stages from one YAML config", "codecurate.pipeline:PipelineConfig",
    side_files=("report.html", "report.md", "report_files"),
)  # fmt: skip

# The stages in pipeline order.
STAGES: dict[str, Stage] = {s.name: s for s in (MINE, CURATE, GENERATE, FINETUNE, EVAL)}
# What `codecurate STAGE` runs: the stages and the pipeline.
COMMANDS: dict[str, Stage] = {**STAGES, PIPELINE.name: PIPELINE}


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder, from the stage table (docs/run-layout.md)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def __truediv__(self, name: str) -> Path:
        return self.root / name

    seeds = property(lambda self: self.root / SEEDS)
    coreset = property(lambda self: self.root / CORESET)
    coreset_report = property(lambda self: self.root / beside(CORESET, "report.json"))
    coreset_map = property(lambda self: self.root / beside(CORESET, "map.png"))
    instructions = property(lambda self: self.root / INSTRUCTIONS)
    instructions_report = property(lambda self: self.root / beside(INSTRUCTIONS, "report.json"))
    dataset = property(lambda self: self.root / DATASET)
    ft = property(lambda self: self.root / FT)
    ft_summary = property(lambda self: self.root / FT / "training_summary.json")
    ft_merged = property(lambda self: self.root / FT / "merged")
    eval_base = property(lambda self: self.root / EVAL_BASE)
    eval_ft = property(lambda self: self.root / EVAL_FT)
    report_html = property(lambda self: self.root / "report.html")
    report_md = property(lambda self: self.root / "report.md")
    report_files = property(lambda self: self.root / "report_files")

    def manifest(self, output: str) -> Path:
        return self.root / manifest_of(output)


# --------------------------------------------------------------------------- input columns
def check_inputs(stage: Stage, cfg: Any) -> None:
    """Before any work: each record input of `stage` holds the columns the stage needs, judged by its first
    record (a Parquet file by its schema). A `UserError` names the file, the line and the missing column."""
    if not stage.columns:
        return
    for path in stage.record_inputs(cfg):
        lineno, present = _first_columns(path)
        if lineno is None:
            continue  # an empty file: the stage says so in its own words
        if any(all(c in present for c in need) for need in stage.columns):
            continue
        need = min(stage.columns, key=lambda cols: sum(c not in present for c in cols))
        missing = next(c for c in need if c not in present)
        wants = " or ".join("+".join(cols) for cols in stage.columns)
        raise UserError(f"{path}:{lineno}: missing column '{missing}' ({stage.name} needs {wants})")


def _first_columns(path: Path) -> tuple[int | None, set[str]]:
    """(line of the first record, its non-null columns); (None, set()) for a file without records."""
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            return 1, set(pq.read_schema(path).names)
        except Exception as e:  # pyarrow raises several unrelated types for corrupt files
            raise UserError(f"{path}: cannot read Parquet: {e}") from None
    for lineno, record in iter_records(path):
        return lineno, {k for k, v in record.items() if v is not None}
    return None, set()


__all__ = ["COMMANDS", "STAGES", "RunFolder", "Stage", "beside", "check_inputs", "manifest_of"]
