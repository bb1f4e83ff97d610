"""A stage (curate, generate, finetune, eval) never imports another stage or the CLI; what two stages share lives
in the ground package. Checked on the source (every import, including those inside functions and ``__main__``
blocks), and the documented ``python -m codecurate.finetune.train`` entry still runs the stage."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = {"curate": "curate", "generate": "generate", "finetune": "finetune", "eval": "eval"}  # name -> folder


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute import in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module)]
            if node.module == "codecurate":  # from codecurate import cli / generate
                found += [(node.lineno, f"codecurate.{alias.name}") for alias in node.names]
    return found


def reaches(stage: str, forbidden: set[str]) -> list[str]:
    out = []
    for path in sorted((ROOT / STAGES[stage]).rglob("*.py")):
        for line, module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    return out


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_no_stage_imports_the_cli(stage):
    assert reaches(stage, {"codecurate.cli", "codecurate.__main__"}) == []


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_imports_no_other_stage(stage):
    others = {f"codecurate.{s}" for s in STAGES if s != stage}
    assert reaches(stage, others) == []


def test_finetune_module_entry_runs_the_cli_stage(tmp_path):
    """docs/finetune.md: ``accelerate launch ... -m codecurate.finetune.train data.jsonl -o runs/ft``."""
    cmd = [sys.executable, "-m", "codecurate.finetune.train"]
    help_ = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert help_.returncode == 0 and help_.stdout.startswith("usage: codecurate finetune")
    missing = tmp_path / "missing.jsonl"
    bad = subprocess.run([*cmd, str(missing), "-o", str(tmp_path / "ft")], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [f"codecurate finetune: error: {missing}: no such file"]


def test_the_ground_package_imports_no_stage():
    """The ground package stands under every stage: it names them (the stage table) but never imports them, so
    no cycle can go through it."""
    stages = {f"codecurate.{s}" for s in STAGES}
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "codecurate").rglob("*.py"))
        for line, module in imported_modules(path)
        if any(module == s or module.startswith(s + ".") for s in stages)
    ]
    assert found == []


def _module_graph() -> dict[str, set[str]]:
    """codecurate's modules -> the codecurate modules they import (anywhere in the file, lazy imports too)."""
    folders = {"codecurate": "codecurate", **{f"codecurate.{s}": folder for s, folder in STAGES.items()}}
    files: dict[str, Path] = {}
    for package, folder in folders.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            files[".".join([package, *parts])] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for _, module in imported_modules(path):
            targets |= {m for m in (module, module.rpartition(".")[0]) if m in files and m != name}
        graph[name] = targets
    return graph


def test_no_import_cycles():
    """No module reaches itself through imports (lazy ones included): one direction between any two pieces."""
    graph = _module_graph()
    cycles, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append(" -> ".join(path[path.index(node) :] + [node]))
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    assert cycles == []
