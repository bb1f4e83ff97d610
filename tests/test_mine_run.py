"""The mine stage end to end: folder walks, record files, bad input, determinism, manifest and CLI."""

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES

from codecurate.cli import main
from codecurate.curate.filters import FilterConfig
from codecurate.curate.mine import MineConfig, run
from codecurate.curate.mine_tree import is_excluded, walk_tree
from codecurate.curate.provenance import git_blob_sha, git_commit
from codecurate.errors import UserError
from codecurate.records import seed_id

TREE = FIXTURES / "mine" / "tree"
LOOSE = {"min_lines": 1, "min_tokens": 5}  # the fixtures hold small functions


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The fixture tree plus a non-UTF-8 file and a file with a syntax error (made here: ruff lints the repo)."""
    root = tmp_path / "proj"
    shutil.copytree(TREE, root)
    latin1 = 'def f():\n    """Café au lait, encoded as Latin-1."""\n    return 1\n'.encode("latin-1")
    (root / "pkg" / "latin1.py").write_bytes(latin1)
    (root / "pkg" / "broken.py").write_text('def bad(:\n    """Broken."""\n', encoding="utf-8")
    return root


def mine(tmp_path: Path, *src: str | Path, **kw) -> tuple[dict, Path]:
    out = tmp_path / "out" / "seeds.jsonl"
    summary = run(MineConfig(src=[str(s) for s in src], output=str(out), **{**LOOSE, **kw}))
    return summary, out


def read(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_mine_tree_counts_skips_and_records(tree, tmp_path):
    summary, out = mine(tmp_path, tree)
    assert summary["files"] == 8  # 6 fixture sources + latin1 + broken; tests/ and README.txt are left out
    assert summary["files_skipped"] == {"not_utf8": 1, "syntax_error": 1}
    assert summary["kept"] == 19 and summary["removed"]["no_docstring"] == 8
    assert summary["extracted"] == sum(summary["removed"].values()) + summary["kept"]
    assert summary["by_language"] == {"go": 2, "java": 3, "javascript": 4, "php": 2, "python": 6, "ruby": 2}
    records = read(out)
    assert not any(r["path"].startswith("tests/") for r in records)
    dot = next(r for r in records if r["func_name"] == "Vector.dot")
    assert list(dot)[:13] == ["id", "repo", "path", "func_name", "original_string", "language", "code",
                              "code_tokens", "docstring", "docstring_tokens", "sha", "url", "partition"]  # fmt: skip
    assert dot["id"] == seed_id(dot) and dot["repo"] == "proj" and dot["path"] == "pkg/geometry.py"
    assert dot["original_string"] == dot["code"] and dot["partition"] == "train"
    assert dot["url"] == (tree / "pkg" / "geometry.py").resolve().as_uri() + "#L30-L34"
    assert dot["docstring_tokens"] == ["Compute", "the", "dot", "product", "of", "two", "vectors", "."]
    assert dot["docstring"] not in dot["code_no_docstring"] and dot["docstring"] in dot["code"]
    # tmp_path is no git work tree, so sha is the git blob id of the file content.
    assert dot["sha"] == git_blob_sha((tree / "pkg" / "geometry.py").read_bytes())
    assert len({r["id"] for r in records}) == len(records)
    manifest = json.loads(out.with_name("seeds.jsonl.manifest.json").read_text())
    assert manifest["stage"] == "mine"
    assert {k: manifest["counts"][k] for k in ("files", "kept", "removed")} == {
        k: summary[k] for k in ("files", "kept", "removed")
    }
    assert list(manifest["counts"]["removed"]) == [
        "language_not_selected", "unparsable", "no_docstring", "docstring_length", "code_lines", "code_tokens",
        "exact_dup", "near_dup", "language_cap",
    ]  # fmt: skip


def test_same_input_gives_byte_identical_output(tree, tmp_path):
    _, a = mine(tmp_path / "a", tree)
    _, b = mine(tmp_path / "b", tree)
    assert a.read_bytes() == b.read_bytes()


def test_languages_exclude_and_caps(tree, tmp_path):
    summary, _ = mine(tmp_path, tree, languages=["go", "ruby"])
    assert summary["files"] == 2 and summary["by_language"] == {"go": 2, "ruby": 2}
    summary, out = mine(tmp_path, tree, languages=["python"], exclude=[])  # tests/ now included
    assert summary["removed"]["exact_dup"] == 6  # tests/geometry_copy.py duplicates pkg/geometry.py
    summary, _ = mine(tmp_path, tree, max_per_language=1)
    assert set(summary["by_language"].values()) == {1} and summary["removed"]["language_cap"] == 13
    summary, _ = mine(tmp_path, tree, max_files=2)
    assert summary["files_skipped"]["max_files"] == 6


def test_exclude_patterns():
    pats = ["tests", "*.min.js", "pkg/gen_*.py"]
    assert is_excluded(Path("a/tests/x.py"), pats) and is_excluded(Path("web/app.min.js"), pats)
    assert is_excluded(Path("pkg/gen_parser.py"), pats) and not is_excluded(Path("lib/pkg/gen_parser.py"), pats)
    assert not is_excluded(Path("a/testsuite.py"), pats)
    files = walk_tree(TREE, ["python"], ["tests"])
    assert [f.relative_to(TREE).as_posix() for f in files] == ["pkg/geometry.py"]


def _git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(cwd), "PATH": os.environ["PATH"]}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_git_commit_and_blob_sha(tmp_path):
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    assert git_commit(repo / "src") is None  # a branch without commits
    (repo / "src" / "a.py").write_text("x = 1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    first = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo / "src") == first and len(first) == 40
    _git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    _git(repo, "pack-refs", "--all")  # the branch now lives in packed-refs only
    second = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo / "src") == second != first
    _git(repo, "checkout", "-q", "--detach", first)
    assert git_commit(repo) == first
    _git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "main")  # .git is a file in a linked worktree
    assert git_commit(tmp_path / "wt" / "src") == second
    assert git_commit(tmp_path / "wt" / "src") == git_commit(tmp_path / "wt")
    (tmp_path / "plain").mkdir()
    assert git_commit(tmp_path / "plain") is None  # no work tree around it


def test_records_of_a_git_work_tree_carry_its_commit(tree, tmp_path, monkeypatch):
    """The same tree mined inside a real git repository: sha is HEAD's commit, every other field unchanged."""
    _, plain = mine(tmp_path / "plain", tree, languages=["python"])
    _git(tree, "init", "-q", "-b", "main")
    _git(tree, "add", ".")
    _git(tree, "commit", "-q", "-m", "fixture")
    head = _git(tree, "rev-parse", "HEAD")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))  # as inside a git hook: must not redirect us
    _, inside = mine(tmp_path / "git", tree, languages=["python"])
    a, b = read(plain), read(inside)
    assert {r["sha"] for r in b} == {head}
    assert [r["sha"] for r in a] == [git_blob_sha((tree / r["path"]).read_bytes()) for r in a]
    drop = ("id", "sha")
    assert [{k: v for k, v in r.items() if k not in drop} for r in a] == [
        {k: v for k, v in r.items() if k not in drop} for r in b
    ]
    assert {r["repo"] for r in b} == {"proj"} and b[0]["url"].startswith(tree.resolve().as_uri() + "/")


def test_without_git_records_carry_blob_ids(tree, tmp_path, monkeypatch, caplog):
    """The documented fallback: no git on PATH is one warning, and sha is each file's blob id."""
    from codecurate.curate import provenance

    _git(tree, "init", "-q", "-b", "main")
    _git(tree, "add", ".")
    _git(tree, "commit", "-q", "-m", "fixture")
    provenance._git.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    try:
        _, out = mine(tmp_path, tree, languages=["python"])
    finally:
        provenance._git.cache_clear()
    recs = read(out)
    assert [r["sha"] for r in recs] == [git_blob_sha((tree / r["path"]).read_bytes()) for r in recs]
    assert sum("git is not installed" in r.message for r in caplog.records) == 1


# MineConfig's keys before FilterConfig and RayOptions became its sections: flags, YAML keys and manifest keys.
FLAT_KEYS = [
    "src",
    "output",
    "languages",
    "exclude",
    "min_lines",
    "max_lines",
    "min_tokens",
    "max_tokens",
    "min_docstring_tokens",
    "max_docstring_tokens",
    "near_dup_threshold",
    "max_per_language",
    "max_files",
    "seed",
    "require_return",
    "require_annotations",
    "check_runnable",
    "runnable_only",
    "hf_split",
    "executor",
    "ray_address",
    "ray_workers",
]


def test_config_sections_keep_the_flat_keys(tmp_path, capsys):
    from codecurate.config import from_dict, load_yaml, to_dict

    cfg = from_dict(MineConfig, {"min_lines": 2, "seed": 7, "runnable_only": True, "executor": "ray"})
    assert (cfg.filters.min_lines, cfg.filters.seed, cfg.filters.runnable_only) == (2, 7, True)
    assert cfg.ray.executor == "ray"
    with pytest.deprecated_call():  # flat reads stay for older Python callers, as deprecated aliases
        assert cfg.executor == "ray"
    flat = to_dict(cfg)
    assert set(flat) == {*FLAT_KEYS, "ray_gpus_per_worker"}  # the one new key: RayOptions' fourth setting
    assert from_dict(MineConfig, flat) == cfg
    nested = from_dict(MineConfig, {"filters": {"min_lines": 2, "seed": 7, "runnable_only": True},
                                    "ray": {"executor": "ray"}})  # fmt: skip
    assert nested == cfg
    assert MineConfig(min_lines=2, seed=7, runnable_only=True, executor="ray") == cfg
    assert FilterConfig().min_lines == 3 and MineConfig().filters.min_lines == 3  # a default is never shared
    yaml = tmp_path / "mine.yaml"
    yaml.write_text("mine:\n  min_lines: 2\n  max_lines: 1\n")
    assert load_yaml(yaml)["mine"]["min_lines"] == 2
    rc = main(["mine", str(TREE), "--config", str(yaml), "-o", str(tmp_path / "s.jsonl"), "-q"])
    assert rc == 2 and "min_lines (2) is larger than max_lines (1)" in capsys.readouterr().err
    rc = main(["mine", str(TREE), "--ray-gpus-per-worker", "1", "-o", str(tmp_path / "s.jsonl"), "-q"])
    assert rc == 2 and "--ray-gpus-per-worker must be 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["mine", "--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0 and all(f"--{k.replace('_', '-')}" in text for k in FLAT_KEYS if k != "src")


def csn_record(**over) -> dict:
    rec = {
        "repo": "o/r", "path": "m.py", "func_name": "add", "language": "python",
        "code": 'def add(a, b):\n    """Add two numbers and return the sum."""\n    total = a + b\n    return total',
        "docstring": "Add two numbers and return the sum.", "partition": "valid",
    }  # fmt: skip
    rec.update(over)
    return rec


def write_jsonl(path: Path, rows: list, gz: bool = False) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_record_files_are_completed(tmp_path):
    java_code = "int f(int x) { int y = x * 2; return y + 1; }"
    java = csn_record(language="java", code=java_code, docstring="Double x plus one.")
    src = write_jsonl(tmp_path / "in.jsonl.gz", [csn_record(), java, csn_record(language="go", func_name="g")], gz=True)
    summary, out = mine(tmp_path, src, languages=["python", "java"])
    assert summary["removed"]["language_not_selected"] == 1 and summary["kept"] == 2
    py, jv = read(out)
    assert py["code_no_docstring"] == "def add(a, b):\n    total = a + b\n    return total"
    assert py["partition"] == "valid" and py["code_tokens"][:3] == ["def", "add", "("]
    assert "Add two numbers" not in " ".join(py["code_tokens"])
    assert py["docstring_tokens"] == ["Add", "two", "numbers", "and", "return", "the", "sum", "."]
    assert jv["code_no_docstring"] == jv["code"] and jv["original_string"] == jv["code"]


def test_python2_record_is_counted_not_kept(tmp_path):
    py2 = csn_record(code='def f(x):\n    """Print x the old way."""\n    print x\n    return x + 1')
    src = write_jsonl(tmp_path / "in.jsonl", [py2, csn_record()])
    summary, _ = mine(tmp_path, src)
    assert summary["removed"]["unparsable"] == 1 and summary["kept"] == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["{not json"], "in.jsonl:1: invalid JSON"),
        ([csn_record(), {"language": "python"}], "in.jsonl:2: field 'code': missing required field"),
        ([csn_record(language="cobol")], "in.jsonl:1: field 'language': unknown language 'cobol'"),
        ([csn_record(code=42)], "in.jsonl:1: field 'code': expected a non-empty string"),
        ([], "empty input"),
    ],
)
def test_bad_record_files(tmp_path, rows, message):
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    with pytest.raises(UserError, match=message):
        mine(tmp_path, src)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # no partial output


def test_bad_inputs(tmp_path, tree):
    bad_utf8 = tmp_path / "in.jsonl"
    bad_utf8.write_bytes(json.dumps(csn_record()).encode() + b'\n{"code": "\xff"}\n')
    cases = [
        ((bad_utf8,), {}, "in.jsonl:2: not valid UTF-8"),
        ((tmp_path / "missing",), {}, "missing: no such file or folder"),
        ((tree / "pkg" / "latin1.py",), {}, "latin1.py: not valid UTF-8"),
        ((tree / "pkg" / "broken.py",), {}, "broken.py:1: syntax error"),
        ((tree / "pkg" / "README.txt",), {}, "README.txt: unknown language"),
        ((tree / "web" / "strings.js",), {"languages": ["python"]}, "not among --languages"),
        ((tree,), {"languages": ["cobol"]}, "unknown language.*cobol.*supported: python"),
        ((tree,), {"min_lines": 10, "max_lines": 5}, "min_lines"),
        ((tree / "tests",), {"exclude": []}, None),  # valid: a tree of one python file
    ]
    for src, kw, message in cases:
        if message is None:
            assert mine(tmp_path, *src, **kw)[0]["kept"] > 0
            continue
        with pytest.raises(UserError, match=message):
            mine(tmp_path / "err", *src, **kw)
        assert not (tmp_path / "err").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty input"):
        mine(tmp_path / "err", tmp_path / "empty")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_named_file(tmp_path, tree):
    path = tree / "pkg" / "geometry.py"
    path.chmod(0)
    with pytest.raises(UserError, match="cannot read"):
        mine(tmp_path, path)


def test_everything_filtered_is_an_error(tmp_path, tree):
    with pytest.raises(UserError, match="no functions left after filtering"):
        mine(tmp_path, tree, min_tokens=10_000, max_tokens=20_000)
    assert not (tmp_path / "out" / "seeds.jsonl").exists()


def test_cli_on_a_small_tree(tree, tmp_path, capsys):
    out = tmp_path / "cli" / "seeds.jsonl"
    rc = main(["mine", str(tree), "-o", str(out), "--languages", "python", "go", "--min-lines", "1", "-q"])
    captured = capsys.readouterr()
    assert rc == 0 and "kept: 7" in captured.out and "not_utf8: 1" in captured.out
    assert {r["language"] for r in read(out)} == {"python", "go"}
    rc = main(["mine", str(tmp_path / "nope.jsonl"), "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("codecurate mine: error: ") and "\n" not in err


@pytest.mark.shared
def test_codexglue_sample(shared_data, tmp_path):
    folder = shared_data / "codexglue_code_to_text_6lang_tiny"
    summary, out = mine(tmp_path, folder / "all_6lang.jsonl", **{"min_lines": 3, "min_tokens": 16})
    assert summary["extracted"] == 54
    assert summary["extracted"] == sum(summary["removed"].values()) + summary["kept"]
    assert set(summary["by_language"]) == {"go", "java", "javascript", "php", "python", "ruby"}
    originals = {json.loads(line)["url"]: json.loads(line) for line in (folder / "all_6lang.jsonl").open()}
    for rec in read(out):
        src = originals[rec["url"]]
        assert {k: rec[k] for k in src} == src  # every CodeSearchNet field passes through unchanged
        assert rec["id"] == seed_id(rec)
        if rec["language"] == "python":
            assert src["docstring"].splitlines()[0] not in rec["code_no_docstring"]
        else:
            assert rec["code_no_docstring"] == rec["code"]


def test_hub_name_that_cannot_be_loaded_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="nosuch-owner/nosuch-data: not a local file or folder, and loading it"):
        mine(tmp_path, "nosuch-owner/nosuch-data")
