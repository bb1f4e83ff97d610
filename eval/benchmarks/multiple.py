"""MultiPL-E: HumanEval translated into 18 programming languages, judged by each language's tests.

Paper: Cassano et al. 2023, "MultiPL-E: A Scalable and Polyglot Approach to Benchmarking Neural Code Generation",
https://arxiv.org/abs/2208.08227. Source: https://github.com/nuprl/MultiPL-E; Hub: ``nuprl/MultiPL-E``
(configs ``humaneval-<lang>``). Files: ``humaneval-<lang>.jsonl`` (fields ``name``, ``prompt``, ``tests``,
``stop_tokens``).

LICENCE: BSD-3 with a machine-learning restriction: evaluation and decontamination only, never training data
(the finetune stage refuses records whose ``source`` names MultiPL-E).

Select a language as ``multipl-e:<lang>``. Languages whose runtime the sandbox lacks are counted as skipped
(Lua additionally needs the ``luaunit`` module its tests import). No canonical solutions exist for MultiPL-E.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from codecurate.errors import UserError
from codecurate.eval.benchmarks.common import extract_code, find_file, read_docs, truncate

CITATION = """@article{cassano2023multipl,
  title={MultiPL-E: A Scalable and Polyglot Approach to Benchmarking Neural Code Generation},
  author={Federico Cassano and John Gouwar and Daniel Nguyen and Sydney Nguyen and others},
  journal={IEEE Transactions on Software Engineering},
  year={2023}
}"""
STOP_WORDS: list[str] = []  # per problem: each record carries its own stop_tokens
# language code -> (sandbox language, executable it needs)
LANGUAGES = {
    "js": ("javascript", "node"), "lua": ("lua", "lua"), "py": ("python", "python3"), "rb": ("ruby", "ruby"),
    "ts": ("typescript", "tsc"), "sh": ("bash", "bash"), "pl": ("perl", "perl"), "php": ("php", "php"),
    "r": ("r", "Rscript"), "jl": ("julia", "julia"), "go": ("go", "go"), "java": ("java", "javac"),
    "cpp": ("cpp", "g++"), "cs": ("csharp", "csc"), "d": ("d", "ldc2"), "rs": ("rust", "rustc"),
    "rkt": ("racket", "racket"), "scala": ("scala", "scalac"), "swift": ("swift", "swiftc"),
}  # fmt: skip
# Problem counts of the published "reworded" HumanEval translations (some problems do not translate).
EXPECTED_SIZES = {
    "cpp": 161, "cs": 158, "d": 156, "go": 154, "java": 158, "jl": 159, "js": 161, "lua": 161, "php": 161,
    "pl": 161, "r": 161, "rb": 161, "rkt": 161, "rs": 156, "scala": 160, "sh": 158, "swift": 158, "ts": 159,
}  # fmt: skip
FIELDS = ("name", "prompt", "tests")


def load(data_dir: str | Path | None = None, variant: str | None = None) -> list[dict]:
    if not variant or variant not in LANGUAGES:
        raise UserError(f"multipl-e needs a language, e.g. multipl-e:lua; known: {', '.join(sorted(LANGUAGES))}")
    if data_dir is not None:
        source = find_file(data_dir, [f"humaneval-{variant}.jsonl"], ["multipl_e_humaneval", "multipl-e"])
        docs = read_docs(source, FIELDS)
    else:
        from datasets import load_dataset

        source = f"nuprl/MultiPL-E (humaneval-{variant}, test)"
        docs = [dict(d) for d in load_dataset("nuprl/MultiPL-E", f"humaneval-{variant}", split="test")]
    expected = EXPECTED_SIZES.get(variant)
    if expected is not None and len(docs) != expected:
        raise UserError(f"{source}: expected {expected} problems, found {len(docs)}; use --limit for a subset")
    for d in docs:
        d["task_id"], d["_lang"] = d["name"], variant
    return docs


def unavailable(variant: str | None) -> str | None:
    """Why this language cannot be judged on this machine, or None. Checks our own fixed probe, not model code."""
    if variant not in LANGUAGES:
        return None
    exe = LANGUAGES[variant][1]
    if shutil.which(exe) is None:
        return f"runtime '{exe}' not installed"
    if variant == "lua":
        probe = subprocess.run([exe, "-e", "require('luaunit')"], capture_output=True, timeout=10)
        if probe.returncode != 0:
            return "Lua module 'luaunit' not installed (Debian: apt-get install lua-unit; or luarocks install luaunit)"
    return None


def prompt(doc: dict) -> str:
    return doc["prompt"]


def instruction(doc: dict) -> str:
    lang = LANGUAGES[doc["_lang"]][0]
    return (
        f"Complete the following {lang} function. Answer with the whole function in one ```{lang} code block.\n\n"
        f"```{lang}\n{doc['prompt']}```"
    )


def _header(doc: dict) -> str:
    lines = [ln for ln in doc["prompt"].splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def extract(doc: dict, text: str, style: str) -> str:
    if style == "completion":
        return truncate(text, doc.get("stop_tokens") or [])
    return extract_code(text, must_contain=_header(doc) or None)


def program(doc: dict, completion: str) -> tuple[str, str]:
    header = _header(doc)
    code = completion if header and header in completion else doc["prompt"] + completion
    return f"{code}\n\n{doc['tests']}\n", LANGUAGES[doc["_lang"]][0]
