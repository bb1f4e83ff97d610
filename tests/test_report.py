"""The run report and the dataset card, built from the golden run folder that the real stages wrote (golden_run.py):
what the report reads is what mine, curate, generate, finetune and eval really write, not a hand-written copy."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from golden_run import BODIES, EVAL_PROBLEMS, golden_run  # noqa: F401  (golden_run: the fixture)

from codecurate.report import build_report, eval_rows, fmt_delta, fmt_float, fmt_pct, funnel, load_run

CHARTS = {"coreset_map", "cluster_sizes", "funnel", "mix", "rejections", "validation", "loss", "eval"}


@pytest.fixture
def run_dir(golden_run: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A copy of the golden run folder this test may change."""
    return Path(shutil.copytree(golden_run, tmp_path / "run", symlinks=True))


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_formatting_is_consistent() -> None:
    assert fmt_pct(0.1234) == "12.3%"
    assert fmt_delta(0.05) == "+5.0 pp"
    assert fmt_delta(-0.0125) == "-1.2 pp"
    assert fmt_pct(None) == fmt_delta(float("nan")) == "–"


def test_full_run_report(run_dir: Path) -> None:
    html_path, md_path = build_report(run_dir)
    md = md_path.read_text()
    gen = _read(run_dir / "instructions.report.json")
    c = gen["counts"]
    # Funnel: the tree holds the seed functions, one duplicate and one too short (golden_run.source_tree); the
    # coreset has 4; generate's steps are its own counts, the unvalidated ones held back.
    steps = funnel(load_run(run_dir))
    assert [n for _, n in steps] == [len(BODIES) + 2, len(BODIES), 4, c["generated"], c["accepted"], c["unvalidated"],
                                     c["written"], c["validated"]]  # fmt: skip
    assert c["unvalidated"] > 0 and c["validation_failed"] > 0  # the golden run exercises both (WRONG, julia)
    assert "| removed: exact_dup | 1 |" in md and "| removed: code_lines | 1 |" in md
    # Coverage vs random with the ratio, from curate's report.
    cur = _read(run_dir / "coreset.report.json")
    ours, rnd = cur["covering_radius"], cur["random"]["covering_radius"]
    assert f"| covering radius | {fmt_float(ours)} | {fmt_float(rnd)} | {ours / rnd:.2f}× |" in md
    # Eval: the scripted model solves 1 of the 2 problems for the base model, both for the fine-tuned one.
    row = f"| humaneval | pass@1 | {EVAL_PROBLEMS} | 50.0% [0.0, 100.0] | 100.0% [100.0, 100.0] | +50.0 pp"
    assert row in md
    # Mix counted from instructions.jsonl itself; validation pass rates; rejection shares; decontamination.
    written = _lines(run_dir / "instructions.jsonl")
    assert f"| generate | {len(written)} | {len(written)} |" in md and {r["task"] for r in written} == {"generate"}
    (cell,) = [v for v in gen["validation"]["generate"].values()]
    assert f"| generate | python | {cell['run']} | {cell['passed']} | {fmt_pct(cell['passed'] / cell['run'])} |" in md
    assert f"| validation:fail | {gen['rejection_reasons']['validation:fail']} |" in md
    assert "| humaneval | 0 |" in md  # decontaminated against HumanEval: no hit
    # Trust lines from generate's trust block and reasons.
    assert f"Execution-validated: {c['validated']} of {c['code_written']} written code examples" in md
    (reason, n), *_ = gen["unvalidated_reasons"].items()
    assert f"Code examples whose tests could not run, by reason: {reason} {n}." in md
    assert f"| Python seeds that run alone | {len(BODIES)} of {len(BODIES)} |" in md  # mine's sandbox probe
    assert "Not run" not in md and "## Problems" not in md
    assert {p.stem for p in (run_dir / "report_files").iterdir()} == CHARTS
    for name in CHARTS:
        assert f"](report_files/{name}.png)" in md
        assert (run_dir / "report_files" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = html_path.read_text()
    srcs = re.findall(r'<img src="([^"]*)"', page)
    assert len(srcs) == len(CHARTS) and all(s.startswith("data:image/png;base64,") for s in srcs)
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


def test_partial_run_and_missing_keys(run_dir: Path) -> None:
    for gone in ("seeds.jsonl.manifest.json", "ft", "eval-base", "eval-ft"):
        path = run_dir / gone
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    # A report missing most keys (an older or cut-down one) and an eval summary without benchmarks must not crash
    # or invent numbers.
    counts = _read(run_dir / "instructions.report.json")["counts"]
    kept = {"generated": counts["generated"], "accepted": counts["accepted"]}
    (run_dir / "instructions.report.json").write_text(json.dumps({"counts": kept}))
    (run_dir / "eval-ft").mkdir()
    (run_dir / "eval-ft" / "summary.json").write_text(json.dumps({"model": "x"}))
    md = build_report(run_dir)[1].read_text()
    assert "Not run: mine" in md and "Not run: finetune" in md and "Not run: eval" in md
    share = fmt_pct(kept["accepted"] / kept["generated"])
    assert f"| generated | {kept['generated']} |" in md
    assert f"| accepted (rules + discriminator) | {kept['accepted']} | {share} |" in md
    assert "passed execution checks" not in md  # not recorded: no number is invented
    assert "Decontamination: not recorded" in md


def test_corrupt_files_are_reported_not_fatal(run_dir: Path) -> None:
    written = len(_lines(run_dir / "instructions.jsonl"))
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
    assert f"| generate | {written} | {written} |" in md  # the good lines are still counted


def test_eval_rows_union_of_benchmarks(run_dir: Path) -> None:
    # A benchmark only the fine-tuned model was scored on (its real result entry under a second name).
    summary = _read(run_dir / "eval-ft" / "summary.json")
    summary["benchmarks"]["humanevalpack"] = summary["benchmarks"]["humaneval"]
    (run_dir / "eval-ft" / "summary.json").write_text(json.dumps(summary))
    rows = eval_rows(load_run(run_dir))
    assert [(r["benchmark"], r["metric"]) for r in rows] == [("humaneval", "pass@1"), ("humanevalpack", "pass@1")]
    hep = rows[1]
    assert hep["base"] is None and hep["delta"] is None and hep["ft"] == 1.0
    assert rows[0]["delta"] == pytest.approx(0.5) and rows[0]["same"] is True  # 2 problems: intervals overlap


def test_rebuild_replaces_cleanly(run_dir: Path) -> None:
    first = build_report(run_dir)[1].read_text()
    second = build_report(run_dir)[1].read_text()
    assert first.splitlines()[4:] == second.splitlines()[4:]  # only the timestamp line may differ
    assert not [p for p in run_dir.rglob(".*.tmp")]
    for name in ("eval-base", "eval-ft"):
        for f in (run_dir / name).iterdir():
            f.unlink()
    md = build_report(run_dir)[1].read_text()
    assert "Not run: eval" in md and not (run_dir / "report_files" / "eval.png").exists()


def _front_matter(text: str) -> dict:
    import yaml

    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _set_sources(run_dir: Path, src: list[str]) -> None:
    manifest = run_dir / "seeds.jsonl.manifest.json"
    m = _read(manifest)
    m["config"]["src"] = src
    manifest.write_text(json.dumps(m))


def test_dataset_card_front_matter_and_body(run_dir: Path) -> None:
    from huggingface_hub import DatasetCard

    from codecurate.card import write_dataset_card

    written = _lines(run_dir / "instructions.jsonl")
    # The golden run mined a local folder: mixed licences; seeds from the stdlib alone are PSF-licensed.
    meta = _front_matter((run_dir / "dataset" / "README.md").read_text())  # written by the pipeline
    assert meta["license"] == "other" and meta["license_name"] == "mixed-source-licences"
    _set_sources(run_dir, ["/usr/lib/python3.11"])
    text = write_dataset_card(run_dir).read_text()
    meta = _front_matter(text)
    assert meta["license"] == "other" and meta["license_name"] == "psf-2.0"
    assert meta["language"] == ["en", "code"] and meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert {"code", "python"} <= set(meta["tags"]) and "julia" not in meta["tags"]  # julia was held back
    (config,) = meta["configs"]
    (files,) = config["data_files"]
    dataset_dir = run_dir / "dataset"
    assert files["split"] == "train" and (dataset_dir / files["path"]).is_file()
    assert DatasetCard.load(dataset_dir / "README.md").data.to_dict()["license_name"] == "psf-2.0"
    assert f"| train | `{files['path']}` | {len(written)} |" in text  # generate's Parquet export, row for row
    assert f"Examples per task: generate {len(written)}." in text  # counted from the Parquet file
    assert "Python standard library: PSF-2.0" in text
    assert "HumanEval: MIT" in text and "Examples dropped per benchmark: humaneval 0." in text
    assert "Quality is bounded by the generator `scripted`" in text
    assert "`method=kcenter`, `n=4`, `encoder=minilm`" in text
    assert f"| written (after validation, dedup + decontamination) | {len(written)} |" in text
    assert "- Execution-validated: " in text and "| held back: code whose tests could not run" in text


def test_dataset_card_mixed_sources_and_no_files(run_dir: Path, tmp_path: Path) -> None:
    from codecurate.card import classify_source, size_category, write_dataset_card

    shutil.rmtree(run_dir / "dataset")
    _set_sources(run_dir, ["/usr/lib/python3.11", "python_train.jsonl.gz", str(tmp_path)])
    gen_manifest = run_dir / "instructions.jsonl.manifest.json"
    m = _read(gen_manifest)
    m["config"]["decontaminate_with"] = []
    gen_manifest.write_text(json.dumps(m))
    report = _read(run_dir / "instructions.report.json")
    del report["decontamination"]
    (run_dir / "instructions.report.json").write_text(json.dumps(report))
    text = write_dataset_card(run_dir, run_dir / "dataset").read_text()
    meta = _front_matter(text)
    assert meta["license"] == "other" and meta["license_name"] == "mixed-source-licences"
    assert "configs" not in meta and "No Parquet files" in text
    assert "various) licences" in text and f"local code `{tmp_path}`" in text
    assert "No decontamination against benchmarks was recorded" in text
    assert "Seed tests are LLM-written too" in text  # --validate ran
    assert classify_source("bigcode/the-stack-smol:python")[0] == "hub"
    assert [size_category(n) for n in (0, 999, 1000, 10_000, 250_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M",
    ]  # fmt: skip
