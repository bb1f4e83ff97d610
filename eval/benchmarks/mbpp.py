"""MBPP: Mostly Basic Python Problems, crowd-sourced tasks with three assert tests each.

Paper: Austin et al. 2021, "Program Synthesis with Large Language Models", https://arxiv.org/abs/2108.07732
Source: https://github.com/google-research/google-research/tree/master/mbpp (CC-BY-4.0); Hub:
``google-research-datasets/mbpp`` (configs ``full`` and ``sanitized``).

Variants: ``mbpp`` = sanitized (``sanitized-mbpp.json``, 257 test problems), ``mbpp:full`` (``mbpp.jsonl``, 500
test problems). The test split is task_ids 11-510 (1-10 are few-shot prompts, 511+ train/validation). The prompt
shows the description and the first test, as in the paper, so the model learns the function name. Without a
data folder the test split bundled in ``data/mbpp/`` is used (no network).
"""

from __future__ import annotations

from pathlib import Path

from codecurate.benchmarks import load_bundled
from codecurate.errors import UserError
from codecurate.eval.benchmarks.common import check_size, extract_code, find_file, read_docs, truncate
from codecurate.eval.benchmarks.marks import append_end_mark

CITATION = """@article{austin2021program,
  title={Program Synthesis with Large Language Models},
  author={Jacob Austin and Augustus Odena and Maxwell Nye and Maarten Bosma and others},
  journal={arXiv preprint arXiv:2108.07732},
  year={2021}
}"""
STOP_WORDS = ["\nassert", '\n"""', "\nprint(", "\nif __name__", "\n```"]
VARIANTS = {
    # variant: (file names in a --data-dir, description field, test-split size); the last name is the bundled one
    "sanitized": (["sanitized-mbpp.json", "sanitized-mbpp.jsonl", "sanitized-mbpp-test.jsonl.gz"], "prompt", 257),
    "full": (["mbpp.jsonl", "mbpp-test.jsonl.gz"], "text", 500),
}
TEST_IDS = range(11, 511)


def load(data_dir: str | Path | None = None, variant: str | None = None) -> list[dict]:
    """Test-split problems from `data_dir` (a folder holding the files, or ``mbpp/`` under it) or, without one,
    the copy bundled in ``data/mbpp/``."""
    variant = variant or "sanitized"
    if variant not in VARIANTS:
        raise UserError(f"mbpp: unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    names, text_field, size = VARIANTS[variant]
    required = ("task_id", text_field, "code", "test_list")
    if data_dir is not None:
        source = find_file(data_dir, names, ["mbpp"])
        docs = [d for d in read_docs(source, required) if int(d["task_id"]) in TEST_IDS]
        check_size(docs, size, source)
    else:
        docs, _ = load_bundled(f"mbpp:{variant}", required)
    for d in docs:
        d["text"] = d[text_field]
        d["task_id"] = f"Mbpp/{d['task_id']}"
    return docs


def prompt(doc: dict) -> str:
    return f'"""\n{doc["text"]}\n{doc["test_list"][0]}\n"""\n'


def instruction(doc: dict) -> str:
    return (
        f"{doc['text']}\nYour code should pass this test:\n{doc['test_list'][0]}\n"
        "Answer with the Python code in one ```python code block."
    )


def extract(doc: dict, text: str, style: str) -> str:
    if style == "completion":
        return truncate(text, STOP_WORDS)
    return extract_code(text, must_contain="def ")


def program(doc: dict, completion: str, token: str) -> tuple[str, str]:
    # Imports before the code; setup after it, since it may use the code's classes (Mbpp/367 builds a tree).
    imports = "\n".join(doc.get("test_imports") or [])
    tests = "\n".join(doc["test_list"])
    code = f"{imports}\n{completion}\n\n{doc.get('test_setup_code') or ''}\n{tests}\n"
    return append_end_mark(code, "python", token), "python"


def canonical(doc: dict) -> str:
    return doc["code"]
