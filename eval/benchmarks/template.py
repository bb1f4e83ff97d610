"""TEMPLATE for a new benchmark: copy this file, fill it in, add one line to ``REGISTRY`` in ``__init__.py``.

Say here: what the benchmark measures, the paper (title, arXiv link), the data source and its licence, and how a
sample is judged. Keep benchmark quirks in this module: the executor is generic.
"""

from __future__ import annotations

from pathlib import Path

from codecurate.eval.benchmarks.common import check_size, extract_code, find_file, read_docs, truncate
from codecurate.eval.benchmarks.marks import append_end_mark

CITATION = """@article{key, title={...}, author={...}, year={...}}"""
STOP_WORDS: list[str] = ["\ndef "]  # where a completion-style answer ends
EXPECTED_SIZE: int | None = None  # the published number of problems (a wrong file must not pass silently)
FIELDS = ("task_id", "prompt", "test")  # fields every record must have


def load(data_dir: str | Path | None = None, variant: str | None = None) -> list[dict]:
    """Read the problems; every doc needs a unique ``task_id``."""
    if data_dir is None:
        raise NotImplementedError("load from the Hub with datasets.load_dataset here")
    path = find_file(data_dir, ["my-benchmark.jsonl"], ["my_benchmark"])
    docs = read_docs(path, FIELDS)
    check_size(docs, EXPECTED_SIZE, path)
    return docs


def prompt(doc: dict) -> str:
    """Completion-style prompt: raw text the model continues."""
    return doc["prompt"]


def instruction(doc: dict) -> str:
    """Chat-style user message."""
    return f"Complete this function in one ```python code block:\n```python\n{doc['prompt']}```"


def extract(doc: dict, text: str, style: str) -> str:
    """Model text -> the completion that `program` consumes."""
    return truncate(text, STOP_WORDS) if style == "completion" else extract_code(text)


def program(doc: dict, completion: str, token: str) -> tuple[str, str]:
    """A self-contained program that exits non-zero when the completion is wrong and prints ``mark_line(token)``
    only after its last test (a pass needs both), and its execute-package language. See ``marks.py``."""
    return append_end_mark(f"{doc['prompt']}{completion}\n\n{doc['test']}\n", "python", token), "python"
