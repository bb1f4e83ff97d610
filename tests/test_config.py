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


def _parse(argv, yaml_text=None, tmp_path=None):
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    add_dataclass_arguments(p, Cfg)
    if yaml_text is not None:
        path = tmp_path / "c.yaml"
        path.write_text(yaml_text)
        argv = [*argv, "--config", str(path)]
    return parse(Cfg, p.parse_args(argv), section="curate")


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
