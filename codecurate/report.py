"""The run report: one page that says what each stage did, from the files a run folder holds.

    python -c "from codecurate.report import build_report; build_report('runs/demo')"

``build_report(run_dir)`` writes ``report.md`` (PNG plots in ``report_files/``) and ``report.html`` (the same plots
embedded as data URIs, no scripts, no external resources: it renders offline). It reads only the files listed in
docs/run-layout.md and tolerates any of them being absent (the section says "not run") or unreadable (listed under
"Problems"), so it can report on a run that stopped halfway.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from codecurate.io import atomic_write
from codecurate.manifest import manifest_path

log = logging.getLogger(__name__)

# generate's counts in funnel order; the report keeps this order for tables and plots.
GEN_COUNTS = (
    "seeds", "requested", "generated", "parse_failed", "rule_rejected", "disc_rejected", "accepted",
    "validation_failed", "unvalidated", "duplicates", "contaminated", "written",
)  # fmt: skip
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# A section is (title, blocks); a block is ("p", text), ("table", headers, rows) or ("img", name, caption).
Block = tuple
Section = tuple[str, list[Block]]


# --------------------------------------------------------------------------- formatting
def fmt_int(x: Any) -> str:
    return f"{int(x):,}" if _num(x) else "–"


def fmt_float(x: Any, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if _num(x) else "–"


def fmt_pct(x: Any) -> str:
    """A fraction in [0, 1] as a percentage: 0.1234 -> '12.3%'."""
    return f"{100 * x:.1f}%" if _num(x) else "–"


def fmt_delta(x: Any) -> str:
    """A difference of fractions in percentage points, always signed: 0.05 -> '+5.0 pp'."""
    return f"{100 * x:+.1f} pp" if _num(x) else "–"


def _num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _share(part: Any, whole: Any) -> str:
    return fmt_pct(part / whole) if _num(part) and _num(whole) and whole > 0 else "–"


# --------------------------------------------------------------------------- loading
def _read_json(path: Path, notes: list[str]) -> dict:
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


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _count_mix(path: Path, notes: list[str]) -> Counter:
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


def load_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Everything the report needs from a run folder; a stage that did not run maps to empty dicts / None."""
    d = Path(run_dir)
    notes: list[str] = []

    def manifest(output: Path) -> dict:
        return _read_json(manifest_path(output), notes)

    coreset_map = d / "coreset.map.png"
    if coreset_map.is_file() and coreset_map.read_bytes()[:8] != PNG_MAGIC:
        notes.append(f"{coreset_map}: not a PNG image, left out")
        coreset_map = None
    return {
        "dir": d.resolve(),
        "name": d.resolve().name,
        "notes": notes,
        "mine": manifest(d / "seeds.jsonl"),
        "curate": {
            "manifest": manifest(d / "coreset.jsonl"),
            "report": _read_json(d / "coreset.report.json", notes),
            "map": coreset_map if coreset_map and coreset_map.is_file() else None,
        },
        "generate": {
            "manifest": manifest(d / "instructions.jsonl"),
            "report": _read_json(d / "instructions.report.json", notes),
            "mix": _count_mix(d / "instructions.jsonl", notes),
        },
        "finetune": {
            "summary": _read_json(d / "ft" / "training_summary.json", notes),
            "manifest": _read_json(d / "ft" / "manifest.json", notes),
        },
        "eval": {
            "base": _read_json(d / "eval-base" / "summary.json", notes),
            "ft": _read_json(d / "eval-ft" / "summary.json", notes),
        },
    }


# --------------------------------------------------------------------------- derived numbers
def funnel(run: dict) -> list[tuple[str, int]]:
    """(stage, records) from mining to the written dataset; steps whose count was not recorded are left out."""
    mine = _dict(run["mine"].get("counts"))
    cur = _dict(run["curate"]["manifest"].get("counts"))
    gen = _dict(run["generate"]["report"].get("counts"))
    steps = [
        ("mined", mine.get("extracted")),
        ("kept (filters + dedup)", mine.get("kept")),
        ("selected (coreset)", cur.get("selected", run["curate"]["report"].get("n"))),
        ("generated", gen.get("generated")),
        ("accepted (rules + discriminator)", gen.get("accepted")),
        ("held back: code whose tests could not run (unvalidated file)", _held_back(run)),
        ("written (after validation, dedup + decontamination)", gen.get("written")),
        ("of which passed execution checks", gen.get("validated")),
    ]
    return [(label, int(n)) for label, n in steps if _num(n)]


def _held_back(run: dict) -> Any:
    """Unvalidated code examples kept out of the output (None when the run recorded none)."""
    rep = run["generate"]["report"]
    total = _dict(rep.get("counts")).get("unvalidated")
    return total - rep.get("unvalidated_written", 0) if _num(total) and total else None


def trust_lines(run: dict) -> list[str]:
    """Sentences on how far the written code was checked (generate's ``trust`` block), or [] when not recorded."""
    rep = run["generate"]["report"]
    t = _dict(rep.get("trust"))
    if not t:
        return []
    out = []
    if _num(code := t.get("code_written")) and code:
        share = _share(t.get("validated"), code)
        out.append(f"Execution-validated: {fmt_int(t.get('validated'))} of {fmt_int(code)} written code examples "
                   f"({share}; goal 100% with --validate).")  # fmt: skip
    if t.get("unvalidated_written"):
        out.append(f"{fmt_int(t['unvalidated_written'])} written code examples are unvalidated (--keep-unvalidated).")
    reasons = ", ".join(f"{k} {fmt_int(v)}" for k, v in _num_items(rep.get("unvalidated_reasons")))
    if reasons:
        out.append(f"Code examples whose tests could not run, by reason: {reasons}.")
    if _num(t.get("seeds")) and t["seeds"]:
        out.append(f"Seeds with tests (kept at >= 90% line coverage): {fmt_int(t.get('seeds_with_tests'))} of "
                   f"{fmt_int(t['seeds'])} ({_share(t.get('seeds_with_tests'), t['seeds'])}).")  # fmt: skip
    return out


def eval_rows(run: dict) -> list[dict[str, Any]]:
    """One row per (benchmark, pass@k) found in either summary, with the fine-tuned minus base delta, each score's
    95 % interval (``base_ci``, ``ft_ci``; None for summaries without one) and ``same``: the intervals overlap."""
    base = _dict(run["eval"]["base"].get("benchmarks"))
    ft = _dict(run["eval"]["ft"].get("benchmarks"))
    rows = []
    for bench in sorted(set(base) | set(ft)):
        b, f = _dict(base.get(bench)), _dict(ft.get(bench))
        metrics = sorted({k for k in (*b, *f) if k.startswith("pass@")}, key=_k_order)
        for m in metrics:
            bv, fv = b.get(m), f.get(m)
            delta = fv - bv if _num(bv) and _num(fv) else None
            bi, fi = _interval(b, m), _interval(f, m)
            same = bi[0] <= fi[1] and fi[0] <= bi[1] if bi and fi else None
            rows.append({"benchmark": bench, "metric": m, "problems": f.get("problems", b.get("problems")),
                         "base": bv, "ft": fv, "delta": delta, "base_ci": bi, "ft_ci": fi, "same": same})  # fmt: skip
    return rows


def _interval(result: dict, metric: str) -> list[float] | None:
    value = _dict(result.get("intervals")).get(metric)
    return value if isinstance(value, list) and len(value) == 2 and all(_num(v) for v in value) else None


def _with_ci(x: Any, ci: list[float] | None) -> str:
    return fmt_pct(x) + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci and _num(x) else "")


def _delta_text(row: dict[str, Any]) -> str:
    text = fmt_delta(row["delta"])
    if row["delta"] is None or row["same"] is None:
        return text
    return text + (" (no measurable difference)" if row["same"] else "")


def _k_order(metric: str) -> tuple[int, str]:
    digits = re.match(r"pass@(\d+)", metric)
    return (int(digits.group(1)) if digits else 1 << 30, metric)


def _count_of(value: Any) -> Any:
    """per_task / per_language values may be a count or a dict of counts: take the final one."""
    if isinstance(value, dict):
        return next((value[k] for k in ("written", "accepted", "generated") if _num(value.get(k))), None)
    return value


# --------------------------------------------------------------------------- plots
def make_plots(run: dict, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write one PNG per chart that has data into `out_dir`; returns name -> path (see `report_plots`)."""
    # Imported here: report_plots builds on this module's data helpers, so a top-level import would be circular.
    from codecurate.report_plots import make_plots as _make_plots

    return _make_plots(run, out_dir)


def _num_items(d: Any) -> list[tuple[str, float]]:
    return [(str(k), v) for k, v in _dict(d).items() if _num(v)]


def _validation(run: dict) -> list[tuple[str, str, dict]]:
    """(task, language, {run, passed}) from generate's report, skipping malformed cells."""
    out = []
    for task, by_lang in sorted(_dict(run["generate"]["report"].get("validation")).items()):
        for lang, c in sorted(_dict(by_lang).items()):
            if isinstance(c, dict) and _num(c.get("run")) and _num(c.get("passed")):
                out.append((task, lang, c))
    return out


# --------------------------------------------------------------------------- content
def _not_run(stage: str, missing: str) -> Block:
    return ("p", f"Not run: {stage} left no {missing} in this run folder.")


def _total(value: Any) -> Any:
    """A count, or the sum of a reason -> count dict."""
    return sum(v for v in value.values() if isinstance(v, int | float)) if isinstance(value, dict) else value


def sections(run: dict, images: dict[str, Path]) -> list[Section]:
    """The report's content, independent of the output format."""

    def img(name: str, caption: str) -> list[Block]:
        return [("img", name, caption)] if name in images else []

    out: list[Section] = []
    # Mine
    mine = _dict(run["mine"].get("counts"))
    if mine:
        # files_skipped may be a reason -> count dict: the table shows its total.
        total = {k: _total(mine.get(k)) for k in ("files", "files_skipped", "extracted", "kept") if k in mine}
        rows = [[k, fmt_int(v)] for k, v in total.items()]
        rows += [[f"removed: {k}", fmt_int(v)] for k, v in _num_items(mine.get("removed"))]
        runnable = _dict(mine.get("runnable"))
        if runnable.get("python"):  # mine probed its Python seeds in the sandbox (runnable / runnable_reason)
            rows.append(["Python seeds that run alone", f"{fmt_int(runnable.get('runnable', 0))} of "
                         f"{fmt_int(runnable['python'])}"])  # fmt: skip
            rows += [[f"not runnable: {k}", fmt_int(v)] for k, v in _num_items(runnable.get("not_runnable"))]
        blocks: list[Block] = [("table", ["count", "records"], rows)]
        by_lang = sorted(_num_items(mine.get("by_language")), key=lambda kv: -kv[1])
        if by_lang:
            rows = [[k, fmt_int(v), _share(v, mine.get("kept"))] for k, v in by_lang]
            blocks.append(("table", ["language", "seeds", "share"], rows))
    else:
        blocks = [_not_run("mine", "seeds.jsonl.manifest.json")]
    out.append(("Seeds (mine)", blocks))
    # Curate
    rep = run["curate"]["report"]
    if rep:
        rnd = _dict(rep.get("random"))
        n, pool = fmt_int(rep.get("n")), fmt_int(rep.get("pool_size"))
        text = f"Method {rep.get('method', '?')}: {n} selected from a pool of {pool}. Lower distances cover better."
        blocks = [("p", text)]
        rows = []
        for key, label in (("covering_radius", "covering radius"), ("mean_nearest_distance", "mean nearest distance")):
            ours, theirs = rep.get(key), rnd.get(key)
            ratio = f"{ours / theirs:.2f}×" if _num(ours) and _num(theirs) and theirs else "–"
            rows.append([label, fmt_float(ours), fmt_float(theirs), ratio])
        blocks.append(("table", ["cosine distance", rep.get("method", "coreset"), "random", "ratio"], rows))
        blocks += img("coreset_map", "2-D projection of the pool; the coreset is highlighted")
        blocks += img("cluster_sizes", "cluster sizes")
    elif run["curate"]["map"]:
        blocks = img("coreset_map", "2-D projection of the pool; the coreset is highlighted")
    else:
        blocks = [_not_run("curate", "coreset.report.json")]
    out.append(("Coreset (curate)", blocks))
    # Funnel
    steps = funnel(run)
    if steps:
        rows = [[label, fmt_int(n), _share(n, steps[i - 1][1]) if i else "–"] for i, (label, n) in enumerate(steps)]
        note = "Seeds until the coreset, examples after it (a seed can yield several tasks and attempts)."
        blocks = [("p", note), ("table", ["step", "records", "of previous"], rows), *img("funnel", "filter funnel")]
    else:
        blocks = [("p", "Not run: no stage recorded counts yet.")]
    out.append(("Filter funnel", blocks))
    out.append(("Instruction data (generate)", _generate_blocks(run, img)))
    # Finetune
    ft = run["finetune"]["summary"]
    if ft:
        keys = ("base_model", "steps", "tokens_seen", "wall_time_s", "final_train_loss", "final_eval_loss")
        rows = [[k, _fmt_any(ft.get(k))] for k in keys if k in ft]
        blocks = [("table", ["setting", "value"], rows), *img("loss", "training loss")]
    else:
        blocks = [_not_run("finetune", "ft/training_summary.json")]
    out.append(("Fine-tuning", blocks))
    # Eval
    rows = eval_rows(run)
    if rows:
        base_m, ft_m = run["eval"]["base"].get("model", "base"), run["eval"]["ft"].get("model", "fine-tuned")
        note = (
            f"Base: {base_m}. Fine-tuned: {ft_m}. Deltas are fine-tuned minus base, in points. Brackets: 95% "
            "bootstrap interval over problems; overlapping intervals mean no measurable difference."
        )
        blocks = [("p", note)]
        headers = ["benchmark", "metric", "problems", "base", "fine-tuned", "delta"]
        cells = [
            [
                r["benchmark"],
                r["metric"],
                fmt_int(r["problems"]),
                _with_ci(r["base"], r["base_ci"]),
                _with_ci(r["ft"], r["ft_ci"]),
                _delta_text(r),
            ]
            for r in rows
        ]
        blocks.append(("table", headers, cells))
        blocks += img("eval", "pass@1 before and after fine-tuning")
    else:
        blocks = [_not_run("eval", "eval-base/summary.json or eval-ft/summary.json")]
    out.append(("Evaluation", blocks))
    if run["notes"]:
        out.append(("Problems", [("table", ["note"], [[n] for n in run["notes"]])]))
    return out


def _generate_blocks(run: dict, img: Any) -> list[Block]:
    rep = run["generate"]["report"]
    mix = run["generate"]["mix"]
    if not rep and not mix:
        return [_not_run("generate", "instructions.report.json")]
    blocks: list[Block] = []
    per_task = _dict(rep.get("per_task"))
    if per_task:
        cols = [k for k in GEN_COUNTS if any(k in _dict(v) for v in per_task.values())]
        if cols:
            rows = [[t, *(fmt_int(_dict(c).get(k)) for k in cols)] for t, c in sorted(per_task.items())]
            blocks.append(("table", ["task", *cols], rows))
    if mix:
        langs = sorted({lang for _, lang in mix})
        tasks = sorted({t for t, _ in mix})
        rows = [[t, *(fmt_int(mix.get((t, la), 0)) for la in langs), fmt_int(sum(mix[k] for k in mix if k[0] == t))]
                for t in tasks]  # fmt: skip
        blocks.append(("p", "Examples written, by task and language:"))
        blocks.append(("table", ["task", *langs, "total"], rows))
    else:
        per_lang = [(k, _count_of(v)) for k, v in _dict(rep.get("per_language")).items()]
        if per_lang:
            blocks.append(("table", ["language", "examples"], [[k, fmt_int(v)] for k, v in sorted(per_lang)]))
    blocks += img("mix", "task and language mix")
    reasons = sorted(_num_items(rep.get("rejection_reasons")), key=lambda kv: -kv[1])
    if reasons:
        total = sum(v for _, v in reasons)
        blocks.append(("p", "Why examples were rejected (rules, discriminator, validation):"))
        rows = [[k, fmt_int(v), _share(v, total)] for k, v in reasons]
        blocks.append(("table", ["reason", "examples", "share"], rows))
        blocks += img("rejections", "rejection reasons")
    blocks += [("p", line) for line in trust_lines(run)]
    val = _validation(run)
    if val:
        rows = [[t, la, fmt_int(c["run"]), fmt_int(c["passed"]), _share(c["passed"], c["run"])] for t, la, c in val]
        blocks.append(("p", "Execution validation in the sandbox:"))
        blocks.append(("table", ["task", "language", "run", "passed", "pass rate"], rows))
        blocks += img("validation", "validation pass rates")
    hits = _num_items(rep.get("decontamination"))
    if hits:
        blocks.append(("p", "Decontamination: examples dropped for overlapping a benchmark."))
        blocks.append(("table", ["benchmark", "hits"], [[k, fmt_int(v)] for k, v in sorted(hits)]))
    elif rep:
        blocks.append(("p", "Decontamination: not recorded by this run."))
    return blocks or [("p", "generate recorded no counts.")]


def _fmt_any(x: Any) -> str:
    if isinstance(x, bool) or not _num(x):
        return "–" if x is None else str(x)
    return fmt_int(x) if isinstance(x, int) else f"{x:,.4g}"


# --------------------------------------------------------------------------- rendering
def _numeric(cell: Any) -> bool:
    """Cells that are numbers as this module formats them, so tables right-align them."""
    return bool(re.fullmatch(r"[+-]?[\d,.]+(%| pp|×)?|–", str(cell)))


def _md_cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def render_markdown(run: dict, images: dict[str, Path]) -> str:
    """GitHub-flavoured Markdown; images are linked relative to the run folder."""
    lines = [f"# Run report: {run['name']}", "", f"Run folder `{run['dir']}`, report written {_now()}.", ""]
    for title, blocks in sections(run, images):
        lines += [f"## {title}", ""]
        for block in blocks:
            if block[0] == "p":
                lines += [block[1], ""]
            elif block[0] == "table":
                _, headers, rows = block
                lines.append("| " + " | ".join(map(_md_cell, headers)) + " |")
                right = [all(_numeric(row[i]) for row in rows) for i in range(len(headers))]
                lines.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
                lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]
                lines.append("")
            elif block[0] == "img":
                rel = os.path.relpath(images[block[1]], run["dir"])
                lines += [f"![{block[2]}]({Path(rel).as_posix()})", ""]
    return "\n".join(lines)


CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .6em 0 1em; } th, td { padding: .25em .8em; border: 1px solid #ddd; }
th { background: #f5f5f5; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { color: #666; font-size: .9em; }
p.meta { color: #666; }
"""


def render_html(run: dict, images: dict[str, Path]) -> str:
    """One self-contained page: inline CSS, images as base64 data URIs, no scripts, no external links."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Run report: {e(run['name'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Run report: {e(run['name'])}</h1>",
        f'<p class="meta">Run folder <code>{e(str(run["dir"]))}</code>, report written {e(_now())}.</p>',
    ]
    for title, blocks in sections(run, images):
        parts.append(f"<section><h2>{e(title)}</h2>")
        for block in blocks:
            if block[0] == "p":
                parts.append(f"<p>{e(block[1])}</p>")
            elif block[0] == "table":
                _, headers, rows = block
                parts.append("<table><thead><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in headers) + "</tr></thead>")
                parts.append("<tbody>")
                for row in rows:
                    cells = (f"<td{' class=n' if _numeric(c) else ''}>{e(str(c))}</td>" for c in row)
                    parts.append("<tr>" + "".join(cells) + "</tr>")
                parts.append("</tbody></table>")
            elif block[0] == "img":
                data = base64.b64encode(images[block[1]].read_bytes()).decode("ascii")
                parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{e(block[2])}">'
                             f"<figcaption>{e(block[2])}</figcaption></figure>")  # fmt: skip
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M")


def build_report(run_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (plots in ``report_files/``) into `run_dir`; returns their paths."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    images = make_plots(run, run_dir / "report_files")
    for stale in set((run_dir / "report_files").glob("*.png")) - set(images.values()):
        stale.unlink()  # a chart from an earlier build whose data is gone now
    md_path, html_path = run_dir / "report.md", run_dir / "report.html"
    with atomic_write(md_path) as fh:
        fh.write(render_markdown(run, images))
    with atomic_write(html_path) as fh:
        fh.write(render_html(run, images))
    for note in run["notes"]:
        log.warning("report: %s", note)
    log.info("report: %s", html_path)
    return html_path, md_path
