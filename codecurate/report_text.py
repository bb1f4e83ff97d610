"""The run report's words: number formats and the content of each section, independent of the output format.

    sections(load_run("runs/demo"), images)   # [(title, blocks)], rendered by codecurate.report

A block is ("p", text), ("table", headers, rows) or ("img", name, caption); an image block appears only when its
chart was drawn (`images` holds its name).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from codecurate.report_data import (
    RunSummary,
    as_dict,
    eval_rows,
    funnel,
    is_num,
    num_items,
    rejection_reasons,
    validation_cells,
)
from codecurate.stages import CORESET, EVAL_BASE, EVAL_FT, FT, INSTRUCTIONS, SEEDS, beside, manifest_of

# generate's counts in funnel order; the report keeps this order for tables and plots.
GEN_COUNTS = (
    "seeds", "requested", "generated", "parse_failed", "rule_rejected", "disc_rejected", "accepted",
    "validation_failed", "unvalidated", "duplicates", "contaminated", "written",
)  # fmt: skip

Block = tuple
Section = tuple[str, list[Block]]


def fmt_int(x: Any) -> str:
    return f"{int(x):,}" if is_num(x) else "–"


def fmt_float(x: Any, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if is_num(x) else "–"


def fmt_pct(x: Any) -> str:
    """A fraction in [0, 1] as a percentage: 0.1234 -> '12.3%'."""
    return f"{100 * x:.1f}%" if is_num(x) else "–"


def fmt_delta(x: Any) -> str:
    """A difference of fractions in percentage points, always signed: 0.05 -> '+5.0 pp'."""
    return f"{100 * x:+.1f} pp" if is_num(x) else "–"


def share(part: Any, whole: Any) -> str:
    return fmt_pct(part / whole) if is_num(part) and is_num(whole) and whole > 0 else "–"


def trust_lines(run: RunSummary) -> list[str]:
    """Sentences on how far the written code was checked (generate's ``trust`` block), or [] when not recorded."""
    rep = run.generate.report
    t = as_dict(rep.get("trust"))
    if not t:
        return []
    out = []
    if is_num(code := t.get("code_written")) and code:
        part = share(t.get("validated"), code)
        out.append(f"Execution-validated: {fmt_int(t.get('validated'))} of {fmt_int(code)} written code examples "
                   f"({part}; goal 100% with --validate).")  # fmt: skip
    if t.get("unvalidated_written"):
        out.append(f"{fmt_int(t['unvalidated_written'])} written code examples are unvalidated (--keep-unvalidated).")
    reasons = ", ".join(f"{k} {fmt_int(v)}" for k, v in num_items(rep.get("unvalidated_reasons")))
    if reasons:
        out.append(f"Code examples whose tests could not run, by reason: {reasons}.")
    if is_num(t.get("seeds")) and t["seeds"]:
        out.append(f"Seeds with tests (kept at >= 90% line coverage): {fmt_int(t.get('seeds_with_tests'))} of "
                   f"{fmt_int(t['seeds'])} ({share(t.get('seeds_with_tests'), t['seeds'])}).")  # fmt: skip
    return out


def _with_ci(x: Any, ci: list[float] | None) -> str:
    return fmt_pct(x) + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci and is_num(x) else "")


def _delta_text(row: dict[str, Any]) -> str:
    text = fmt_delta(row["delta"])
    if row["delta"] is None or row["same"] is None:
        return text
    return text + (" (no measurable difference)" if row["same"] else "")


def _count_of(value: Any) -> Any:
    """per_task / per_language values may be a count or a dict of counts: take the final one."""
    if isinstance(value, dict):
        return next((value[k] for k in ("written", "accepted", "generated") if is_num(value.get(k))), None)
    return value


def _not_run(stage: str, missing: str) -> Block:
    return ("p", f"Not run: {stage} left no {missing} in this run folder.")


def _total(value: Any) -> Any:
    """A count, or the sum of a reason -> count dict."""
    return sum(v for v in value.values() if isinstance(v, int | float)) if isinstance(value, dict) else value


Img = Callable[[str, str], list[Block]]  # (chart name, caption) -> its block, or none when it was not drawn


def sections(run: RunSummary, images: dict[str, Path]) -> list[Section]:
    """The report's content, independent of the output format."""

    def img(name: str, caption: str) -> list[Block]:
        return [("img", name, caption)] if name in images else []

    out: list[Section] = [
        ("Seeds (mine)", _mine_blocks(run)),
        ("Coreset (curate)", _curate_blocks(run, img)),
        ("Filter funnel", _funnel_blocks(run, img)),
        ("Instruction data (generate)", _generate_blocks(run, img)),
        ("Fine-tuning", _finetune_blocks(run, img)),
        ("Evaluation", _eval_blocks(run, img)),
    ]
    if run.notes:
        out.append(("Problems", [("table", ["note"], [[n] for n in run.notes])]))
    return out


def _mine_blocks(run: RunSummary) -> list[Block]:
    mine = as_dict(run.mine.get("counts"))
    if not mine:
        return [_not_run("mine", manifest_of(SEEDS))]
    # files_skipped may be a reason -> count dict: the table shows its total.
    total = {k: _total(mine.get(k)) for k in ("files", "files_skipped", "extracted", "kept") if k in mine}
    rows = [[k, fmt_int(v)] for k, v in total.items()]
    rows += [[f"removed: {k}", fmt_int(v)] for k, v in num_items(mine.get("removed"))]
    runnable = as_dict(mine.get("runnable"))
    if runnable.get("python"):  # mine probed its Python seeds in the sandbox (runnable / runnable_reason)
        rows.append(["Python seeds that run alone", f"{fmt_int(runnable.get('runnable', 0))} of "
                     f"{fmt_int(runnable['python'])}"])  # fmt: skip
        rows += [[f"not runnable: {k}", fmt_int(v)] for k, v in num_items(runnable.get("not_runnable"))]
    blocks: list[Block] = [("table", ["count", "records"], rows)]
    by_lang = sorted(num_items(mine.get("by_language")), key=lambda kv: -kv[1])
    if by_lang:
        rows = [[k, fmt_int(v), share(v, mine.get("kept"))] for k, v in by_lang]
        blocks.append(("table", ["language", "seeds", "share"], rows))
    return blocks


def _curate_blocks(run: RunSummary, img: Img) -> list[Block]:
    rep = run.curate.report
    if not rep:
        if run.curate.map:
            return img("coreset_map", "2-D projection of the pool; the coreset is highlighted")
        return [_not_run("curate", beside(CORESET, "report.json"))]
    rnd = as_dict(rep.get("random"))
    n, pool = fmt_int(rep.get("n")), fmt_int(rep.get("pool_size"))
    text = f"Method {rep.get('method', '?')}: {n} selected from a pool of {pool}. Lower distances cover better."
    blocks: list[Block] = [("p", text)]
    rows = []
    for key, label in (("covering_radius", "covering radius"), ("mean_nearest_distance", "mean nearest distance")):
        ours, theirs = rep.get(key), rnd.get(key)
        ratio = f"{ours / theirs:.2f}×" if is_num(ours) and is_num(theirs) and theirs else "–"
        rows.append([label, fmt_float(ours), fmt_float(theirs), ratio])
    blocks.append(("table", ["cosine distance", rep.get("method", "coreset"), "random", "ratio"], rows))
    blocks += img("coreset_map", "2-D projection of the pool; the coreset is highlighted")
    blocks += img("cluster_sizes", "cluster sizes")
    return blocks


def _funnel_blocks(run: RunSummary, img: Img) -> list[Block]:
    steps = funnel(run)
    if not steps:
        return [("p", "Not run: no stage recorded counts yet.")]
    rows = [[label, fmt_int(n), share(n, steps[i - 1][1]) if i else "–"] for i, (label, n) in enumerate(steps)]
    note = "Seeds until the coreset, examples after it (a seed can yield several tasks and attempts)."
    return [("p", note), ("table", ["step", "records", "of previous"], rows), *img("funnel", "filter funnel")]


def _finetune_blocks(run: RunSummary, img: Img) -> list[Block]:
    ft = run.finetune.summary
    if not ft:
        return [_not_run("finetune", f"{FT}/training_summary.json")]
    keys = ("base_model", "steps", "tokens_seen", "wall_time_s", "final_train_loss", "final_eval_loss")
    rows = [[k, _fmt_any(ft.get(k))] for k in keys if k in ft]
    return [("table", ["setting", "value"], rows), *img("loss", "training loss")]


def _eval_blocks(run: RunSummary, img: Img) -> list[Block]:
    rows = eval_rows(run)
    if not rows:
        return [_not_run("eval", f"{EVAL_BASE}/summary.json or {EVAL_FT}/summary.json")]
    base_m, ft_m = run.eval.base.get("model", "base"), run.eval.ft.get("model", "fine-tuned")
    note = (
        f"Base: {base_m}. Fine-tuned: {ft_m}. Deltas are fine-tuned minus base, in points. Brackets: 95% "
        "bootstrap interval over problems; overlapping intervals mean no measurable difference."
    )
    headers = ["benchmark", "metric", "problems", "base", "fine-tuned", "delta"]
    cells = [
        [r["benchmark"], r["metric"], fmt_int(r["problems"]), _with_ci(r["base"], r["base_ci"]),
         _with_ci(r["ft"], r["ft_ci"]), _delta_text(r)]
        for r in rows
    ]  # fmt: skip
    return [("p", note), ("table", headers, cells), *img("eval", "pass@1 before and after fine-tuning")]


def _generate_blocks(run: RunSummary, img: Img) -> list[Block]:
    rep = run.generate.report
    mix = run.generate.mix
    if not rep and not mix:
        return [_not_run("generate", beside(INSTRUCTIONS, "report.json"))]
    blocks: list[Block] = []
    per_task = as_dict(rep.get("per_task"))
    if per_task:
        cols = [k for k in GEN_COUNTS if any(k in as_dict(v) for v in per_task.values())]
        if cols:
            rows = [[t, *(fmt_int(as_dict(c).get(k)) for k in cols)] for t, c in sorted(per_task.items())]
            blocks.append(("table", ["task", *cols], rows))
    if mix:
        langs = sorted({lang for _, lang in mix})
        tasks = sorted({t for t, _ in mix})
        rows = [[t, *(fmt_int(mix.get((t, la), 0)) for la in langs), fmt_int(sum(mix[k] for k in mix if k[0] == t))]
                for t in tasks]  # fmt: skip
        blocks.append(("p", "Examples written, by task and language:"))
        blocks.append(("table", ["task", *langs, "total"], rows))
    else:
        per_lang = [(k, _count_of(v)) for k, v in as_dict(rep.get("per_language")).items()]
        if per_lang:
            blocks.append(("table", ["language", "examples"], [[k, fmt_int(v)] for k, v in sorted(per_lang)]))
    blocks += img("mix", "task and language mix")
    reasons = rejection_reasons(run)
    if reasons:
        total = sum(v for _, v in reasons)
        blocks.append(("p", "Why examples were rejected (rules, discriminator, validation):"))
        rows = [[k, fmt_int(v), share(v, total)] for k, v in reasons]
        blocks.append(("table", ["reason", "examples", "share"], rows))
        blocks += img("rejections", "rejection reasons")
    blocks += [("p", line) for line in trust_lines(run)]
    val = validation_cells(run)
    if val:
        rows = [[t, la, fmt_int(c["run"]), fmt_int(c["passed"]), share(c["passed"], c["run"])] for t, la, c in val]
        blocks.append(("p", "Execution validation in the sandbox:"))
        blocks.append(("table", ["task", "language", "run", "passed", "pass rate"], rows))
        blocks += img("validation", "validation pass rates")
    hits = num_items(rep.get("decontamination"))
    if hits:
        blocks.append(("p", "Decontamination: examples dropped for overlapping a benchmark."))
        blocks.append(("table", ["benchmark", "hits"], [[k, fmt_int(v)] for k, v in sorted(hits)]))
    elif rep:
        blocks.append(("p", "Decontamination: not recorded by this run."))
    return blocks or [("p", "generate recorded no counts.")]


def _fmt_any(x: Any) -> str:
    if isinstance(x, bool) or not is_num(x):
        return "–" if x is None else str(x)
    return fmt_int(x) if isinstance(x, int) else f"{x:,.4g}"
