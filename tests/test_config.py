import argparse
from dataclasses import dataclass, field
from typing import Literal

import pytest

from codecurate.config import add_dataclass_arguments, from_dict, parse
from codecurate.errors import UserError


@dataclass
class Cfg:
    inputs: list[str] = field(default_factory=list, metadata={"positional": True, "help": "files"})
    output: str = field(default="out.jsonl", metadata={"aliases": ["-o"]})
    n: int = 10
    method: Literal["kcenter", "kmeans"] = "kcenter"
    report: bool = False


def _parse(argv, yaml_text=None, tmp_path=None, cls=Cfg, section="curate"):
    """`cls` from flags `argv` over a YAML file holding `yaml_text`, as the CLI builds a stage's config."""
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    add_dataclass_arguments(p, cls)
    if yaml_text is not None:
        path = tmp_path / "c.yaml"
        path.write_text(yaml_text)
        argv = [*argv, "--config", str(path)]
    return parse(cls, p.parse_args(argv), section=section)


def test_defaults_yaml_and_flags_precedence(tmp_path):
    assert _parse([]) == Cfg()
    cfg = _parse(["a.jsonl", "-o", "x.jsonl", "--report"], "curate:\n  n: 5\n  output: y.jsonl\n", tmp_path)
    assert cfg == Cfg(inputs=["a.jsonl"], output="x.jsonl", n=5, report=True)


def test_unknown_yaml_key_and_bad_types_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match=r"unknown key\(s\) nn"):
        _parse([], "curate:\n  nn: 5\n", tmp_path)
    with pytest.raises(UserError, match="key 'n': expected int"):
        from_dict(Cfg, {"n": "many"})
    with pytest.raises(UserError, match="'random' is not one of"):
        from_dict(Cfg, {"method": "random"})
    with pytest.raises(UserError, match=r"c\.yaml:2: invalid YAML"):
        _parse([], "curate:\n\tn: 5\n", tmp_path)


@dataclass
class Ray:
    executor: Literal["local", "ray"] = "local"
    ray_address: str = ""


@dataclass
class Limits:
    timeout: float = 5.0
    memory_mb: int = 512


@dataclass
class Staged:
    output: str = "out.jsonl"
    ray: Ray = field(default_factory=Ray)
    limits: Limits = field(default_factory=Limits, metadata={"prefix": "sandbox_"})


def _parse_staged(argv, yaml_text=None, tmp_path=None):
    return _parse(argv, yaml_text, tmp_path, cls=Staged, section="stage")


def test_sections_take_flat_flags_and_flat_or_nested_yaml(tmp_path):
    assert _parse_staged([]) == Staged()
    cfg = _parse_staged(
        ["--executor", "ray", "--sandbox-timeout", "2"],
        tmp_path=tmp_path,
        yaml_text="stage:\n  ray_address: a:1\n  limits: {memory_mb: 64, timeout: 9}\n",
    )
    assert cfg == Staged(ray=Ray("ray", "a:1"), limits=Limits(timeout=2.0, memory_mb=64))
    nested = _parse_staged([], "stage:\n  ray: {executor: ray}\n  sandbox_memory_mb: 32\n", tmp_path)
    assert nested.ray.executor == "ray" and nested.limits.memory_mb == 32
    # flat keys round-trip through to_dict, so a manifest written before a split keeps its keys
    from codecurate.config import to_dict

    assert to_dict(cfg) == {
        "output": "out.jsonl",
        "executor": "ray",
        "ray_address": "a:1",
        "sandbox_timeout": 2.0,
        "sandbox_memory_mb": 64,
    }
    assert from_dict(Staged, to_dict(cfg)) == cfg


def test_section_errors_name_the_key(tmp_path):
    with pytest.raises(UserError, match=r"unknown key\(s\) adress"):
        _parse_staged([], "stage:\n  ray: {adress: x}\n", tmp_path)
    with pytest.raises(UserError, match="'sandbox_timeout': given twice"):
        from_dict(Staged, {"sandbox_timeout": 1, "limits": {"timeout": 2}})
    with pytest.raises(UserError, match="'fast' is not one of"):
        from_dict(Staged, {"ray": {"executor": "fast"}})
    with pytest.raises(UserError, match=r"unknown key\(s\) timeout"):
        from_dict(Staged, {"timeout": 1})


def test_flat_names_keep_old_python_names_as_deprecated_aliases():
    from codecurate.config import flat_names

    @flat_names
    @dataclass
    class Old:
        output: str = "o"
        ray: Ray = field(default_factory=Ray)

    shared = Ray()
    cfg = Old(ray=shared, executor="ray")
    assert cfg.ray.executor == "ray" and shared.executor == "local"  # a section passed whole is copied
    with pytest.deprecated_call(match=r"Old.ray_address is deprecated; use .ray.ray_address"):
        cfg.ray_address = "h:1"
    with pytest.deprecated_call():
        assert cfg.ray_address == "h:1"
    with pytest.raises(TypeError, match="unexpected keyword argument 'adress'"):
        Old(adress="x")
