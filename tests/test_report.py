"""The run report and the dataset card, built from synthetic run folders that follow docs/run-layout.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codecurate.report import build_report, eval_rows, fmt_delta, fmt_pct, funnel, load_run


def _png(path: Path, color: str = "red") -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.subplots().scatter([0, 1, 2], [1, 0, 2], color=color)
    fig.savefig(path, format="png")


def _json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def _manifest(output: Path, stage: str, config: dict, counts: dict) -> None:
    path = output / "manifest.json" if output.suffix == "" else output.with_name(output.name + ".manifest.json")
    _json(path, {"stage": stage, "config": config, "counts": counts, "inputs": {}, "versions": {"codecurate": "0.1.0"}})


def make_run(root: Path, stages: tuple[str, ...] = ("mine", "curate", "generate", "finetune", "eval")) -> Path:
    """A run folder with every file a complete run leaves (numbers chosen so each derived value is checkable)."""
    run = root / "run"
    run.mkdir(parents=True)
    if "mine" in stages:
        (run / "seeds.jsonl").write_text("")
        _manifest(run / "seeds.jsonl", "mine", {"src": ["/usr/lib/python3.11"], "languages": ["python"]},
                  {"files": 120, "files_skipped": 3, "extracted": 1000, "removed": {"dedup": 150, "too_short": 50},
                   "kept": 800, "by_language": {"python": 800}})  # fmt: skip
    if "curate" in stages:
        (run / "coreset.jsonl").write_text("")
        _manifest(run / "coreset.jsonl", "curate", {"method": "kcenter", "n": 200, "encoder": "minilm"},
                  {"pool": 800, "selected": 200, "embedded": 800, "cached": 0})  # fmt: skip
        _json(run / "coreset.report.json", {
            "method": "kcenter", "n": 200, "pool_size": 800, "covering_radius": 0.42, "mean_nearest_distance": 0.21,
            "cluster_sizes": {"1": 40, "2": 60, "5": 8},
            "random": {"covering_radius": 0.84, "mean_nearest_distance": 0.28},
        })  # fmt: skip
        _png(run / "coreset.map.png")
    if "generate" in stages:
        mix = (("generate", "python", 60), ("summarize", "python", 30), ("translate", "javascript", 10))
        recs = [{"task": t, "language": lang, "messages": []} for t, lang, n in mix for _ in range(n)]
        (run / "instructions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        _manifest(
            run / "instructions.jsonl",
            "generate",
            {
                "model": "smollm2",
                "validate": True,
                "decontaminate_with": ["data/humaneval", "data/multipl_e_humaneval"],
            },
            {},
        )
        _json(run / "instructions.report.json", {
            "counts": {"seeds": 200, "requested": 400, "generated": 390, "parse_failed": 10, "rule_rejected": 80,
                       "disc_rejected": 60, "accepted": 250, "validation_failed": 140, "duplicates": 7,
                       "contaminated": 3, "written": 100, "validated": 70},
            "per_task": {"generate": {"generated": 200, "accepted": 150, "written": 60},
                         "summarize": {"generated": 190, "accepted": 100, "written": 40}},
            "per_language": {"python": 90, "javascript": 10},
            "rejection_reasons": {"too_short": 50, "disc:unhelpful": 60, "tests_failed": 140, "no_code_block": 30},
            "decontamination": {"humaneval": 2, "multipl_e": 1},
            "validation": {"generate": {"python": {"run": 150, "passed": 60}, "javascript": {"run": 10, "passed": 5}}},
        })  # fmt: skip
    if "finetune" in stages:
        history = [{"step": s, "loss": 2.0 - 0.1 * s} for s in range(1, 11)] + [{"step": 10, "eval_loss": 1.3}]
        _json(run / "ft" / "training_summary.json", {
            "base_model": "smollm2", "steps": 10, "tokens_seen": 40960, "wall_time_s": 65.2,
            "final_train_loss": 1.0, "final_eval_loss": 1.3, "log_history": history,
        })  # fmt: skip
    if "eval" in stages:
        for name, model, p1, p10 in (("eval-base", "smollm2", 0.125, 0.25), ("eval-ft", "run/ft", 0.1875, 0.3)):
            _json(run / name / "summary.json", {"model": model, "benchmarks": {
                "humaneval": {"problems": 164, "samples_per_problem": 10, "pass@1": p1, "pass@10": p10},
                "mbpp": {"problems": 500, "samples_per_problem": 1, "pass@1": p1 / 2},
            }})  # fmt: skip
    return run


def test_formatting_is_consistent() -> None:
    assert fmt_pct(0.1234) == "12.3%"
    assert fmt_delta(0.05) == "+5.0 pp"
    assert fmt_delta(-0.0125) == "-1.2 pp"
    assert fmt_pct(None) == fmt_delta(float("nan")) == "–"


def test_full_run_report(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    html_path, md_path = build_report(run_dir)
    md = md_path.read_text()
    # Funnel: mined -> kept -> selected -> generated -> accepted -> written -> of which passed execution.
    assert [n for _, n in funnel(load_run(run_dir))] == [1000, 800, 200, 390, 250, 100, 70]
    assert "| of which passed execution checks | 70 | 70.0% |" in md
    # Coverage vs random with the ratio; eval deltas signed, in points.
    assert "| covering radius | 0.420 | 0.840 | 0.50× |" in md
    assert "| humaneval | pass@1 | 164 | 12.5% | 18.8% | +6.2 pp |" in md
    assert "| mbpp | pass@1 | 500 | 6.2% | 9.4% | +3.1 pp |" in md
    # Mix counted from instructions.jsonl itself; validation pass rates; rejection shares; decontamination.
    assert "| translate | 10 | 0 | 10 |" in md
    assert "| generate | python | 150 | 60 | 40.0% |" in md
    assert "| tests_failed | 140 | 50.0% |" in md
    assert "| multipl_e | 1 |" in md
    assert "Not run" not in md and "## Problems" not in md
    expected = {"coreset_map", "cluster_sizes", "funnel", "mix", "rejections", "validation", "loss", "eval"}
    files = {p.stem for p in (run_dir / "report_files").iterdir()}
    assert files == expected
    for name in expected:
        assert f"](report_files/{name}.png)" in md
        assert (run_dir / "report_files" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = html_path.read_text()
    srcs = re.findall(r'<img src="([^"]*)"', page)
    assert len(srcs) == len(expected) and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"(src|href)=\"(https?:|//|file:)", page) and "<script" not in page
    assert (run_dir / "report_files" / "coreset_map.png").read_bytes() == (run_dir / "coreset.map.png").read_bytes()


def test_empty_run_folder_says_not_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    html_path, md_path = build_report(run_dir)
    md = md_path.read_text()
    assert md.count("Not run") == 6  # mine, curate, funnel, generate, finetune, eval
    assert "<img" not in html_path.read_text()
    assert not any((run_dir / "report_files").iterdir())


def test_partial_run_and_missing_keys(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, stages=("curate", "generate"))
    # A summary without benchmarks and a report missing most keys must not crash or invent numbers.
    (run_dir / "instructions.report.json").write_text(json.dumps({"counts": {"generated": 5, "accepted": 4}}))
    (run_dir / "eval-ft").mkdir()
    (run_dir / "eval-ft" / "summary.json").write_text(json.dumps({"model": "x"}))
    md = build_report(run_dir)[1].read_text()
    assert "Not run: mine" in md and "Not run: finetune" in md and "Not run: eval" in md
    assert "| generated | 5 |" in md and "| accepted (rules + discriminator) | 4 | 80.0% |" in md
    assert "passed execution checks" not in md  # not recorded: no number is invented
    assert "Decontamination: not recorded" in md


def test_corrupt_files_are_reported_not_fatal(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    (run_dir / "coreset.report.json").write_text("{not json")
    (run_dir / "coreset.map.png").write_bytes(b"GIF89a....")
    (run_dir / "ft" / "training_summary.json").write_text("[1, 2]")
    with open(run_dir / "instructions.jsonl", "a") as fh:
        fh.write("{torn\n")
    md = build_report(run_dir)[1].read_text()
    assert "## Problems" in md
    assert "coreset.report.json: unreadable" in md
    assert "coreset.map.png: not a PNG image" in md
    assert "1 unreadable line(s)" in md
    assert "training_summary.json: expected a JSON object, got list" in md and "Not run: finetune" in md
    assert "Not run: curate" in md
    assert "| generate | 0 | 60 | 60 |" in md  # the good lines are still counted


def test_eval_rows_union_of_benchmarks(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, stages=("eval",))
    summary = json.loads((run_dir / "eval-ft" / "summary.json").read_text())
    summary["benchmarks"]["humanevalpack"] = {"problems": 164, "pass@1": 0.5}
    (run_dir / "eval-ft" / "summary.json").write_text(json.dumps(summary))
    rows = eval_rows(load_run(run_dir))
    assert [(r["benchmark"], r["metric"]) for r in rows] == [
        ("humaneval", "pass@1"), ("humaneval", "pass@10"), ("humanevalpack", "pass@1"), ("mbpp", "pass@1"),
    ]  # fmt: skip
    hep = rows[2]
    assert hep["base"] is None and hep["delta"] is None and hep["ft"] == 0.5
    assert rows[0]["delta"] == pytest.approx(0.0625)


def test_rebuild_replaces_cleanly(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    first = build_report(run_dir)[1].read_text()
    second = build_report(run_dir)[1].read_text()
    assert first.splitlines()[4:] == second.splitlines()[4:]  # only the timestamp line may differ
    assert not [p for p in run_dir.rglob(".*.tmp")]
    for name in ("eval-base", "eval-ft"):
        for f in (run_dir / name).iterdir():
            f.unlink()
    md = build_report(run_dir)[1].read_text()
    assert "Not run: eval" in md and not (run_dir / "report_files" / "eval.png").exists()


def _dataset(run_dir: Path, n: int = 100) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [json.loads(line) for line in (run_dir / "instructions.jsonl").read_text().splitlines()][:n]
    rows = [{"id": str(i), "task": r["task"], "language": r["language"], "output": "x"} for i, r in enumerate(recs)]
    path = run_dir / "dataset" / "data" / "train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return run_dir / "dataset"


def _front_matter(text: str) -> dict:
    import yaml

    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_dataset_card_front_matter_and_body(tmp_path: Path) -> None:
    from huggingface_hub import DatasetCard

    from codecurate.card import write_dataset_card

    run_dir = make_run(tmp_path)
    dataset_dir = _dataset(run_dir, n=70)
    text = write_dataset_card(run_dir, dataset_dir).read_text()
    meta = _front_matter(text)
    assert meta["license"] == "other" and meta["license_name"] == "psf-2.0"  # stdlib-only sources
    assert meta["language"] == ["en", "code"] and meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert {"code", "python"} <= set(meta["tags"]) and "javascript" not in meta["tags"]  # the first 70 rows
    (config,) = meta["configs"]
    (files,) = config["data_files"]
    assert files["split"] == "train" and (dataset_dir / files["path"]).is_file()
    assert DatasetCard.load(dataset_dir / "README.md").data.to_dict()["license_name"] == "psf-2.0"
    assert "| train | `data/train-00000-of-00001.parquet` | 70 |" in text
    assert "Examples per task: generate 60, summarize 10." in text  # counted from the Parquet file
    assert "Python standard library: PSF-2.0" in text
    assert "MultiPL-E: BSD-3-Clause with a machine-learning restriction" in text and "HumanEval: MIT" in text
    assert "humaneval 2, multipl_e 1" in text
    assert "135M-parameter" in text
    assert "`method=kcenter`, `n=200`, `encoder=minilm`" in text
    assert "| written (after validation, dedup + decontamination) | 100 |" in text


def test_dataset_card_mixed_sources_and_no_files(tmp_path: Path) -> None:
    from codecurate.card import classify_source, size_category, write_dataset_card

    run_dir = make_run(tmp_path, stages=("mine",))
    manifest = run_dir / "seeds.jsonl.manifest.json"
    m = json.loads(manifest.read_text())
    m["config"]["src"] = ["/usr/lib/python3.11", "python_train.jsonl.gz", str(tmp_path)]
    manifest.write_text(json.dumps(m))
    text = write_dataset_card(run_dir, run_dir / "dataset").read_text()
    meta = _front_matter(text)
    assert meta["license"] == "other" and meta["license_name"] == "mixed-source-licences"
    assert "configs" not in meta and "No Parquet files" in text
    assert "various) licences" in text and f"local code `{tmp_path}`" in text
    assert "No decontamination against benchmarks was recorded" in text
    assert "Answers were not executed" in text
    assert classify_source("bigcode/the-stack-smol:python")[0] == "hub"
    assert [size_category(n) for n in (0, 999, 1000, 10_000, 250_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M",
    ]  # fmt: skip


def test_unvalidated_and_trust_lines_in_report_and_card(tmp_path: Path) -> None:
    from codecurate.card import render_card

    run_dir = make_run(tmp_path)
    path = run_dir / "instructions.report.json"
    rep = json.loads(path.read_text())
    rep["counts"] |= {"unvalidated": 12, "code_written": 60}
    rep["unvalidated_written"] = 0
    rep["unvalidated_reasons"] = {"runtime_missing": 8, "no_tests": 4}
    rep["trust"] = {"code_written": 60, "validated": 60, "validated_share": 1.0, "unvalidated_written": 0,
                    "seeds": 200, "seeds_with_tests": 180, "seeds_with_tests_share": 0.9}  # fmt: skip
    path.write_text(json.dumps(rep))
    steps = dict(funnel(load_run(run_dir)))
    assert steps["held back: code whose tests could not run (unvalidated file)"] == 12
    md = build_report(run_dir)[1].read_text()
    assert "Execution-validated: 60 of 60 written code examples (100.0%; goal 100% with --validate)." in md
    assert "Code examples whose tests could not run, by reason: runtime_missing 8, no_tests 4." in md
    assert "Seeds with tests (kept at >= 90% line coverage): 180 of 200 (90.0%)." in md
    card = render_card(load_run(run_dir), tmp_path / "ds")
    assert "- Execution-validated: 60 of 60" in card and "| held back: code whose tests could not run" in card


def test_mine_runnable_counts_from_the_mine_stage_render(tmp_path: Path) -> None:
    """The runnable figure as mine really writes it (a nested count dict), not a hand-written flat one."""
    from codecurate.curate.mine_python import runnable_counts

    records = [
        {"language": "python", "runnable": True},
        {"language": "python", "runnable": False, "runnable_reason": "NameError: name 'x' is not defined"},
        {"language": "javascript", "runnable": False, "runnable_reason": "not Python"},
    ]
    run_dir = make_run(tmp_path, stages=("mine",))
    manifest = run_dir / "seeds.jsonl.manifest.json"
    data = json.loads(manifest.read_text())
    data["counts"]["runnable"] = runnable_counts(records)
    manifest.write_text(json.dumps(data))
    md = build_report(run_dir)[1].read_text()
    assert re.search(r"Python seeds that run alone\s*\|\s*1 of 2", md)
    assert "not runnable:" in md
