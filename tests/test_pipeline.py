import json
from pathlib import Path

import pytest
from test_backends import FakeOpenAI

from codecurate.cli import main
from codecurate.config import from_dict, load_yaml, to_dict
from codecurate.errors import UserError
from codecurate.pipeline import PipelineConfig, PipelineRay, plan

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["demo.yaml", "full.yaml"])
def test_shipped_configs_validate_and_plan_every_stage(name):
    cfg = from_dict(PipelineConfig, load_yaml(REPO / "configs" / name), source=name)
    steps = [step.name for step in plan(cfg)]
    assert steps == ["mine", "curate", "generate", "finetune", "eval-base", "eval-ft"]


def test_pipeline_executor_reaches_the_scalable_stages_and_a_section_wins(tmp_path):
    values = {"run_dir": str(tmp_path), "executor": "ray", "ray_address": "ray://head:10001", "ray_workers": 3,
              "curate": {"executor": "local"}}  # fmt: skip
    cfg = from_dict(PipelineConfig, values)
    configs = {step.name: step.config for step in plan(cfg)}
    assert (to_dict(configs["mine"])["executor"], to_dict(configs["mine"])["ray_address"]) == (
        "ray",
        "ray://head:10001",
    )
    assert (to_dict(configs["curate"])["executor"], to_dict(configs["generate"])["executor"]) == ("local", "ray")
    assert to_dict(configs["generate"])["ray_workers"] == 3
    # GPUs per worker reach the stages whose workers use GPUs, not mine (which parses on CPUs and refuses them).
    gpus = {s.name: to_dict(s.config) for s in plan(from_dict(PipelineConfig, values | {"ray_gpus_per_worker": 1}))}
    assert (gpus["curate"]["ray_gpus_per_worker"], gpus["generate"]["ray_gpus_per_worker"]) == (1, 1)
    assert gpus["mine"]["ray_gpus_per_worker"] == 0
    assert "executor" not in to_dict(configs["finetune"])
    with pytest.raises(UserError, match="'slurm' is not one of '', 'local', 'ray'"):
        from_dict(PipelineConfig, {"executor": "slurm"})
    with pytest.raises(UserError, match="local or ray"):
        PipelineRay(executor="slurm")
    # Empty: each stage keeps its own default; the same YAML key nested under `ray:` is accepted too.
    default = {step.name: to_dict(step.config) for step in plan(PipelineConfig(run_dir=str(tmp_path)))}
    assert default["mine"]["executor"] == "local" and default["generate"]["ray_workers"] == 0
    nested = from_dict(PipelineConfig, {"run_dir": str(tmp_path), "ray": {"executor": "ray"}})
    assert to_dict(plan(nested)[0].config)["executor"] == "ray"
    # Where a stage ran does not make its finished output stale.
    from codecurate.manifest import config_hash

    local = to_dict(configs["curate"])
    assert config_hash(local) == config_hash(local | {"executor": "ray", "ray_workers": 4})
    assert config_hash(local) != config_hash(local | {"n": local["n"] + 1})


def test_pipeline_rejects_paths_it_wires_and_unknown_stages(tmp_path):
    with pytest.raises(UserError, match="output are set by the pipeline"):
        plan(PipelineConfig(run_dir=str(tmp_path), curate={"output": "x.jsonl"}))
    with pytest.raises(UserError, match="unknown stage"):
        PipelineConfig(stages=["mine", "train"])
    with pytest.raises(UserError, match=r"\[curate\]: unknown key"):
        plan(PipelineConfig(run_dir=str(tmp_path), curate={"nn": 3}))


TINY = """
run_dir: {run}
mine:
  src: [{src}]
  languages: [python]
curate:
  n: 4
generate:
  # A local OpenAI-compatible server with canned answers: this test is about the wiring, and SmolLM2 may accept
  # nothing from 4 seeds (its own end-to-end test is in test_generate_e2e.py).
  backend: openai
  model: ok
  backend_options: {{base_url: '{url}', concurrency: 2, max_retries: 0}}
  limit: 4
  mix: generate=1,summarize=1
finetune:
  max_steps: 2
  batch_size: 2
  max_length: 128
  val_fraction: 0
eval:
  benchmarks: [humaneval]
  limit: 2
  max_tokens: 48
"""


@pytest.mark.slow
def test_pipeline_end_to_end_then_rerun_skips_everything(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    # A small tree of documented functions: enough for a 4-seed coreset.
    funcs = []
    for i in range(12):
        funcs.append(
            f'def scale_{i}(values, factor={i + 2}):\n    """Multiply every value by {i + 2} and drop negatives."""\n'
            f"    out = []\n    for v in values:\n        if v * factor >= {i}:\n"
            f"            out.append(v * factor)\n    return out\n"
        )
    (src / "mod.py").write_text("\n\n".join(funcs))
    config = tmp_path / "tiny.yaml"
    run = tmp_path / "run"
    server = FakeOpenAI()
    config.write_text(TINY.format(run=run, src=src, url=server.url))

    assert main(["pipeline", "--config", str(config), "-q"]) == 0
    for name in ("seeds.jsonl", "coreset.jsonl", "instructions.jsonl", "ft/training_summary.json",
                 "eval-base/summary.json", "eval-ft/summary.json", "report.html", "report.md"):  # fmt: skip
        assert (run / name).exists(), name
    assert len((run / "coreset.jsonl").read_text().splitlines()) == 4
    summary = json.loads((run / "eval-ft" / "summary.json").read_text())
    assert summary["benchmarks"]["humaneval"]["problems"] == 2
    capsys.readouterr()

    assert main(["pipeline", "--config", str(config), "-q", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped (up to date)") == 6, out
