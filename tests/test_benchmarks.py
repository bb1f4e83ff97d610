import json

import pytest

from codecurate.errors import UserError
from codecurate.eval import benchmarks
from codecurate.eval.benchmarks import common


def test_registry_resolves_specs_and_rejects_unknown():
    b = benchmarks.get("multipl-e:lua")
    assert b.variant == "lua" and b.module.__name__.endswith("multiple")
    assert benchmarks.get("humanevalpack-explain").load_kwargs == {"task": "explain"}
    with pytest.raises(UserError, match="unknown benchmark 'nope'"):
        benchmarks.get("nope")


@pytest.mark.parametrize("name", ["humaneval", "mbpp", "humanevalpack", "multiple"])
def test_modules_follow_the_benchmark_contract(name):
    mod = benchmarks.get({"humanevalpack": "humanevalpack-fix", "multiple": "multipl-e"}.get(name, name)).module
    assert "arxiv.org" in mod.__doc__ and "@" in mod.CITATION
    assert isinstance(mod.STOP_WORDS, list)
    for fn in ("load", "prompt", "instruction", "extract", "program"):
        assert callable(getattr(mod, fn))


def test_humaneval_loads_from_package_without_shared_data():
    docs = benchmarks.get("humaneval").load()
    assert len(docs) == 164 and docs[0]["task_id"] == "HumanEval/0"


def test_wrong_fields_name_file_line_and_field(tmp_path):
    path = tmp_path / "humaneval-lua.jsonl"
    path.write_text(json.dumps({"name": "a", "prompt": "p", "tests": "t"}) + "\n" + json.dumps({"name": "b"}) + "\n")
    with pytest.raises(UserError, match=r"humaneval-lua\.jsonl:2: field 'prompt'"):
        benchmarks.get("multipl-e:lua").load(tmp_path)
    (tmp_path / "sanitized-mbpp.json").write_text(json.dumps([{"task_id": 11, "prompt": "x", "code": "y"}]))
    with pytest.raises(UserError, match=r"sanitized-mbpp\.json:1: field 'test_list'"):
        benchmarks.get("mbpp").load(tmp_path)


def test_size_check_refuses_a_partial_file(tmp_path):
    rows = [{"name": f"t{i}", "prompt": "p", "tests": "t"} for i in range(3)]
    (tmp_path / "humaneval-js.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UserError, match="expected 161 problems, found 3"):
        benchmarks.get("multipl-e:js").load(tmp_path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="none of humanevalpack_python.jsonl"):
        benchmarks.get("humanevalpack-fix").load(tmp_path)


def test_extract_code_prefers_the_block_with_the_function():
    text = "Here:\n```python\nimport os\n```\nand\n```python\ndef f(x):\n    return x\n```\nDone."
    assert common.extract_code(text, must_contain="def f") == "def f(x):\n    return x\n"
    assert common.extract_code("no fence at all") == "no fence at all"
    assert common.extract_code("```python\ndef f():\n    return 1") == "def f():\n    return 1"  # unclosed


def test_truncate_at_earliest_stop_word():
    assert common.truncate("    return 1\ndef g():\n#x", ["\n#", "\ndef "]) == "    return 1"


def test_humaneval_program_accepts_body_or_full_function():
    doc = benchmarks.get("humaneval").load()[0]
    mod = benchmarks.get("humaneval").module
    body, _ = mod.program(doc, doc["canonical_solution"])
    assert body.startswith(doc["prompt"]) and body.rstrip().endswith("check(has_close_elements)")
    full_fn = "def has_close_elements(numbers, threshold):\n    return False\n"
    prog, lang = mod.program(doc, full_fn)
    assert lang == "python" and prog.startswith("from typing import List") and doc["prompt"] not in prog
    chat = mod.extract(doc, f"Sure!\n```python\n{full_fn}```\nThis works.", "chat")
    assert chat == full_fn


def test_mbpp_variants_sizes(shared_data):
    assert len(benchmarks.get("mbpp").load(shared_data)) == 257
    full = benchmarks.get("mbpp:full").load(shared_data)
    assert len(full) == 500 and full[0]["task_id"] == "Mbpp/11"
    with pytest.raises(UserError, match="unknown variant"):
        benchmarks.get("mbpp:nope").load(shared_data)


def test_humanevalpack_js_tests_throw_on_failure(shared_data):
    bench = benchmarks.get("humanevalpack-fix:js")
    doc = bench.load(shared_data)[0]
    prog, lang = bench.module.program(doc, doc["declaration"] + doc["buggy_solution"])
    assert lang == "javascript" and "console.assert(" not in prog and "require('node:assert')" in prog
    assert "Fix bugs in hasCloseElements" in bench.module.instruction(doc)


def test_humanevalpack_explain_has_a_second_turn(shared_data):
    bench = benchmarks.get("humanevalpack-explain")
    doc = bench.load(shared_data)[0]
    first = bench.module.instruction(doc)
    assert doc["canonical_solution"] in first and "at most" in first
    second = bench.module.followup(doc, "It checks closeness.")
    assert second.startswith("It checks closeness.") and doc["canonical_solution"] not in second
    assert benchmarks.get("humanevalpack-fix").module.followup(doc | {"_task": "fix"}, "x") is None


def test_multiple_program_and_stop_tokens(shared_data):
    bench = benchmarks.get("multipl-e:lua")
    doc = bench.load(shared_data)[0]
    completion = bench.module.extract(doc, "    return #string\nend\n\nlocal x = 1", "completion")
    assert completion == "    return #string\nend"
    prog, lang = bench.module.program(doc, completion)
    assert lang == "lua" and prog.startswith(doc["prompt"]) and doc["tests"] in prog
