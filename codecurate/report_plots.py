"""The run report's charts: one PNG per chart that has data, drawn with matplotlib (no pyplot, no GUI backend).

    images = make_plots(load_run("runs/demo"), "runs/demo/report_files")   # name -> path

Used by ``codecurate.report.build_report``; it reads the `RunSummary` that ``codecurate.report_data.load_run``
returns and the number formats of ``codecurate.report_text``.
"""

from __future__ import annotations

import math
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from codecurate.io import atomic_write
from codecurate.report_data import (
    RunSummary,
    cluster_sizes,
    eval_rows,
    funnel,
    is_num,
    rejection_reasons,
    validation_cells,
)
from codecurate.report_text import fmt_int, fmt_pct

LOSS_LABELS = {"loss": "train loss", "eval_loss": "eval loss"}


def make_plots(run: RunSummary, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write one PNG per chart that has data into `out_dir`; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, Path] = {}
    if run.curate.map:
        shutil.copyfile(run.curate.map, out / "coreset_map.png")
        images["coreset_map"] = out / "coreset_map.png"
    if sizes := cluster_sizes(run):
        images["cluster_sizes"] = _bars(out / "cluster_sizes.png", [(str(k), v) for k, v in sizes],
                                        "clusters", vertical=True, xlabel="cluster size (members)")  # fmt: skip
    if steps := funnel(run):
        images["funnel"] = _bars(out / "funnel.png", steps, "records")
    if mix := run.generate.mix:
        images["mix"] = _stacked(out / "mix.png", mix)
    if reasons := rejection_reasons(run):
        images["rejections"] = _bars(out / "rejections.png", reasons[:15], "examples rejected")
    rates = [(f"{t} / {lang}", c["passed"] / c["run"]) for t, lang, c in validation_cells(run) if c["run"]]
    if rates:
        images["validation"] = _bars(out / "validation.png", rates, "execution pass rate", pct=True)
    history = run.finetune.summary.get("log_history")
    if isinstance(history, list) and (loss := _loss(out / "loss.png", history)):
        images["loss"] = loss
    if rows := [r for r in eval_rows(run) if r["metric"] == "pass@1"]:
        images["eval"] = _eval_bars(out / "eval.png", rows)
    return images


def _figure(height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend (Agg by default)

    fig = Figure(figsize=(7, height))
    return fig, fig.subplots()


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=100)
    return path


def _bars(path: Path, items: list[tuple[str, float]], label: str, pct: bool = False, vertical: bool = False,
          xlabel: str = "") -> Path:  # fmt: skip
    return _save(bar_figure(items, label, pct, vertical, xlabel), path)


def bar_figure(items: list[tuple[str, float]], label: str, pct: bool = False, vertical: bool = False,
               xlabel: str = "") -> Any:  # fmt: skip
    """Labelled bars, horizontal by default (long labels stay readable), each annotated with its value."""
    labels, values = [k for k, _ in items], [v for _, v in items]
    if vertical:
        fig, ax = _figure(3)
        # Positions, not the labels: labels such as cluster sizes ("1", "2") would be read as numbers.
        ax.bar(range(len(labels)), values, color="#4c72b0")
        # At most ~15 tick labels: one per bar runs them into each other once there are dozens of sizes.
        step = max(1, math.ceil(len(labels) / 15))
        ax.set_xticks(range(0, len(labels), step), labels[::step])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        return fig
    fig, ax = _figure(0.45 * len(items) + 1.2)
    ax.barh(range(len(items)), values, color="#4c72b0")
    ax.set_yticks(range(len(items)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(label)
    positive = [v for v in values if v > 0]
    if not pct and positive and max(positive) / min(positive) >= 100:
        # Counts spanning orders of magnitude (14,476 mined beside 5 written): on a linear axis the small ones are
        # invisible. symlog is linear below 1, so a zero still has a place.
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel(f"{label} (log scale)")
    for i, v in enumerate(values):
        ax.text(v, i, f" {fmt_pct(v) if pct else fmt_int(v)}", va="center", fontsize=8)
    ax.margins(x=0.15)
    return fig


def _stacked(path: Path, mix: Counter) -> Path:
    tasks, langs = sorted({t for t, _ in mix}), sorted({lang for _, lang in mix})
    fig, ax = _figure(0.5 * len(tasks) + 1.5)
    left = [0] * len(tasks)
    for lang in langs:
        vals = [mix.get((t, lang), 0) for t in tasks]
        ax.barh(tasks, vals, left=left, label=lang)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("examples written")
    ax.legend(fontsize=8, ncols=min(len(langs), 6), loc="lower right")
    return _save(fig, path)


def _loss(path: Path, history: list) -> Path | None:
    series = {key: [(h["step"], h[key]) for h in history if isinstance(h, dict) and is_num(h.get(key))
                    and is_num(h.get("step"))] for key in ("loss", "eval_loss")}  # fmt: skip
    if not any(series.values()):
        return None
    fig, ax = _figure(3.2)
    for key, style, color in (("loss", "-", "#4c72b0"), ("eval_loss", "o-", "#dd8452")):
        if series[key]:
            ax.plot(*zip(*series[key], strict=True), style, label=LOSS_LABELS[key], color=color)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _eval_bars(path: Path, rows: list[dict]) -> Path:
    fig, ax = _figure(3.2)
    for off, key, label, color in ((-0.2, "base", "base", "#8c8c8c"), (0.2, "ft", "fine-tuned", "#4c72b0")):
        vals = [100 * r[key] if is_num(r[key]) else 0 for r in rows]
        ax.bar([i + off for i in range(len(rows))], vals, width=0.4, label=label, color=color)
    ax.set_xticks(range(len(rows)), [r["benchmark"] for r in rows])
    ax.set_ylabel("pass@1 (%)")
    ax.legend()
    return _save(fig, path)
