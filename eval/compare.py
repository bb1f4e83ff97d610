"""Two eval runs side by side: every pass@k of every benchmark either run has, with its 95 % interval, and the
B - A delta with a verdict: "no measurable difference" when the two intervals overlap."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from codecurate.errors import UserError
from codecurate.eval.passk import overlap

NO_DIFFERENCE = "no measurable difference"


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
    """Rows ``(benchmark, metric, A, B, delta)``. A and B read ``0.300 [0.120, 0.540]`` (the score and its 95 %
    interval); delta is B - A, followed by "(no measurable difference)" when the intervals overlap. A metric one run
    lacks shows as "-" with no delta; a summary without intervals (older runs) shows the bare score."""
    sa, sb = load_summary(a)["benchmarks"], load_summary(b)["benchmarks"]
    rows = []
    for bench in dict.fromkeys([*sa, *sb]):
        ra, rb = sa.get(bench, {}), sb.get(bench, {})
        metrics = sorted({k for k in (*ra, *rb) if k.startswith("pass@")}, key=lambda k: int(k[5:]))
        for m in metrics:
            va, vb = ra.get(m), rb.get(m)
            ia, ib = _interval(ra, m), _interval(rb, m)
            rows.append((bench, m, fmt_score(va, ia), fmt_score(vb, ib), verdict(va, vb, ia, ib)))
    return rows


def _interval(result: dict, metric: str) -> list[float] | None:
    value = (result.get("intervals") or {}).get(metric)
    return value if isinstance(value, list) and len(value) == 2 else None


def verdict(va: float | None, vb: float | None, ia: list[float] | None, ib: list[float] | None) -> str:
    """B - A, and whether the 95 % intervals tell the two apart."""
    if va is None or vb is None:
        return ""
    same = overlap(ia, ib)
    if same is None:
        return f"{vb - va:+.3f} (no interval)"
    return f"{vb - va:+.3f}" + (f" ({NO_DIFFERENCE})" if same else "")


def fmt_score(v: float | None, interval: list[float] | None = None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")


def format_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain fixed-width text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
