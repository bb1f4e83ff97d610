"""A run folder read into one typed summary, and the numbers derived from it (the report's and the card's data).

    run = load_run("runs/demo")     # RunSummary: each stage's files, {} / None where a stage did not run
    funnel(run), eval_rows(run)

Only the files listed in docs/run-layout.md are read, at the paths the stage table gives (`codecurate.stages`).
An absent file is an empty dict; an unreadable or non-object one is an empty dict plus a line in ``notes``.
Nothing here renders: `codecurate.report_text` writes the words, `codecurate.report_plots` the charts.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecurate.manifest import manifest_path
from codecurate.stages import RunFolder

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def as_dict(x: Any) -> dict:
    """`x` when it is a dict, else {}: a summary file's value may have another shape than documented."""
    return x if isinstance(x, dict) else {}


def is_num(x: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def num_items(d: Any) -> list[tuple[str, float]]:
    """The numeric (key, value) pairs of a mapping, keys as strings."""
    return [(str(k), v) for k, v in as_dict(d).items() if is_num(v)]


@dataclass
class CurateFiles:
    manifest: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)  # coreset.report.json
    map: Path | None = None  # coreset.map.png, when it is a PNG


@dataclass
class GenerateFiles:
    manifest: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)  # instructions.report.json
    mix: Counter = field(default_factory=Counter)  # (task, language) -> examples in instructions.jsonl


@dataclass
class FinetuneFiles:
    summary: dict = field(default_factory=dict)  # ft/training_summary.json
    manifest: dict = field(default_factory=dict)


@dataclass
class EvalFiles:
    base: dict = field(default_factory=dict)  # eval-base/summary.json
    ft: dict = field(default_factory=dict)  # eval-ft/summary.json


@dataclass
class RunSummary:
    """Everything the report and the dataset card read from one run folder."""

    dir: Path
    name: str
    notes: list[str] = field(default_factory=list)  # files that were there but unreadable
    mine: dict = field(default_factory=dict)  # seeds.jsonl's manifest
    curate: CurateFiles = field(default_factory=CurateFiles)
    generate: GenerateFiles = field(default_factory=GenerateFiles)
    finetune: FinetuneFiles = field(default_factory=FinetuneFiles)
    eval: EvalFiles = field(default_factory=EvalFiles)


def read_json(path: Path, notes: list[str]) -> dict:
    """The parsed JSON object, or {} when absent; an unreadable or non-object file is noted, never raised."""
    if not path.is_file():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        notes.append(f"{path}: unreadable, ignored ({e})")
        return {}
    if not isinstance(obj, dict):
        notes.append(f"{path}: expected a JSON object, got {type(obj).__name__}; ignored")
        return {}
    return obj


def count_mix(path: Path, notes: list[str]) -> Counter:
    """(task, language) -> examples in the final instruction file; bad lines are counted, not fatal."""
    mix: Counter = Counter()
    if not path.is_file():
        return mix
    bad = 0
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
                mix[(str(rec.get("task", "?")), str(rec.get("language", "?")))] += 1
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                bad += 1
    if bad:
        notes.append(f"{path}: {bad} unreadable line(s) not counted in the task/language mix")
    return mix


def load_run(run_dir: str | os.PathLike) -> RunSummary:
    """Everything the report needs from a run folder; a stage that did not run leaves empty dicts / None."""
    d = RunFolder(Path(run_dir))
    notes: list[str] = []

    def manifest(output: Path) -> dict:
        return read_json(manifest_path(output), notes)

    coreset_map: Path | None = d.coreset_map
    if coreset_map.is_file() and coreset_map.read_bytes()[:8] != PNG_MAGIC:
        notes.append(f"{coreset_map}: not a PNG image, left out")
        coreset_map = None
    return RunSummary(
        dir=d.root.resolve(),
        name=d.root.resolve().name,
        notes=notes,
        mine=manifest(d.seeds),
        curate=CurateFiles(
            manifest(d.coreset),
            read_json(d.coreset_report, notes),
            coreset_map if coreset_map and coreset_map.is_file() else None,
        ),
        generate=GenerateFiles(
            manifest(d.instructions), read_json(d.instructions_report, notes), count_mix(d.instructions, notes)
        ),
        finetune=FinetuneFiles(read_json(d.ft_summary, notes), manifest(d.ft)),
        eval=EvalFiles(read_json(d.eval_base / "summary.json", notes), read_json(d.eval_ft / "summary.json", notes)),
    )


# --------------------------------------------------------------------------- derived numbers
def funnel(run: RunSummary) -> list[tuple[str, int]]:
    """(stage, records) from mining to the written dataset; steps whose count was not recorded are left out."""
    mine = as_dict(run.mine.get("counts"))
    cur = as_dict(run.curate.manifest.get("counts"))
    gen = as_dict(run.generate.report.get("counts"))
    steps = [
        ("mined", mine.get("extracted")),
        ("kept (filters + dedup)", mine.get("kept")),
        ("selected (coreset)", cur.get("selected", run.curate.report.get("n"))),
        ("generated", gen.get("generated")),
        ("accepted (rules + discriminator)", gen.get("accepted")),
        ("held back: code whose tests could not run (unvalidated file)", held_back(run)),
        ("written (after validation, dedup + decontamination)", gen.get("written")),
        ("of which passed execution checks", gen.get("validated")),
    ]
    return [(label, int(n)) for label, n in steps if is_num(n)]


def held_back(run: RunSummary) -> Any:
    """Unvalidated code examples kept out of the output (None when the run recorded none)."""
    rep = run.generate.report
    total = as_dict(rep.get("counts")).get("unvalidated")
    return total - rep.get("unvalidated_written", 0) if is_num(total) and total else None


def eval_rows(run: RunSummary) -> list[dict[str, Any]]:
    """One row per (benchmark, pass@k) found in either summary, with the fine-tuned minus base delta, each score's
    95 % interval (``base_ci``, ``ft_ci``; None for summaries without one) and ``same``: the intervals overlap."""
    base = as_dict(run.eval.base.get("benchmarks"))
    ft = as_dict(run.eval.ft.get("benchmarks"))
    rows = []
    for bench in sorted(set(base) | set(ft)):
        b, f = as_dict(base.get(bench)), as_dict(ft.get(bench))
        metrics = sorted({k for k in (*b, *f) if k.startswith("pass@")}, key=_k_order)
        for m in metrics:
            bv, fv = b.get(m), f.get(m)
            delta = fv - bv if is_num(bv) and is_num(fv) else None
            bi, fi = _interval(b, m), _interval(f, m)
            same = bi[0] <= fi[1] and fi[0] <= bi[1] if bi and fi else None
            rows.append({"benchmark": bench, "metric": m, "problems": f.get("problems", b.get("problems")),
                         "base": bv, "ft": fv, "delta": delta, "base_ci": bi, "ft_ci": fi, "same": same})  # fmt: skip
    return rows


def _interval(result: dict, metric: str) -> list[float] | None:
    value = as_dict(result.get("intervals")).get(metric)
    return value if isinstance(value, list) and len(value) == 2 and all(is_num(v) for v in value) else None


def _k_order(metric: str) -> tuple[int, str]:
    digits = re.match(r"pass@(\d+)", metric)
    return (int(digits.group(1)) if digits else 1 << 30, metric)


def validation_cells(run: RunSummary) -> list[tuple[str, str, dict]]:
    """(task, language, {run, passed}) from generate's report, skipping malformed cells."""
    out = []
    for task, by_lang in sorted(as_dict(run.generate.report.get("validation")).items()):
        for lang, c in sorted(as_dict(by_lang).items()):
            if isinstance(c, dict) and is_num(c.get("run")) and is_num(c.get("passed")):
                out.append((task, lang, c))
    return out


def cluster_sizes(run: RunSummary) -> list[tuple[int, float]]:
    """(cluster size, clusters of that size) from curate's report, by size."""
    return sorted((int(k), v) for k, v in num_items(run.curate.report.get("cluster_sizes")) if k.isdigit())


def rejection_reasons(run: RunSummary) -> list[tuple[str, float]]:
    """(reason, examples) from generate's report, most frequent first."""
    return sorted(num_items(run.generate.report.get("rejection_reasons")), key=lambda kv: -kv[1])
