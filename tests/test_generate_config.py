"""GenerateConfig's sections: every flag (old and new) reaches its knob, YAML flat or nested, flags over YAML, and
the seed-test and sandbox knobs reach the runs they limit (real sandbox, real seed tests)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from test_backends import canned_reply

from codecurate.config import add_dataclass_arguments, parse, to_dict
from codecurate.errors import UserError
from codecurate.execute.sandbox import Limits
from codecurate.generate.loop import GenerateConfig, run
from codecurate.llm.base import FunctionBackend

# Flags that had no way in before the sections: (flag, value given, attribute path it must reach).
NEW_FLAGS = [
    ("--test-n-tests", "3", ("seed_tests", "n_tests"), 3),
    ("--test-min-coverage", "0.5", ("seed_tests", "min_coverage"), 0.5),
    ("--test-timeout-s", "2.5", ("seed_tests", "timeout_s"), 2.5),
    ("--test-workers", "2", ("seed_tests", "workers"), 2),
    ("--test-temperature", "0.3", ("seed_tests", "temperature"), 0.3),
    ("--test-sample-temperature", "0.6", ("seed_tests", "sample_temperature"), 0.6),
    ("--sandbox-timeout-s", "4", ("sandbox", "timeout_s"), 4.0),
    ("--sandbox-cpu-s", "3", ("sandbox", "cpu_s"), 3.0),
    ("--sandbox-memory-mb", "512", ("sandbox", "memory_mb"), 512),
    ("--sandbox-file-size-mb", "8", ("sandbox", "file_size_mb"), 8),
    ("--sandbox-max-procs", "32", ("sandbox", "max_procs"), 32),
    ("--sandbox-max-output-bytes", "1000", ("sandbox", "max_output_bytes"), 1000),
    ("--sandbox-compile-timeout-s", "30", ("sandbox", "compile_timeout_s"), 30.0),
    ("--sandbox-compile-memory-mb", "1024", ("sandbox", "compile_memory_mb"), 1024),
    ("--sandbox-workers", "2", ("sandbox", "workers"), 2),
]
# A few of the old flat flags, now inside sections: same names, same effect.
OLD_FLAGS = [
    ("--backend", "openai", ("models", "backend"), "openai"),
    ("--max-tokens", "64", ("sampling", "max_tokens"), 64),
    ("--test-max-tokens", "99", ("seed_tests", "max_tokens"), 99),
    ("--test-samples", "4", ("seed_tests", "samples"), 4),
    ("--shots-bad", "0", ("memory", "shots_bad"), 0),
    ("--ngram", "7", ("filters", "ngram"), 7),
    ("--hf-dir", "hf", ("exports", "hf_dir"), "hf"),
    ("--executor", "ray", ("ray", "executor"), "ray"),
    ("--ray-gpus-per-worker", "0.5", ("ray", "ray_gpus_per_worker"), 0.5),
]


def from_flags(argv: list[str]) -> GenerateConfig:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_dataclass_arguments(parser, GenerateConfig)
    return parse(GenerateConfig, parser.parse_args(argv))


def at(cfg: GenerateConfig, path: tuple[str, ...]):
    value = cfg
    for part in path:
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("flag", "given", "path", "want"), NEW_FLAGS + OLD_FLAGS, ids=lambda x: str(x))
def test_each_flag_reaches_its_knob(flag, given, path, want):
    cfg = from_flags(["seeds.jsonl", flag, given])
    assert at(cfg, path) == want
    assert at(from_flags(["seeds.jsonl"]), path) != want  # not the default by chance
    assert to_dict(cfg)[flag[2:].replace("-", "_")] == want  # the manifest keeps the flat key


def test_yaml_flat_or_nested_and_flags_win(tmp_path):
    flat = tmp_path / "flat.yaml"
    flat.write_text("sandbox_timeout_s: 3\ntest_n_tests: 4\nexecutor: ray\nmax_tokens: 50\n")
    nested = tmp_path / "nested.yaml"
    # Nested: a section's own (unprefixed) names under the section's name.
    nested.write_text(
        "sandbox: {timeout_s: 3}\nseed_tests: {n_tests: 4}\nray: {executor: ray}\nsampling: {max_tokens: 50}\n"
    )
    for path in (flat, nested):
        cfg = from_flags(["s.jsonl", "--config", str(path)])
        assert (cfg.sandbox.timeout_s, cfg.seed_tests.n_tests, cfg.ray.executor, cfg.sampling.max_tokens) == (
            3.0, 4, "ray", 50
        )  # fmt: skip
        cfg = from_flags(["s.jsonl", "--config", str(path), "--sandbox-timeout-s", "7", "--test-n-tests", "2"])
        assert (cfg.sandbox.timeout_s, cfg.seed_tests.n_tests) == (7.0, 2)
    bad = tmp_path / "bad.yaml"
    bad.write_text("sandbox_network: true\n")  # generated code never gets the network: no such knob
    with pytest.raises(UserError, match="unknown key"):
        from_flags(["s.jsonl", "--config", str(bad)])


def test_python_callers_keep_the_flat_names():
    cfg = GenerateConfig("s.jsonl", backend="openai", base_url="http://h/v1", executor="ray", test_n_tests=2)
    assert (cfg.models.base_url, cfg.ray.executor, cfg.seed_tests.n_tests) == ("http://h/v1", "ray", 2)
    with pytest.deprecated_call():
        assert cfg.executor == "ray"
    with pytest.deprecated_call():
        cfg.executor = "local"  # a write to a flat name reaches its section, never a silent no-op
    assert cfg.ray.executor == "local"
    with pytest.raises(TypeError, match="unexpected keyword"):
        GenerateConfig("s.jsonl", executer="ray")
    with pytest.raises(UserError, match="--sandbox-workers"):
        GenerateConfig("s.jsonl", sandbox_workers=0)
    with pytest.raises(UserError, match="--test-samples"):
        GenerateConfig("s.jsonl", test_samples=0)


def test_seed_test_temperature_resolution():
    assert GenerateConfig("s").seed_test_config().sample_temperature == 0.8  # MultiPL-T's
    assert GenerateConfig("s", sample_temperature=0.5).seed_test_config().sample_temperature == 0.5
    cfg = GenerateConfig("s", sample_temperature=0.5, test_sample_temperature=0.9)
    assert cfg.seed_test_config().sample_temperature == 0.9


SEED = {"id": "neg", "language": "python", "runnable": True,
        "code": "def neg(x):\n    if x > 0:\n        return -x\n    return x\n"}  # fmt: skip


def test_seed_test_and_sandbox_knobs_reach_their_runs(tmp_path, monkeypatch):
    """The limits and workers the flags name are the ones the seed-test runs and the validation runs get."""
    import codecurate.generate.seedtests as seedtests
    import codecurate.generate.validate as validate

    seen: dict[str, list] = {"seedtests": [], "validate": []}

    def spy(name, real):
        def execute_many(jobs, limits=None, workers=None):
            seen[name].append((limits, workers))
            return real(jobs, limits, workers)

        return execute_many

    monkeypatch.setattr(seedtests, "execute_many", spy("seedtests", seedtests.execute_many))
    monkeypatch.setattr(validate, "execute_many", spy("validate", validate.execute_many))
    asked: list = []

    def reply(messages):
        text = messages[-1]["content"]
        if text.startswith("Write "):
            asked.append(text)
            return "```python\nassert neg(2) == -2\nassert neg(-3) == -3\n```"
        return canned_reply(messages)

    seeds = tmp_path / "s.jsonl"
    seeds.write_text(json.dumps(SEED) + "\n")
    argv = [str(seeds), "-o", str(tmp_path / "i.jsonl"), "--mix", "generate=1", "--validate", "--discriminator",
            "none", "--decontaminate-with", "--test-n-tests", "5", "--test-timeout-s", "7", "--test-workers", "1",
            "--sandbox-timeout-s", "6", "--sandbox-memory-mb", "900", "--sandbox-max-procs", "40",
            "--sandbox-max-output-bytes", "5000", "--sandbox-workers", "1",
            "--sandbox-compile-timeout-s", "20"]  # fmt: skip
    run(from_flags(argv), FunctionBackend(reply))
    assert asked and asked[0].startswith("Write 5 Python assert statements")
    assert {(lim.timeout_s, w) for lim, w in seen["seedtests"]} == {(7.0, 1)}
    want = Limits(timeout_s=6, memory_mb=900, max_procs=40, max_output_bytes=5000, compile_timeout_s=20)
    assert seen["validate"] and all(lim == want and w == 1 for lim, w in seen["validate"])
    assert json.loads(Path(tmp_path / "i.jsonl").read_text().splitlines()[0])["validation"]["status"] == "pass"


def test_a_tight_sandbox_timeout_fails_a_slow_answer(tmp_path):
    slow = "INSTRUCTION: Negate positive numbers.\nOUTPUT:\n```python\ndef neg(x):\n    import time\n" \
           "    time.sleep(3)\n    return -x if x > 0 else x\n```"  # fmt: skip

    def reply(messages):
        text = messages[-1]["content"]
        if text.startswith("Write "):
            return "```python\nassert neg(2) == -2\nassert neg(-3) == -3\n```"
        return slow if "Invent" in messages[0]["content"] else canned_reply(messages)

    seeds = tmp_path / "s.jsonl"
    seeds.write_text(json.dumps(SEED) + "\n")
    cfg = GenerateConfig(str(seeds), str(tmp_path / "i.jsonl"), mix="generate=1", validate=True, max_attempts=1,
                         discriminator="none", decontaminate_with=[], sandbox_timeout_s=1)  # fmt: skip
    run(cfg, FunctionBackend(reply))
    rejected = [json.loads(x) for x in (tmp_path / "i.rejected.jsonl").read_text().splitlines()]
    assert [r["reasons"] for r in rejected] == [["validation:timeout"]]
