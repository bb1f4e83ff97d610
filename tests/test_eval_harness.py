import json

import pytest

from codecurate.errors import UserError
from codecurate.eval import benchmarks
from codecurate.eval.compare import compare
from codecurate.eval.harness import EvalConfig, evaluate_completions, run
from codecurate.llm.base import FunctionBackend


def read_samples(out):
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_canonical_solutions_pass_all_of_humaneval(tmp_path):
    summary = run(EvalConfig(backend="canonical", benchmarks=["humaneval"], output=str(tmp_path), ks=[1]))
    assert summary["humaneval"]["pass@1"] == 1.0
    assert summary["humaneval"]["statuses"] == {"pass": 164}
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["benchmarks"]["humaneval"]["problems"] == 164
    assert (tmp_path / "manifest.json").exists() and len(read_samples(tmp_path)) == 164


@pytest.mark.slow
def test_canonical_solutions_pass_all_of_mbpp():
    for spec, size in (("mbpp", 257), ("mbpp:full", 500)):
        bench = benchmarks.get(spec)
        docs = bench.load()  # bundled in data/mbpp
        results = evaluate_completions(bench, docs, {d["task_id"]: [d["code"]] for d in docs})
        assert len(results) == size
        assert [r["task_id"] for r in results if r["status"] != "pass"] == []


def test_wrong_and_empty_completions_score_zero():
    bench = benchmarks.get("humaneval")
    docs = bench.load()[:3]
    completions = {d["task_id"]: ["", "    return None\n"] for d in docs}
    results = evaluate_completions(bench, docs, completions)
    assert [r["status"] for r in results] == ["empty", "fail"] * 3


def test_function_backend_empty_model_counts_failures_and_reports_unreachable_k(tmp_path):
    cfg = EvalConfig(model="nothing", benchmarks=["humaneval"], output=str(tmp_path), limit=4, n=2, ks=[1, 10])
    summary = run(cfg, backend=FunctionBackend(lambda messages: "", name="empty"))
    assert summary["humaneval"]["pass@1"] == 0.0
    assert summary["humaneval"]["statuses"] == {"empty": 8}
    written = json.loads((tmp_path / "summary.json").read_text())["benchmarks"]["humaneval"]
    assert "pass@10" not in written and "pass@10" in written["not_computed"]


def canonical_chat(messages):
    """A 'model' that answers HumanEval chat prompts with the reference function in a fence."""
    docs = {d["prompt"]: d for d in benchmarks.get("humaneval").load()[:6]}
    doc = next(d for p, d in docs.items() if p in messages[0]["content"])
    return f"Here you go:\n```python\n{doc['prompt']}{doc['canonical_solution']}```\n"


def test_chat_answers_are_extracted_and_judged(tmp_path):
    summary = run(
        EvalConfig(model="m", benchmarks=["humaneval"], output=str(tmp_path), limit=6, ks=[1]),
        backend=FunctionBackend(canonical_chat, name="chat-canonical"),
    )
    assert summary["humaneval"]["pass@1"] == 1.0


def test_hanging_completion_is_a_counted_timeout(tmp_path):
    hang = "```python\ndef has_close_elements(numbers, threshold):\n    while True:\n        pass\n```"
    cfg = EvalConfig(model="m", benchmarks=["humaneval"], output=str(tmp_path), limit=1, timeout=1.0, ks=[1])
    summary = run(cfg, backend=FunctionBackend(lambda m: hang, name="hang"))
    assert summary["humaneval"]["statuses"] == {"timeout": 1} and summary["humaneval"]["pass@1"] == 0.0


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path):
    calls = {"n": 0}

    def flaky(messages):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # like Ctrl-C in the middle of generation
        return canonical_chat(messages)

    cfg = EvalConfig(model="m", benchmarks=["humaneval"], output=str(tmp_path), limit=6, batch_size=2, ks=[1])
    backend = FunctionBackend(flaky, name="flaky")
    with pytest.raises(KeyboardInterrupt):
        run(cfg, backend=backend)
    assert len(read_samples(tmp_path)) == 2  # the first batch was kept
    summary = run(cfg, backend=backend)
    samples = read_samples(tmp_path)
    assert sorted(s["task_id"] for s in samples) == [f"HumanEval/{i}" for i in range(6)]
    assert summary["humaneval"]["pass@1"] == 1.0
    assert calls["n"] == 3 + 4  # the rerun generated only the 4 missing problems


def test_resume_refuses_samples_of_another_model(tmp_path):
    run(EvalConfig(backend="canonical", benchmarks=["humaneval"], output=str(tmp_path), limit=1, ks=[1]))
    other = EvalConfig(model="m", benchmarks=["humaneval"], output=str(tmp_path), limit=1, ks=[1])
    with pytest.raises(UserError, match="different model"):
        run(other, backend=FunctionBackend(lambda m: "", name="other"))
    other.overwrite = True
    assert run(other, backend=FunctionBackend(lambda m: "", name="other"))["humaneval"]["pass@1"] == 0.0


def test_unavailable_language_is_skipped_and_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmarks.Benchmark, "unavailable", lambda self: "runtime 'lua' not installed")
    cfg = EvalConfig(model="m", benchmarks=["multipl-e:lua"], output=str(tmp_path))
    cfg.limit, cfg.ks = 3, [1]
    summary = run(cfg, backend=FunctionBackend(lambda m: pytest.fail("must not generate"), name="x"))
    assert summary["multipl-e:lua"]["statuses"] == {"skipped": 3}
    written = json.loads((tmp_path / "summary.json").read_text())["benchmarks"]["multipl-e:lua"]
    assert written["problems_skipped"] == 3 and "pass@1" not in written and "not installed" in written["skipped_reason"]


def test_missing_model_folder_is_a_user_error(tmp_path):
    cfg = EvalConfig(model=str(tmp_path / "no-such-model"), output=str(tmp_path / "out"))
    with pytest.raises(UserError, match="no such model folder"):
        run(cfg)


def test_compare_shows_deltas(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run(EvalConfig(model="m", benchmarks=["humaneval"], output=str(a), limit=2, ks=[1]), FunctionBackend(lambda m: ""))
    run(EvalConfig(backend="canonical", benchmarks=["humaneval"], output=str(b), limit=2, ks=[1]))
    [row] = compare(a, b)  # the value cells may carry an interval: "0.000 [0.000, 0.000]" (eval/compare.py)
    assert row[:2] == ("humaneval", "pass@1") and row[2].startswith("0.000") and row[3].startswith("1.000")
    assert row[4].startswith("+1.000")
    with pytest.raises(UserError, match="no such file"):
        compare(a, tmp_path / "missing")


def test_multiple_js_runner_judges_real_answers(tmp_path):
    bench = benchmarks.get("multipl-e:js")
    assert bench.unavailable() is None, bench.unavailable()
    doc = next(d for d in bench.load() if d["task_id"] == "HumanEval_23_strlen")
    good = bench.module.extract(doc, "  return string.length;\n}\n\nfunction other(){}", "completion")
    results = evaluate_completions(bench, [doc], {doc["task_id"]: [good, "  return 0;\n}\n"]})
    assert [r["status"] for r in results] == ["pass", "fail"]


def test_humanevalpack_explain_runs_two_turns(tmp_path):
    bench = benchmarks.get("humanevalpack-explain")
    docs = {d["declaration"]: d for d in bench.load()[:3]}
    turns = []

    def model(messages):
        text = messages[0]["content"]
        turns.append("synthesise" if "Write functional" in text else "explain")
        if turns[-1] == "explain":
            assert len(messages) == 1 and "Provide a concise" in text
            return "It does what the name says."
        assert text.startswith("It does what the name says.")  # turn 2 sees the explanation, not the code
        doc = next(d for decl, d in docs.items() if decl in text)
        return f"```python\n{doc['declaration']}{doc['canonical_solution']}```"

    cfg = EvalConfig(model="m", benchmarks=["humanevalpack-explain"], output=str(tmp_path), limit=3, ks=[1])
    summary = run(cfg, backend=FunctionBackend(model, name="explainer"))
    assert summary["humanevalpack-explain"]["pass@1"] == 1.0
    assert turns == ["explain"] * 3 + ["synthesise"] * 3


def test_compare_mode_through_run(tmp_path):
    a = tmp_path / "a"
    run(EvalConfig(backend="canonical", benchmarks=["humaneval"], output=str(a), limit=1, ks=[1]))
    assert run(EvalConfig(compare=[str(a), str(a)])) == {"compared": [str(a), str(a)], "rows": 1}
    with pytest.raises(UserError, match="exactly two"):
        run(EvalConfig(compare=[str(a)]))


def test_early_exit_with_status_0_fails(tmp_path):
    """A program that exits 0 before its tests finished is a failure: the pass needs this run's end mark."""
    bench = benchmarks.get("humaneval")
    doc = bench.load()[0]
    body = doc["canonical_solution"]
    exits = [
        "    import sys\n    sys.exit(0)\n",
        "    import os\n    os._exit(0)\n",
        body + "\nimport sys\nsys.exit(0)\n",
        body + "\nprint('__codecurate_done__')\nraise SystemExit(0)\n",
    ]
    results = evaluate_completions(bench, [doc], {doc["task_id"]: [body, *exits]})
    assert [r["status"] for r in results] == ["pass"] + ["fail"] * len(exits)
    assert all("before its tests finished" in r["error"] for r in results[1:])


def test_every_benchmark_program_ends_with_a_fresh_mark():
    from codecurate.execute.harness import mark_line

    for spec in ("humaneval", "mbpp", "mbpp:full", "humanevalpack-fix:python", "multipl-e:lua", "multipl-e:go"):
        bench = benchmarks.get(spec)
        doc = bench.load()[0]
        one, _ = bench.module.program(doc, "x", "a" * 24)
        two, _ = bench.module.program(doc, "x", "b" * 24)
        assert mark_line("a" * 24) in one and mark_line("b" * 24) in two and mark_line("a" * 24) not in two
