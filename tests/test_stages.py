"""The stage table (codecurate/stages.py) against what the real stages do: every file it lists is in the golden run
folder (golden_run.py), every file there is listed, each stage's input holds the columns the table says it needs,
a missing column stops the stage before any work in one line, and every stage's --help lists its flags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from golden_run import golden_run  # noqa: F401  (the fixture)

from codecurate.cli import main
from codecurate.config import flat_fields
from codecurate.errors import UserError
from codecurate.pipeline import PipelineConfig, plan
from codecurate.pipeline import run as run_pipeline
from codecurate.records import SEED_REQUIRED
from codecurate.stages import COMMANDS, SEED_COLUMNS, STAGES, RunFolder, check_inputs

REPO = Path(__file__).resolve().parents[1]


def _listed() -> set[str]:
    return {f for s in COMMANDS.values() for f in (*s.outputs, *s.side_files, *s.optional_files)}


def test_golden_run_holds_every_file_the_table_lists_and_nothing_else(golden_run: Path) -> None:  # noqa: F811
    for stage in COMMANDS.values():
        for name in (*stage.outputs, *stage.side_files):
            assert (golden_run / name).exists(), f"{stage.name} should write {name}"
    listed = _listed()
    top = {p.name for p in golden_run.iterdir() if not p.name.startswith(".")}
    assert top <= {f.split("/")[0] for f in listed}, top - {f.split("/")[0] for f in listed}
    # The report and the card read the same paths (RunFolder is built from the table).
    run = RunFolder(golden_run)
    for path in (
        run.seeds,
        run.coreset_report,
        run.coreset_map,
        run.instructions_report,
        run.ft_summary,
        run.ft_merged,
        run.eval_base / "summary.json",
        run.eval_ft / "summary.json",
        run.report_html,
    ):
        assert path.exists(), path  # fmt: skip


def test_run_layout_doc_names_every_file_of_the_table() -> None:
    doc = (REPO / "docs" / "run-layout.md").read_text()
    for name in _listed():
        assert f"`{name.split('/')[-1]}" in doc or f"`{name}" in doc, name


def test_each_stage_input_in_the_golden_run_has_the_columns_it_needs(golden_run: Path) -> None:  # noqa: F811
    assert SEED_COLUMNS == SEED_REQUIRED
    cfg = PipelineConfig(run_dir=str(golden_run), mine={"src": [str(golden_run / "seeds.jsonl")]})
    checked = []
    for step in plan(cfg):
        check_inputs(step.stage, step.config)  # raises on a missing column
        checked += [p.name for p in step.stage.record_inputs(step.config)]
    assert checked == ["seeds.jsonl", "seeds.jsonl", "coreset.jsonl", "instructions.jsonl"]


def _drop(src: Path, dst: Path, *columns: str) -> Path:
    """`src`'s records with `columns` removed from the first one."""
    lines = src.read_text().splitlines()
    first = json.loads(lines[0])
    for column in columns:
        del first[column]
    dst.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    return dst


# (stage, input file in the golden run, column to drop, the stage's arguments besides input and output)
CASES = [
    ("mine", "seeds.jsonl", "code", ["--no-check-runnable"]),
    ("curate", "seeds.jsonl", "language", ["-n", "2"]),
    (
        "generate",
        "coreset.jsonl",
        "code",
        ["--backend", "openai", "--model", "x", "--base-url", "http://127.0.0.1:9/v1"],
    ),
    # Instruction records also have instruction + output, the other shape finetune reads: both must go.
    ("finetune", "instructions.jsonl", "messages", ["--max-steps", "1"]),
]


@pytest.mark.parametrize(("stage", "source", "column", "args"), CASES, ids=[c[0] for c in CASES])
def test_a_missing_input_column_stops_the_stage_before_any_work(
    golden_run: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    stage: str,
    source: str,
    column: str,
    args: list[str],
) -> None:
    also = ("output",) if stage == "finetune" else ()
    bad = _drop(golden_run / source, tmp_path / f"bad-{source}", column, *also)
    out = tmp_path / ("out" if stage == "finetune" else "out.jsonl")
    assert main([stage, str(bad), "-o", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"codecurate {stage}: error: {bad}:1: missing column '{column}' ({stage} needs "
        + " or ".join("+".join(cols) for cols in STAGES[stage].columns)
        + ")"
    )
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert not out.exists()  # nothing was written: the check ran before the stage


def test_the_pipeline_checks_columns_too(golden_run: Path, tmp_path: Path) -> None:  # noqa: F811
    """A run folder whose seeds lack a column: the pipeline stops before curate embeds anything."""
    run = tmp_path / "run"
    run.mkdir()
    _drop(golden_run / "seeds.jsonl", run / "seeds.jsonl", "language")
    shutil.copy(golden_run / "seeds.jsonl.manifest.json", run / "seeds.jsonl.manifest.json")
    with pytest.raises(UserError, match=r"seeds\.jsonl:1: missing column 'language' \(curate needs code\+language\)"):
        run_pipeline(PipelineConfig(run_dir=str(run), stages=["curate"], report=False, curate={"n": 2}))
    assert not (run / "coreset.jsonl").exists()


@pytest.mark.parametrize("stage", list(COMMANDS))
def test_every_stage_help_exits_0_and_lists_its_flags(stage: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([stage, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    keys = flat_fields(COMMANDS[stage].config_class())
    shown = [k for k, (_, f, _) in keys.items() if f.metadata.get("cli") is not False]
    assert shown
    for key, (_, f, hint) in keys.items():
        if f.metadata.get("cli") is False or "dict" in str(hint):
            continue  # YAML-only settings (mappings) have no flag
        name = key.upper() if f.metadata.get("positional") else "--" + key.replace("_", "-")
        assert name in text, f"{stage} --help does not list {name}"


def test_a_rerun_of_the_golden_pipeline_skips_every_stage(golden_run: Path, capsys: pytest.CaptureFixture) -> None:  # noqa: F811
    """The table's manifest inputs are the ones each stage records: nothing changed, so nothing reruns (the
    scripted server is gone: a stage that ran would fail)."""
    capsys.readouterr()
    assert main(["pipeline", "--config", str(golden_run.parent / "golden.yaml"), "-q", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped (up to date)") == len(STAGES) + 1, out  # eval runs twice
