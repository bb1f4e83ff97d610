import json
from pathlib import Path

import pytest

from codecurate.benchmarks import BUNDLED, MULTIPLE_BUNDLED, MULTIPLE_SIZES, data_root
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
    # The usage block is longer, but the one that defines the function wins (codecurate/codeblocks.py policy).
    usage = "```python\nimport os\nprint(f(os.sep), 'a long usage line')\n```"
    text = f"Here:\n{usage}\nand\n```python\ndef f(x):\n    return x\n```\nDone."
    assert common.extract_code(text, must_contain="def f") == "def f(x):\n    return x"
    assert common.extract_code("no fence at all") == "no fence at all"
    assert common.extract_code("```python\ndef f():\n    return 1") == "def f():\n    return 1"  # unclosed


def test_truncate_at_earliest_stop_word():
    assert common.truncate("    return 1\ndef g():\n#x", ["\n#", "\ndef "]) == "    return 1"


def test_humaneval_program_accepts_body_or_full_function():
    doc = benchmarks.get("humaneval").load()[0]
    mod = benchmarks.get("humaneval").module
    body, _ = mod.program(doc, doc["canonical_solution"], "t0")
    assert body.startswith(doc["prompt"]) and "check(has_close_elements)\n" in body
    assert body.rstrip().endswith("print('\\n__codecurate_done__ t0', flush=True)")
    full_fn = "def has_close_elements(numbers, threshold):\n    return False\n"
    prog, lang = mod.program(doc, full_fn, "t0")
    assert lang == "python" and prog.startswith("from typing import List") and doc["prompt"] not in prog
    chat = mod.extract(doc, f"Sure!\n```python\n{full_fn}```\nThis works.", "chat")
    assert chat == full_fn.rstrip("\n")  # the newlines around a block are not code


def test_mbpp_variants_sizes(shared_data):
    assert len(benchmarks.get("mbpp").load(shared_data)) == 257
    full = benchmarks.get("mbpp:full").load(shared_data)
    assert len(full) == 500 and full[0]["task_id"] == "Mbpp/11"
    with pytest.raises(UserError, match="unknown variant"):
        benchmarks.get("mbpp:nope").load(shared_data)


def test_humanevalpack_js_tests_throw_on_failure(shared_data):
    bench = benchmarks.get("humanevalpack-fix:js")
    doc = bench.load(shared_data)[0]
    prog, lang = bench.module.program(doc, doc["declaration"] + doc["buggy_solution"], "t0")
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
    prog, lang = bench.module.program(doc, completion, "t0")
    assert lang == "lua" and prog.startswith(doc["prompt"]) and "lu.LuaUnit.run()" in prog
    assert "os.exit(lu.LuaUnit.run())" not in prog  # it would exit before the end mark


# Offline: every benchmark loads from the bundled data/ with no --data-dir and no network (HF_HUB_OFFLINE is set
# in conftest), with its published problem count.
@pytest.mark.parametrize(
    ("spec", "count"),
    [
        ("humaneval", 164),
        ("mbpp", 257),
        ("mbpp:full", 500),
        *((f"humanevalpack-fix:{lang}", 164) for lang in ("python", "js", "java", "go", "cpp", "rust")),
        ("humanevalpack-explain:go", 164),
        *((f"multipl-e:{code}", n) for code, n in sorted(MULTIPLE_SIZES.items()) if code in MULTIPLE_BUNDLED),
    ],
)
def test_benchmarks_load_offline_from_bundled_data(spec, count, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("must not use the Hub"))
    docs = benchmarks.get(spec).load()
    assert len(docs) == count and len({d["task_id"] for d in docs}) == count


def test_published_counts_match_the_multiple_table():
    from codecurate.eval.benchmarks import multiple

    assert multiple.EXPECTED_SIZES["lua"] == 161 and multiple.EXPECTED_SIZES["go"] == 154
    for code in MULTIPLE_BUNDLED:
        assert BUNDLED[f"multipl-e:{code}"].count == MULTIPLE_SIZES[code]


def test_data_dir_still_overrides_the_bundled_copy(tmp_path):
    rows = [{"name": f"t{i}", "prompt": "p", "tests": "t"} for i in range(161)]
    (tmp_path / "humaneval-lua.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs = benchmarks.get("multipl-e:lua").load(tmp_path)
    assert [d["task_id"] for d in docs][:2] == ["t0", "t1"]


def test_unbundled_multiple_language_offline_is_one_line_error(monkeypatch):
    import datasets

    def offline(*a, **k):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(UserError, match=r"multipl-e:ml: not bundled .* --data-dir"):
        benchmarks.get("multipl-e:ml").load()


def test_every_data_folder_has_source_and_licence():
    from codecurate.benchmarks import data_root

    folders = [p for p in data_root().iterdir() if p.is_dir()]
    assert {p.name for p in folders} >= {"mbpp", "humanevalpack", "multipl_e_humaneval", "codesearchnet_tiny"}
    for folder in folders:
        assert (folder / "SOURCE.txt").is_file() and (folder / "LICENSE").is_file(), folder
    assert "training data" in (data_root() / "multipl_e_humaneval" / "SOURCE.txt").read_text().splitlines()[0].lower()
    total = sum(p.stat().st_size for p in data_root().rglob("*") if p.is_file())
    assert total < 3_000_000  # a few MB in all


def test_data_is_found_in_a_non_editable_install(tmp_path):
    """`pip install` without -e puts data/ at codecurate/data: the loader finds it there (no source checkout)."""
    import shutil
    import subprocess
    import sys
    import sysconfig

    import codecurate

    site = tmp_path / "site"
    shutil.copytree(Path(codecurate.__file__).parent, site / "codecurate")
    shutil.copytree(data_root(), site / "codecurate" / "data")  # where package-dir puts it
    code = (
        "from codecurate.benchmarks import data_root, load_bundled\n"
        "print(data_root())\nprint(len(load_bundled('mbpp:full')[0]))"
    )
    env = {"PYTHONPATH": f"{site}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(site / "codecurate" / "data"), "500"]


def test_pyproject_ships_every_data_file():
    """The package-data globs cover every file in data/, so a wheel carries them all."""
    import fnmatch
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["codecurate.data"] == "data" and "codecurate.data" in config["packages"]
    globs = config["package-data"]["codecurate.data"]
    for path in data_root().rglob("*"):
        if path.is_file():
            rel = path.relative_to(data_root()).as_posix()
            assert any(fnmatch.fnmatch(rel, g) for g in globs), rel


def test_multiple_codes_map_to_execute_languages():
    """MultiPL-E's codes name the execute package's languages; availability is that table's runtime probe."""
    from codecurate.eval.benchmarks import multiple
    from codecurate.execute.languages import canonical_name, get_language

    assert {code: canonical_name(lang) for code, lang in multiple.RUNNERS.items()} == multiple.RUNNERS
    assert (multiple.RUNNERS["ml"], multiple.RUNNERS["rkt"], multiple.RUNNERS["rs"]) == ("ocaml", "racket", "rust")
    for code, lang in multiple.RUNNERS.items():
        reason = benchmarks.get(f"multipl-e:{code}").unavailable()
        assert (reason is None) == (get_language(lang).runtime_path() is not None) or code == "lua", (code, reason)
    assert "no runner" in benchmarks.get("multipl-e:php").unavailable()
