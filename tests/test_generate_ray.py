"""`generate --executor ray` on a real local Ray instance gives the same records as `--executor local`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import require_ray
from test_backends import canned_reply

from codecurate.cli import main
from codecurate.errors import UserError
from codecurate.generate.loop import GenerateConfig, run
from codecurate.llm.base import Completion, Request, Response

SEEDS = [
    {"id": "add", "language": "python", "code": "def add(a, b):\n    return a + b\n"},
    {"id": "neg", "language": "python", "code": "def neg(x):\n    if x > 0:\n        return -x\n    return x\n"},
    {"id": "big", "language": "python", "code": "def big(xs):\n    return max(xs) * 2\n"},
    {"id": "boom", "language": "python", "code": "def boom(x):\n    return x / 0\n"},
    {"id": "sq", "language": "python", "code": "def sq(x):\n    return x * x\n"},
    {"id": "wordy", "language": "python", "code": "def wordy(s):\n    return s.split()\n"},
    {"id": "twice", "language": "javascript", "code": "function twice(x) {\n  return 2 * x;\n}"},
    {"id": "inc", "language": "javascript", "code": "function inc(x) {\n  return x + 1;\n}"},
]
RUN_SEED = 3


class Scripted:
    """A deterministic LLM stand-in whose reply depends on (seed, task, attempt) only, never on few-shot examples
    (each Ray worker has its own memory): `neg` fails to parse on attempt 1 only (a retry), `boom` is a backend
    error, `wordy` breaks the sentence rule, the judge says no to every `big` example; the rest pass."""

    name = "scripted"

    def complete(self, requests: list[Request]) -> list[Response]:
        return [self._one(r) for r in requests]

    def _one(self, req: Request) -> Response:
        system = req.messages[0]["content"].split("\nA bad reply", 1)[0]  # drop memory's bad examples
        user = req.messages[-1]["content"]
        if "review one training example" in system:
            verdict = "no - unclear" if "big(" in user else "yes - clear"
            return Response([Completion(f"1. {verdict}\n2. yes - correct\n3. yes - right language")])
        attempt = (req.params.seed or 0) - RUN_SEED  # the loop samples generations with seed + attempt
        if "boom(" in user:
            return Response(error="RuntimeError: server down")
        if "neg(" in user and attempt == 1:
            return Response([Completion("I am not sure what you mean.")])
        text = canned_reply([{"content": system}, {"content": user}])
        if "wordy(" in user:
            text = text.replace("INSTRUCTION:", "INSTRUCTION: One. Two. Three. Four. Five.", 1)
        return Response([Completion(text)])


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def key(r: dict) -> tuple:
    return r["seed_id"], r["task"], r["attempt"]


def cfg_for(folder: Path, **kw) -> GenerateConfig:
    folder.mkdir(parents=True, exist_ok=True)
    seeds = folder / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    base = {"input": str(seeds), "output": str(folder / "inst.jsonl"), "tasks_per_seed": 2, "batch_size": 3}
    # dedup keeps the first of near-duplicates in file order, and Ray's order differs: compare before it.
    base |= {"decontaminate_with": [], "dedup": False, "seed": RUN_SEED, "ray_workers": 2}
    return GenerateConfig(**(base | kw))


def outputs(cfg: GenerateConfig) -> tuple[list[dict], list[dict], list[str]]:
    out = Path(cfg.output)
    memory = sorted(json.dumps(e, sort_keys=True) for p in out.with_name("inst.memory").glob("*") for e in lines(p))
    return sorted(lines(out), key=key), sorted(lines(out.with_name("inst.rejected.jsonl")), key=key), memory


@pytest.fixture
def ray(ray_local):
    """Ray, with this module shipped to workers by value: they cannot import test modules (not on their path)."""
    from ray import cloudpickle

    for name in (__name__, "test_backends"):
        cloudpickle.register_pickle_by_value(sys.modules[name])
    yield ray_local
    for name in (__name__, "test_backends"):
        cloudpickle.unregister_pickle_by_value(sys.modules[name])


@pytest.mark.slow
def test_ray_gives_the_same_records_as_local(tmp_path, ray):
    local = cfg_for(tmp_path / "local")
    run(local, Scripted())
    remote = cfg_for(tmp_path / "ray", executor="ray")
    run(remote, Scripted())

    acc, rej, mem = outputs(local)
    assert outputs(remote) == (acc, rej, mem)  # records, rejections (with stage and reasons) and memory entries
    # The script exercises every path: an accepted retry, backend/parse/rules/discriminator rejections.
    assert any(r["seed_id"] == "neg" and r["attempt"] == 2 for r in acc)
    assert {r["stage"] for r in rej} == {"backend", "parse", "rules", "discriminator"}
    assert {r["seed_id"] for r in acc}.isdisjoint({"boom", "big", "wordy"})
    local_report, ray_report = (
        json.loads(Path(c.output).with_name("inst.report.json").read_text()) for c in (local, remote)
    )
    assert ray_report["counts"] == local_report["counts"] and ray_report["counts"]["requested"] == len(acc) + len(rej)
    # Token counts come back from the workers: the same requests were made.
    tokens = ("requests", "prompt_tokens", "completion_tokens")
    assert {k: ray_report["throughput"][k] for k in tokens} == {k: local_report["throughput"][k] for k in tokens}


@pytest.mark.slow
def test_ray_holds_back_unvalidated_examples_as_local_does(tmp_path, ray):
    # The script writes no seed tests, so with --validate every code example is unvalidated (no_tests).
    local = cfg_for(tmp_path / "local", validate=True)
    run(local, Scripted())
    remote = cfg_for(tmp_path / "ray", executor="ray", validate=True)
    run(remote, Scripted())
    held = [sorted(lines(Path(c.output).with_name("inst.unvalidated.jsonl")), key=key) for c in (local, remote)]
    assert held[0] == held[1] and held[0]
    assert {r["validation"]["reason"] for r in held[0]} == {"no_tests"}
    assert {r["task"] for r in lines(Path(remote.output))} <= {"summarize"}


@pytest.mark.slow
def test_ray_resumes_after_losing_half_the_output(tmp_path, ray):
    cfg = cfg_for(tmp_path, executor="ray")
    run(cfg, Scripted())
    acc, rej, _ = outputs(cfg)
    out = Path(cfg.output)
    kept = out.read_text().splitlines()[: len(acc) // 2]
    out.write_text("".join(line + "\n" for line in kept))
    assert 0 < len(kept) < len(acc)

    run(cfg, Scripted())
    acc2, rej2, _ = outputs(cfg)
    assert len({key(r) for r in acc2}) == len(acc2) and len({key(r) for r in rej2}) == len(rej2)
    assert acc2 == acc and rej2 == rej


@pytest.mark.slow
def test_worker_errors_reach_the_user_as_one_line(tmp_path, ray):
    # The openai backend rejects an unknown option while the actor is built, on the worker, not the driver.
    cfg = cfg_for(tmp_path, executor="ray", backend="openai", backend_options={"no_such_option": 1}, ray_workers=1)
    with pytest.raises(UserError, match="backend openai: bad option"):
        run(cfg)


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch, capsys):
    cfg = cfg_for(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    assert main(["generate", cfg.input, "-o", cfg.output, "--executor", "ray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["codecurate generate: error: --executor ray needs Ray: pip install 'codecurate[ray]'"]
    assert not Path(cfg.output).exists()


def test_pool_size_and_placement_follow_the_cluster(tmp_path):
    require_ray()
    from codecurate.generate.ray_loop import pool_args

    gpu_node = {"CPU": 16.0, "GPU": 4.0}
    cfg = cfg_for(tmp_path, executor="ray", ray_workers=0, backend="vllm", ray_gpus_per_worker=1)
    args = pool_args(cfg, gpu_node)
    assert args["compute"].max_size == 4 and args["num_gpus"] == 1 and "ray_remote_args_fn" not in args
    cfg.ray.ray_gpus_per_worker = 0.5  # two replicas per GPU
    assert pool_args(cfg, gpu_node)["compute"].max_size == 8
    cfg.ray.ray_gpus_per_worker, cfg.models.backend_options = 0, {"tensor_parallel_size": 2}
    args = pool_args(cfg, gpu_node)  # vLLM ranks get their GPUs from a placement group, not the actor
    assert args["compute"].max_size == 2 and args["num_gpus"] == 0 and callable(args["ray_remote_args_fn"])
    cpu = cfg_for(tmp_path, executor="ray", ray_workers=0)
    assert pool_args(cpu, {"CPU": 2.0})["compute"].max_size == 2
    cpu.ray.ray_workers = 1
    assert pool_args(cpu, {"CPU": 2.0})["compute"].max_size == 1
    with pytest.raises(UserError, match="0 GPUs"):
        pool_args(cfg_for(tmp_path, executor="ray", ray_workers=0, ray_gpus_per_worker=1), {"CPU": 2.0})
