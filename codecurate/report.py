"""The run report: one page that says what each stage did, from the files a run folder holds.

    python -c "from codecurate.report import build_report; build_report('runs/demo')"

``build_report(run_dir)`` writes ``report.md`` (PNG plots in ``report_files/``) and ``report.html`` (the same plots
embedded as data URIs, no scripts, no external resources: it renders offline). It reads only the files listed in
docs/run-layout.md and tolerates any of them being absent (the section says "not run") or unreadable (listed under
"Problems"), so it can report on a run that stopped halfway.

The pieces: `codecurate.report_data` loads the run folder into one typed `RunSummary` and derives the numbers,
`codecurate.report_text` turns them into sections, `codecurate.report_plots` draws the charts; this module renders
the sections as Markdown and HTML.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from codecurate.io import atomic_write
from codecurate.report_data import RunSummary, eval_rows, funnel, load_run
from codecurate.report_plots import make_plots
from codecurate.report_text import fmt_delta, fmt_float, fmt_int, fmt_pct, sections, trust_lines
from codecurate.stages import RunFolder

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- rendering
def _numeric(cell: Any) -> bool:
    """Cells that are numbers as this module formats them, so tables right-align them."""
    return bool(re.fullmatch(r"[+-]?[\d,.]+(%| pp|×)?|–", str(cell)))


def _md_cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def render_markdown(run: RunSummary, images: dict[str, Path]) -> str:
    """GitHub-flavoured Markdown; images are linked relative to the run folder."""
    lines = [f"# Run report: {run.name}", "", f"Run folder `{run.dir}`, report written {_now()}.", ""]
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
                rel = os.path.relpath(images[block[1]], run.dir)
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


def render_html(run: RunSummary, images: dict[str, Path]) -> str:
    """One self-contained page: inline CSS, images as base64 data URIs, no scripts, no external links."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Run report: {e(run.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Run report: {e(run.name)}</h1>",
        f'<p class="meta">Run folder <code>{e(str(run.dir))}</code>, report written {e(_now())}.</p>',
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
    folder = RunFolder(Path(run_dir))
    run = load_run(folder.root)
    images = make_plots(run, folder.report_files)
    for stale in set(folder.report_files.glob("*.png")) - set(images.values()):
        stale.unlink()  # a chart from an earlier build whose data is gone now
    md_path, html_path = folder.report_md, folder.report_html
    with atomic_write(md_path) as fh:
        fh.write(render_markdown(run, images))
    with atomic_write(html_path) as fh:
        fh.write(render_html(run, images))
    for note in run.notes:
        log.warning("report: %s", note)
    log.info("report: %s", html_path)
    return html_path, md_path


__all__ = [
    "build_report", "eval_rows", "fmt_delta", "fmt_float", "fmt_int", "fmt_pct", "funnel", "load_run", "make_plots",
    "render_html", "render_markdown", "trust_lines",
]  # fmt: skip
