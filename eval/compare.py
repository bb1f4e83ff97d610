"""Two eval runs side by side: every pass@k of every benchmark either run has, with B - A deltas."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from codecurate.errors import UserError


def load_summary(run_dir: str | Path) -> dict:
    path = Path(run_dir)
    path = path if path.is_file() else path / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file (is this an eval output folder?)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: cannot read eval summary: {e}") from None
    if not isinstance(data.get("benchmarks"), dict):
        raise UserError(f"{path}: field 'benchmarks' missing; not an eval summary")
    return data


def compare(a: str | Path, b: str | Path) -> list[tuple[str, str, str, str, str]]:
    """Rows ``(benchmark, metric, A, B, delta)``; a metric one run lacks shows as "-" with no delta."""
    sa, sb = load_summary(a)["benchmarks"], load_summary(b)["benchmarks"]
    rows = []
    for bench in dict.fromkeys([*sa, *sb]):
        ra, rb = sa.get(bench, {}), sb.get(bench, {})
        metrics = sorted({k for k in (*ra, *rb) if k.startswith("pass@")}, key=lambda k: int(k[5:]))
        for m in metrics:
            va, vb = ra.get(m), rb.get(m)
            delta = f"{vb - va:+.3f}" if va is not None and vb is not None else ""
            rows.append((bench, m, _fmt(va), _fmt(vb), delta))
    return rows


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def format_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain fixed-width text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
