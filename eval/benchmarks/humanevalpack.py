"""HumanEvalPack: HumanEval extended to six languages and three tasks; we run Fix and Explain.

Paper: Muennighoff et al. 2023, "OctoPack: Instruction Tuning Code Large Language Models",
https://arxiv.org/abs/2308.07124. Source: https://github.com/bigcode-project/octopack (MIT); Hub:
``bigcode/humanevalpack`` (one config per language).

- ``humanevalpack-fix[:lang]`` (HumanEvalFixTests): the model sees the buggy function and its tests and must return
  the repaired function; judged by the tests.
- ``humanevalpack-explain[:lang]`` (HumanEvalExplain): turn 1, the model explains the correct function in at most
  as many characters as its docstring; turn 2, in a fresh conversation that sees only the explanation, it writes
  the function again; judged by the tests. Both turns are chat prompts whatever ``--prompt-style`` says.

Languages with a runner here: ``python`` (default) and ``js``. JavaScript tests use ``console.assert``, which only
prints on failure, so the program makes it throw (otherwise every answer would pass).
"""

from __future__ import annotations

from pathlib import Path

from codecurate.errors import UserError
from codecurate.eval.benchmarks.common import (
    check_size,
    defines_js,
    defines_python,
    extract_code,
    find_file,
    python_prefix,
    read_docs,
)

CITATION = """@article{muennighoff2023octopack,
  title={OctoPack: Instruction Tuning Code Large Language Models},
  author={Niklas Muennighoff and Qian Liu and Armel Zebaze and Qinkai Zheng and others},
  journal={arXiv preprint arXiv:2308.07124},
  year={2023}
}"""
STOP_WORDS: list[str] = []  # chat answers end at the model's end-of-turn token
EXPECTED_SIZE = 164
CHAT_ONLY = True
LANGUAGES = {"python": ("Python", "python"), "js": ("JavaScript", "javascript")}  # variant: (display, sandbox)
FIELDS = ("task_id", "prompt", "declaration", "canonical_solution", "buggy_solution", "test", "entry_point")


def load(data_dir: str | Path | None = None, variant: str | None = None, task: str = "fix") -> list[dict]:
    lang = variant or "python"
    if lang not in LANGUAGES:
        raise UserError(f"humanevalpack: no runner for language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    if data_dir is not None:
        source = find_file(
            data_dir, [f"humanevalpack_{lang}.jsonl", f"humanevalpack_{lang}.jsonl.gz"], ["humanevalpack"]
        )
        docs = read_docs(source, FIELDS)
    else:
        from datasets import load_dataset

        source = f"bigcode/humanevalpack ({lang}, test)"
        docs = [dict(d) for d in load_dataset("bigcode/humanevalpack", lang, split="test")]
    check_size(docs, EXPECTED_SIZE, source)
    for d in docs:
        d["_task"], d["_lang"] = task, lang
    return docs


def _fence(doc: dict) -> str:
    return "python" if doc["_lang"] == "python" else "javascript"


def instruction(doc: dict) -> str:
    display, fence = LANGUAGES[doc["_lang"]][0], _fence(doc)
    if doc["_task"] == "fix":
        return (
            f"Fix bugs in {doc['entry_point']}.\n\n```{fence}\n{doc['declaration']}{doc['buggy_solution']}```\n\n"
            f"It must pass these tests:\n```{fence}\n{doc['test']}\n```\n"
            f"Answer with the whole corrected {display} function in one ```{fence} code block."
        )
    limit = len(doc.get("docstring") or "") or 500
    return (
        f"```{fence}\n{doc['declaration']}{doc['canonical_solution']}```\n\n"
        f"Provide a concise natural language description of the {display} function above using at most {limit} "
        "characters. Do not write code."
    )


def prompt(doc: dict) -> str:
    return instruction(doc)


def followup(doc: dict, explanation: str) -> str | None:
    """The second turn of Explain: re-synthesise from the explanation alone. Fix has no second turn."""
    if doc["_task"] != "explain":
        return None
    display, fence = LANGUAGES[doc["_lang"]][0], _fence(doc)
    return (
        f"{explanation.strip()}\n\nWrite functional {display} code according to the description above. "
        f"Start from this declaration and answer in one ```{fence} code block:\n```{fence}\n{doc['declaration']}```"
    )


def extract(doc: dict, text: str, style: str) -> str:
    return extract_code(text, must_contain=doc["entry_point"])


def program(doc: dict, completion: str) -> tuple[str, str]:
    ep = doc["entry_point"]
    if doc["_lang"] == "python":
        if defines_python(completion, ep):
            code = python_prefix(doc["declaration"], ep) + completion
        else:
            code = doc["declaration"] + completion
        return f"{code}\n\n{doc['test']}\n", "python"
    # The declaration's own line too: a few records' entry_point differs in case from the declared name.
    header = doc["declaration"].strip().splitlines()[0] if doc["declaration"].strip() else ep
    code = completion if defines_js(completion, ep) or header in completion else doc["declaration"] + completion
    test = "const assert = require('node:assert');\n" + doc["test"].replace("console.assert(", "assert(")
    return f"{code}\n\n{test}\n", "javascript"


def canonical(doc: dict) -> str:
    return doc["declaration"] + doc["canonical_solution"]
