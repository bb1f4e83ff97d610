"""How long mining the standard library takes, against a floor measured in the same run.

    nice .venv/bin/python bench/mine.py [SRC]

Baseline (ratio 1.0): read every file of the walk and ``ast.parse`` it, the least any Python miner must do.
The rows after it are the mine stage itself: the default run (all files, all filters, the runnable probe in the
sandbox), and runs with ``--no-check-runnable``, ``--max-files`` and ``--near-dup-threshold 0`` to show what the
probe, the file count and the MinHash step cost.
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

from codecurate.curate.mine import MineConfig, run  # noqa: E402
from codecurate.curate.mine_tree import DEFAULT_EXCLUDE, walk_tree  # noqa: E402
from codecurate.models import default_corpus  # noqa: E402


def parse_only(root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    files = walk_tree(root, ["python"], DEFAULT_EXCLUDE)
    for f in files:
        try:
            ast.parse(f.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, SyntaxError):
            continue
    return time.perf_counter() - start, len(files)


def mine(root: Path, out: Path, **kw: object) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = run(MineConfig(src=[str(root)], output=str(out), languages=["python"], **kw))
    return time.perf_counter() - start, summary


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default_corpus()
    base, n_files = parse_only(root)
    rows = [("read + ast.parse (baseline)", base, n_files, "-", "-")]
    with tempfile.TemporaryDirectory() as tmp:
        for label, kw in [
            ("mine (defaults)", {}),
            ("mine --no-check-runnable", {"check_runnable": False}),
            ("mine --near-dup-threshold 0", {"near_dup_threshold": 0.0}),
            ("mine --max-files 200", {"max_files": 200}),
        ]:
            secs, s = mine(root, Path(tmp) / "seeds.jsonl", **kw)
            read = s["files"] - s["files_skipped"].get("max_files", 0)
            rows.append((label, secs, read, s["extracted"], s["kept"]))
    print(f"source: {root}  ({os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    print(f"| {'run':<30} | {'seconds':>8} | {'x baseline':>10} | {'files':>6} | {'functions':>9} | {'kept':>6} |")
    print(f"|{'-' * 32}|{'-' * 9}:|{'-' * 11}:|{'-' * 7}:|{'-' * 10}:|{'-' * 7}:|")
    for label, secs, files, extracted, kept in rows:
        print(f"| {label:<30} | {secs:8.2f} | {secs / base:10.2f} | {files:>6} | {extracted:>9} | {kept:>6} |")


if __name__ == "__main__":
    main()
