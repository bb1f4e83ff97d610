"""End to end: the embedded SmolLM2 on a few seeds, and `codecurate generate` killed mid-run then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_backends import FakeOpenAI
from test_loop import SEEDS, lines, write_seeds

from codecurate.generate.loop import GenerateConfig, run

MORE = [
    {
        "id": f"s{i}",
        "language": "python",
        "code": f"def f{i}(x):\n    if x > {i}:\n        return x - {i}\n    return {i}\n",
    }
    for i in range(6)
]


def keys(path: Path) -> list[tuple]:
    return [(r["seed_id"], r["task"], r["attempt"]) for r in lines(path)]


def cli(args: list[str], **kw) -> subprocess.Popen:
    env = os.environ | {"TQDM_DISABLE": "1"}
    return subprocess.Popen([sys.executable, "-m", "codecurate", "generate", *args], env=env, **kw)


@pytest.mark.parametrize("validate", [False, True])
def test_kill_mid_run_then_resume(tmp_path, validate):
    """kill -9 mid-run, rerun: nothing lost or duplicated, across output, rejected and (--validate) unvalidated
    files. The canned model writes no seed tests, so with --validate every code example is unvalidated."""
    server = FakeOpenAI(delay=0.15)
    try:
        seeds = write_seeds(tmp_path / "seeds.jsonl", SEEDS[:4] + MORE)
        config = tmp_path / "gen.yaml"
        config.write_text(
            "generate:\n  backend: openai\n  tasks_per_seed: 2\n  batch_size: 1\n  decontaminate_with: []\n"
            f"  backend_options: {{base_url: '{server.url}', concurrency: 1, max_retries: 0}}\n"
            + ("  validate: true\n  translate_to: [julia, javascript]\n" if validate else "")
        )
        held = lambda path: keys(path.with_name("inst.unvalidated.jsonl"))  # noqa: E731
        ref = tmp_path / "ref" / "inst.jsonl"
        done = cli([str(seeds), "-o", str(ref), "--config", str(config), "--model", "ok", "-q"])
        assert done.wait(timeout=120) == 0

        out = tmp_path / "run" / "inst.jsonl"
        args = [str(seeds), "-o", str(out), "--config", str(config), "--model", "slow", "-q"]
        proc = cli(args)
        deadline = time.time() + 60
        while len(keys(out) + keys(out.with_name("inst.rejected.jsonl")) + held(out)) < 4 and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial = keys(out) + keys(out.with_name("inst.rejected.jsonl")) + held(out)
        assert 4 <= len(partial) < len(keys(ref) + held(ref)), "the kill should land mid-run"
        assert not out.with_name("inst.report.json").exists()

        rerun = cli(args, stdout=subprocess.PIPE, text=True)
        summary = rerun.communicate(timeout=120)[0]
        assert rerun.returncode == 0 and "written" in summary
        got = keys(out)
        assert len(got) == len(set(got)), "no duplicates after resume"
        assert sorted(got) == sorted(keys(ref))
        assert sorted(held(out)) == sorted(held(ref)) and (len(held(ref)) > 0) == validate
        all_tries = got + keys(out.with_name("inst.rejected.jsonl")) + held(out)
        assert len(all_tries) == len(set(all_tries))
        report = json.loads(out.with_name("inst.report.json").read_text())
        assert report["counts"]["written"] == len(got) and report["counts"]["unvalidated"] == len(held(out))
        if validate:
            assert {r["task"] for r in lines(out)} <= {"summarize"}  # no unchecked code in the output
    finally:
        server.close()


@pytest.mark.slow
def test_smollm2_end_to_end(tmp_path):
    seeds = write_seeds(tmp_path / "seeds.jsonl", SEEDS[:2])
    cfg = GenerateConfig(
        str(seeds),
        str(tmp_path / "inst.jsonl"),
        mix="summarize=1,fix=1",
        tasks_per_seed=2,
        max_attempts=1,
        max_tokens=48,
        disc_max_tokens=24,
        batch_size=4,
        decontaminate_with=[],
    )
    summary = run(cfg)
    report = json.loads((tmp_path / "inst.report.json").read_text())
    c = report["counts"]
    assert c["requested"] == c["items"] == 4 and c["backend_failed"] == 0
    rejected = sum(c[k] for k in ("parse_failed", "rule_rejected", "disc_rejected"))
    assert c["accepted"] + rejected == c["requested"] and summary["written"] == c["written"]
    assert report["throughput"]["completion_tokens"] > 0
    for r in lines(tmp_path / "inst.jsonl") + lines(tmp_path / "inst.rejected.jsonl"):
        assert r["generator"] == "transformers:smollm2" and r["task"] in ("summarize", "fix")
        if r.get("stage") == "parse":
            assert "raw" in r
        elif "instruction" in r:
            assert r["messages"][0]["role"] == "user"
