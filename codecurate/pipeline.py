"""Run every stage in a row into one run folder, from one YAML file.

    codecurate pipeline --config configs/demo.yaml

The YAML has top-level keys (`run_dir`, `stages`, ...) and one section per stage (`mine:`, `curate:`,
`generate:`, `finetune:`, `eval:`) with the same keys as that stage's flags. Paths between stages are wired here
from the stage table (seeds.jsonl -> coreset.jsonl -> instructions.jsonl -> ft/ -> eval-base/, eval-ft/; see
codecurate/stages.py and docs/run-layout.md).
A rerun skips every stage whose config and inputs are unchanged (per its manifest) and resumes the one that was
interrupted (the stages themselves append and cache).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from codecurate.config import flat_fields, flat_names, from_dict, to_dict
from codecurate.errors import UserError
from codecurate.io import disk_error
from codecurate.locks import output_lock
from codecurate.manifest import is_up_to_date
from codecurate.models import DEFAULT_LLM
from codecurate.raycluster import RayOptions
from codecurate.stages import EVAL, EVAL_BASE, EVAL_FT, STAGES, RunFolder, Stage, check_inputs

log = logging.getLogger(__name__)

STAGE_ORDER = tuple(STAGES)


@dataclass
class PipelineRay(RayOptions):
    """`RayOptions` for the whole run, placed into mine, curate and generate; an empty or zero value leaves each
    stage its own default, and a setting in a stage's section wins."""

    executor: Literal["", "local", "ray"] = field(
        default="",
        metadata={"help": "local or ray for mine, curate and generate (a stage section's own setting wins); "
                  "empty: each stage's default (local)"},
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.executor not in ("", "local", "ray"):
            raise UserError(f"pipeline: --executor must be local or ray, got {self.executor!r}")


@flat_names
@dataclass
class PipelineConfig:
    run_dir: str = field(default="runs/demo", metadata={"help": "folder for every stage's outputs and the report"})
    stages: list[str] = field(
        default_factory=lambda: list(STAGE_ORDER), metadata={"help": "stages to run, in pipeline order"}
    )
    force: bool = field(default=False, metadata={"help": "rerun stages even when their outputs are up to date"})
    report: bool = field(default=True, metadata={"help": "write report.html / report.md at the end"})
    ray: PipelineRay = field(default_factory=PipelineRay)
    mine: dict = field(default_factory=dict, metadata={"help": "mine stage settings (YAML only)"})
    curate: dict = field(default_factory=dict, metadata={"help": "curate stage settings (YAML only)"})
    generate: dict = field(default_factory=dict, metadata={"help": "generate stage settings (YAML only)"})
    finetune: dict = field(default_factory=dict, metadata={"help": "finetune stage settings (YAML only)"})
    eval: dict = field(default_factory=dict, metadata={"help": "eval stage settings (YAML only)"})

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGE_ORDER]
        if unknown:
            raise UserError(f"pipeline: unknown stage(s) {', '.join(unknown)}; known: {', '.join(STAGE_ORDER)}")

    def section(self, stage: str) -> dict[str, Any]:
        return getattr(self, stage)

    def placed(self, stage: Stage) -> dict[str, Any]:
        """A stage's section with the pipeline-wide Ray settings under its own keys, where the stage has them."""
        keys = set(flat_fields(stage.config_class())) - (set() if stage.uses_gpus else {"ray_gpus_per_worker"})
        top = {f.name: getattr(self.ray, f.name) for f in fields(self.ray)}
        return {k: v for k, v in top.items() if v and k in keys} | self.section(stage.name)


@dataclass
class Step:
    """One stage run of the plan: its config has the run folder's paths wired in."""

    name: str  # the stage's name, or eval-base / eval-ft
    stage: Stage
    config: Any
    output: Path

    def inputs(self) -> list[str]:
        """Computed when the step runs: an earlier step may have made them (eval-ft's model)."""
        return self.stage.manifest_inputs(self.config)


def _stage_config(stage: Stage, values: dict[str, Any], wired: dict[str, Any]) -> Any:
    """The stage's config: its YAML section with the pipeline's paths on top (paths are the pipeline's job)."""
    clash = sorted(set(values) & set(wired))
    if clash:
        raise UserError(f"pipeline config [{stage.name}]: {', '.join(clash)} are set by the pipeline; remove them")
    return from_dict(stage.config_class(), {**values, **wired}, source=f"pipeline config [{stage.name}]")


def _wiring(stage: Stage, run: RunFolder) -> dict[str, Any]:
    """Where the stage reads and writes in the run folder, plus the settings the pipeline always gives it."""
    wired: dict[str, Any] = {"output": str(run / stage.outputs[0])}
    if stage.reads:
        wired[stage.input_key] = str(run / stage.reads)
    for key, value in stage.wired:
        # A wired string names a run-folder path (generate's hf_dir); anything else is a setting (merge: true).
        wired[key] = str(run / value) if isinstance(value, str) else value
    return wired


def plan(cfg: PipelineConfig) -> list[Step]:
    """The steps to run, in order (eval runs twice: the base model and, when there is one, the fine-tuned)."""
    run = RunFolder(Path(cfg.run_dir))
    want = set(cfg.stages)
    steps: list[Step] = []
    for stage in STAGES.values():
        if stage.name not in want or stage is EVAL:
            continue
        values = cfg.placed(stage)
        c = _stage_config(stage, values, _wiring(stage, run))
        steps.append(Step(stage.name, stage, c, run / stage.outputs[0]))
    if "eval" in want:
        base = cfg.eval.get("model") or cfg.finetune.get("model") or DEFAULT_LLM
        values = {k: v for k, v in cfg.eval.items() if k != "model"}
        c = _stage_config(EVAL, values, {"model": base, "output": str(run / EVAL_BASE)})
        steps.append(Step(EVAL_BASE, EVAL, c, run / EVAL_BASE))
        if "finetune" in want or run.ft_merged.exists():
            c = _stage_config(EVAL, values, {"model": str(run.ft_merged), "output": str(run / EVAL_FT)})
            steps.append(Step(EVAL_FT, EVAL, c, run / EVAL_FT))
    return steps


def run(cfg: PipelineConfig) -> dict[str, Any]:
    """Run the planned stages under the run folder's lock (``<run_dir>.lock``): a second pipeline on the same
    folder is refused at once, naming the holder; each stage also locks its own output, so a stage started by
    hand on a file of this run folder is refused too."""
    run_dir = Path(cfg.run_dir)
    with output_lock(run_dir):
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise disk_error(e, run_dir, "creating the run folder") from None
        return _run_locked(cfg, run_dir)


def _run_locked(cfg: PipelineConfig, run_dir: Path) -> dict[str, Any]:
    summary: dict[str, Any] = {"run_dir": str(run_dir), "stages": {}}
    run = RunFolder(run_dir)
    for step in plan(cfg):
        inputs = step.inputs()
        if not cfg.force and is_up_to_date(step.output, to_dict(step.config), inputs):
            log.info("== %s: up to date, skipped (%s)", step.name, step.output)
            summary["stages"][step.name] = "skipped (up to date)"
            continue
        check_inputs(step.stage, step.config)  # its input exists now: an earlier step made it
        log.info("== %s -> %s", step.name, step.output)
        start = time.perf_counter()
        with output_lock(step.output):
            stage_summary = step.stage.run(step.config)
        summary["stages"][step.name] = f"done in {time.perf_counter() - start:.1f}s"
        summary[step.name] = _brief(stage_summary)
    if run.dataset.is_dir():
        from codecurate.card import write_dataset_card

        summary["dataset_card"] = str(write_dataset_card(run_dir, run.dataset))
    if cfg.report:
        from codecurate.report import build_report

        html, md = build_report(run_dir)
        summary["report"] = str(html)
        summary["report_md"] = str(md)
    return summary


def _brief(stage_summary: dict[str, Any] | None) -> dict[str, Any]:
    """Top-level scalars of a stage summary: enough for the pipeline's own summary."""
    return {k: v for k, v in (stage_summary or {}).items() if not isinstance(v, dict | list)}


__all__ = ["PipelineConfig", "PipelineRay", "Step", "plan", "run"]
