"""Run every stage in a row into one run folder, from one YAML file.

    codecurate pipeline --config configs/demo.yaml

The YAML has top-level keys (`run_dir`, `stages`, ...) and one section per stage (`mine:`, `curate:`,
`generate:`, `finetune:`, `eval:`) with the same keys as that stage's flags. Paths between stages are wired here
(seeds.jsonl -> coreset.jsonl -> instructions.jsonl -> ft/ -> eval-base/, eval-ft/); see docs/run-layout.md.
A rerun skips every stage whose config and inputs are unchanged (per its manifest) and resumes the one that was
interrupted (the stages themselves append and cache).
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecurate.config import from_dict, to_dict
from codecurate.errors import UserError
from codecurate.io import disk_error
from codecurate.locks import output_lock
from codecurate.manifest import is_up_to_date
from codecurate.models import DEFAULT_LLM, default_corpus

log = logging.getLogger(__name__)

STAGE_ORDER = ("mine", "curate", "generate", "finetune", "eval")


@dataclass
class PipelineConfig:
    run_dir: str = field(default="runs/demo", metadata={"help": "folder for every stage's outputs and the report"})
    stages: list[str] = field(
        default_factory=lambda: list(STAGE_ORDER), metadata={"help": "stages to run, in pipeline order"}
    )
    force: bool = field(default=False, metadata={"help": "rerun stages even when their outputs are up to date"})
    report: bool = field(default=True, metadata={"help": "write report.html / report.md at the end"})
    executor: str = field(
        default="",
        metadata={"help": "local or ray for mine, curate and generate (a stage section's own setting wins); "
                  "empty: each stage's default (local)"},
    )  # fmt: skip
    ray_address: str = field(default="", metadata={"help": "Ray cluster for --executor ray (default: $RAY_ADDRESS "
                                                           "or a local instance)"})  # fmt: skip
    mine: dict = field(default_factory=dict, metadata={"help": "mine stage settings (YAML only)"})
    curate: dict = field(default_factory=dict, metadata={"help": "curate stage settings (YAML only)"})
    generate: dict = field(default_factory=dict, metadata={"help": "generate stage settings (YAML only)"})
    finetune: dict = field(default_factory=dict, metadata={"help": "finetune stage settings (YAML only)"})
    eval: dict = field(default_factory=dict, metadata={"help": "eval stage settings (YAML only)"})

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGE_ORDER]
        if unknown:
            raise UserError(f"pipeline: unknown stage(s) {', '.join(unknown)}; known: {', '.join(STAGE_ORDER)}")
        if self.executor not in ("", "local", "ray"):
            raise UserError(f"pipeline: --executor must be local or ray, got {self.executor!r}")

    def placed(self, section: dict[str, Any]) -> dict[str, Any]:
        """A scalable stage's section with the pipeline-wide executor and Ray address under its own keys."""
        top = {"executor": self.executor, "ray_address": self.ray_address}
        return {k: v for k, v in top.items() if v} | section


def _stage_config(stage: str, module: str, cls_name: str, values: dict[str, Any], wired: dict[str, Any]) -> Any:
    """The stage's config: its YAML section with the pipeline's paths on top (paths are the pipeline's job)."""
    cls = getattr(importlib.import_module(module), cls_name)
    clash = sorted(set(values) & set(wired))
    if clash:
        raise UserError(f"pipeline config [{stage}]: {', '.join(clash)} are set by the pipeline; remove them")
    return from_dict(cls, {**values, **wired}, source=f"pipeline config [{stage}]")


def plan(cfg: PipelineConfig) -> list[tuple[str, str, Any, Path, list[Path]]]:
    """(name, module, stage config, output, inputs) for each stage to run, in order."""
    run = Path(cfg.run_dir)
    seeds, coreset, instructions = run / "seeds.jsonl", run / "coreset.jsonl", run / "instructions.jsonl"
    ft = run / "ft"
    steps: list[tuple[str, str, Any, Path, list[Path]]] = []
    want = set(cfg.stages)
    if "mine" in want:
        c = _stage_config("mine", "codecurate.curate.mine", "MineConfig", cfg.placed(cfg.mine), {"output": str(seeds)})
        sources = [Path(s) for s in c.src] or [default_corpus()]
        steps.append(("mine", "codecurate.curate.mine", c, seeds, sources))
    if "curate" in want:
        wired = {"input": str(seeds), "output": str(coreset), "report": True}
        c = _stage_config("curate", "codecurate.curate.coreset", "CurateConfig", cfg.placed(cfg.curate), wired)
        steps.append(("curate", "codecurate.curate.coreset", c, coreset, [seeds]))
    if "generate" in want:
        wired = {"input": str(coreset), "output": str(instructions), "hf_dir": str(run / "dataset")}
        c = _stage_config("generate", "codecurate.generate.loop", "GenerateConfig", cfg.placed(cfg.generate), wired)
        steps.append(("generate", "codecurate.generate.loop", c, instructions, [coreset]))
    if "finetune" in want:
        wired = {"input": str(instructions), "output": str(ft), "merge": True}
        c = _stage_config("finetune", "codecurate.finetune.train", "FinetuneConfig", cfg.finetune, wired)
        steps.append(("finetune", "codecurate.finetune.train", c, ft, [instructions]))
    if "eval" in want:
        from codecurate.eval.harness import manifest_inputs

        base = cfg.eval.get("model") or cfg.finetune.get("model") or DEFAULT_LLM
        values = {k: v for k, v in cfg.eval.items() if k != "model"}
        c = _stage_config(
            "eval", "codecurate.eval.harness", "EvalConfig", values, {"model": base, "output": str(run / "eval-base")}
        )
        steps.append(("eval-base", "codecurate.eval.harness", c, run / "eval-base", manifest_inputs(c)))
        if "finetune" in want or (ft / "merged").exists():
            wired = {"model": str(ft / "merged"), "output": str(run / "eval-ft")}
            c = _stage_config("eval", "codecurate.eval.harness", "EvalConfig", values, wired)
            steps.append(("eval-ft", "codecurate.eval.harness", c, run / "eval-ft", manifest_inputs(c)))
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
    for name, module, stage_cfg, output, inputs in plan(cfg):
        mod = importlib.import_module(module)
        if hasattr(mod, "manifest_inputs"):  # a stage that knows its inputs better (e.g. a model made upstream)
            inputs = mod.manifest_inputs(stage_cfg)
        if not cfg.force and is_up_to_date(output, to_dict(stage_cfg), inputs):
            log.info("== %s: up to date, skipped (%s)", name, output)
            summary["stages"][name] = "skipped (up to date)"
            continue
        log.info("== %s -> %s", name, output)
        start = time.perf_counter()
        with output_lock(output):
            stage_summary = mod.run(stage_cfg)
        summary["stages"][name] = f"done in {time.perf_counter() - start:.1f}s"
        summary[name] = _brief(stage_summary)
    dataset_dir = run_dir / "dataset"
    if dataset_dir.is_dir():
        from codecurate.card import write_dataset_card

        summary["dataset_card"] = str(write_dataset_card(run_dir, dataset_dir))
    if cfg.report:
        from codecurate.report import build_report

        html, md = build_report(run_dir)
        summary["report"] = str(html)
        summary["report_md"] = str(md)
    return summary


def _brief(stage_summary: dict[str, Any] | None) -> dict[str, Any]:
    """Top-level scalars of a stage summary: enough for the pipeline's own summary."""
    return {k: v for k, v in (stage_summary or {}).items() if not isinstance(v, dict | list)}


__all__ = ["PipelineConfig", "plan", "run"]
