"""HumanEvalPack: HumanEval extended to six languages and three tasks; we run Fix and Explain.

Paper: Muennighoff et al. 2023, "OctoPack: Instruction Tuning Code Large Language Models",
https://arxiv.org/abs/2308.07124. Source: https://github.com/bigcode-project/octopack (MIT); Hub:
``bigcode/humanevalpack`` (one config per language).

- ``humanevalpack-fix[:lang]`` (HumanEvalFixTests): the model sees the buggy function and its tests and must return
  the repaired function; judged by the tests.
- ``humanevalpack-explain[:lang]`` (HumanEvalExplain): turn 1, the model explains the correct function in at most
  as many characters as its docstring; turn 2, in a fresh conversation that sees only the explanation, it writes
  the function again; judged by the tests. Both turns are chat prompts whatever ``--prompt-style`` says.

All six languages run here (``python`` default, ``js``, ``java``, ``go``, ``cpp``, ``rust``), each through the
execute package's adapter, and every program ends with the run's mark printed after the tests (``marks.py``).
Per language: JavaScript's ``console.assert`` only prints on failure, so the program makes it throw; Java's test
class ``Main`` becomes ``CodecurateTests`` behind a runner ``Main``; C++'s test ``main`` is renamed and called; Go's
``go test`` functions and testify's ``assert.Equal`` run through a shim (no module download in the sandbox); Rust's
``#[cfg(test)]`` functions are called from a generated ``main``, and the ``rand``/``regex``/``md5`` crates the
prompt imports are not available (Rust/91 and Rust/162 need them). The data is bundled in ``data/humanevalpack/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from codecurate.benchmarks import HUMANEVALPACK_LANGUAGES, load_bundled
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
from codecurate.eval.benchmarks.marks import append_end_mark, cpp_wrap_main, go_program, java_runner, rust_tests_main

CITATION = """@article{muennighoff2023octopack,
  title={OctoPack: Instruction Tuning Code Large Language Models},
  author={Niklas Muennighoff and Qian Liu and Armel Zebaze and Qinkai Zheng and others},
  journal={arXiv preprint arXiv:2308.07124},
  year={2023}
}"""
STOP_WORDS: list[str] = []  # chat answers end at the model's end-of-turn token
EXPECTED_SIZE = 164
CHAT_ONLY = True
# variant: (display name, fence tag, execute-package language)
LANGUAGES = {
    "python": ("Python", "python", "python"), "js": ("JavaScript", "javascript", "javascript"),
    "java": ("Java", "java", "java"), "go": ("Go", "go", "go"), "cpp": ("C++", "cpp", "cpp"),
    "rust": ("Rust", "rust", "rust"),
}  # fmt: skip
assert tuple(LANGUAGES) == HUMANEVALPACK_LANGUAGES
FIELDS = ("task_id", "prompt", "declaration", "canonical_solution", "buggy_solution", "test", "entry_point")
# Crates the Rust prompts `use` that a plain rustc build does not have; their lines are dropped.
_RUST_CRATES = re.compile(r"^\s*use\s+(?:rand|regex|md5)\b[^;]*;[ \t]*$", re.M)


def load(data_dir: str | Path | None = None, variant: str | None = None, task: str = "fix") -> list[dict]:
    lang = variant or "python"
    if lang not in LANGUAGES:
        raise UserError(f"humanevalpack: no runner for language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    if data_dir is not None:
        source = find_file(
            data_dir, [f"humanevalpack_{lang}.jsonl", f"humanevalpack_{lang}.jsonl.gz"], ["humanevalpack"]
        )
        docs = read_docs(source, FIELDS)
        check_size(docs, EXPECTED_SIZE, source)
    else:
        docs, _ = load_bundled(f"humanevalpack:{lang}", FIELDS)
    for d in docs:
        d["_task"], d["_lang"] = task, lang
    return docs


def instruction(doc: dict) -> str:
    display, fence = LANGUAGES[doc["_lang"]][:2]
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
    display, fence = LANGUAGES[doc["_lang"]][:2]
    return (
        f"{explanation.strip()}\n\nWrite functional {display} code according to the description above. "
        f"Start from this declaration and answer in one ```{fence} code block:\n```{fence}\n{doc['declaration']}```"
    )


def extract(doc: dict, text: str, style: str) -> str:
    return extract_code(text, must_contain=doc["entry_point"])


def _split_declaration(doc: dict) -> tuple[str, str]:
    """The declaration's text before the entry point's signature line (imports, helpers, class head), and that
    line. A few records' entry_point differs in case from the declared name, hence the case-blind search."""
    decl = doc["declaration"]
    m = re.search(rf"^.*\b{re.escape(doc['entry_point'])}\s*\(.*$", decl, re.M | re.I)
    if m is None:
        return decl, ""
    return decl[: m.start()], m.group(0).strip()


def code_of(doc: dict, completion: str) -> str:
    """The function under test as one unit: a full function from the model is placed after the declaration's
    preamble (imports, helpers), a bare body after the whole declaration."""
    lang, ep = doc["_lang"], doc["entry_point"]
    if lang == "python":
        if defines_python(completion, ep):
            return python_prefix(doc["declaration"], ep) + completion
        return doc["declaration"] + completion
    prefix, header = _split_declaration(doc)
    if prefix.strip() and prefix.strip() in completion:
        return completion  # the answer repeats the whole declaration (imports, helpers) itself
    if lang == "js":
        full = defines_js(completion, ep) or (header and header in completion)
        return completion if full else doc["declaration"] + completion
    if lang == "java" and re.search(r"\bclass\s+Solution\b", completion):
        imports = "".join(line + "\n" for line in prefix.splitlines() if line.startswith("import "))
        return imports + completion
    if lang == "java" and header and header in completion:
        return prefix + completion + "\n}\n"  # the method alone: close the class the prefix opened
    if lang == "go":  # Go's declaration lacks the prompt's helpers (Go/10's IsPalindrome): build on the prompt
        head = re.search(rf"^func\s+{re.escape(ep)}\s*\(", doc["prompt"], re.M | re.I)
        if head and re.search(rf"\bfunc\s+{re.escape(ep)}\s*\(", completion, re.I):
            return doc["prompt"][: head.start()] + completion  # imports are set by use in go_program
        return doc["prompt"] + completion
    if header and header in completion:
        return prefix + completion
    return doc["declaration"] + completion


def program(doc: dict, completion: str, token: str) -> tuple[str, str]:
    lang = doc["_lang"]
    runner = LANGUAGES[lang][2]
    code = code_of(doc, completion)
    if lang == "python":
        return append_end_mark(f"{code}\n\n{doc['test']}\n", runner, token), runner
    if lang == "js":
        test = "const assert = require('node:assert');\n" + doc["test"].replace("console.assert(", "assert(")
        return append_end_mark(f"{code}\n\n{test}\n", runner, token), runner
    if lang == "java":
        tests = re.sub(r"\bpublic\s+class\s+Main\b", "class CodecurateTests", doc["test"], count=1)
        return f"{code}\n\n{tests}\n{java_runner('CodecurateTests', token)}", runner
    if lang == "cpp":
        return f"{code}\n\n{cpp_wrap_main(doc['test'], token)}", runner
    if lang == "go":
        return go_program(code, doc["test"], token), runner
    # rust: a model that copied the prompt's empty `fn main(){}` must not clash with the generated main
    code = re.sub(r"^\s*fn\s+main\s*\(\s*\)\s*\{\s*\}\s*$", "", _RUST_CRATES.sub("", code), flags=re.M)
    return f"{code}\n\n{rust_tests_main(doc['test'], token)}", runner


def canonical(doc: dict) -> str:
    return doc["declaration"] + doc["canonical_solution"]
