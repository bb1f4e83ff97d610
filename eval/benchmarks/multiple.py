"""MultiPL-E: HumanEval translated into 18+ programming languages, judged by each language's tests.

Paper: Cassano et al. 2023, "MultiPL-E: A Scalable and Polyglot Approach to Benchmarking Neural Code Generation",
https://arxiv.org/abs/2208.08227. Source: https://github.com/nuprl/MultiPL-E; Hub: ``nuprl/MultiPL-E``
(configs ``humaneval-<lang>``). Files: ``humaneval-<lang>.jsonl`` (fields ``name``, ``prompt``, ``tests``,
``stop_tokens``); 18 languages are bundled in ``data/multipl_e_humaneval/`` (not ``ml`` or ``py``).

LICENCE: BSD-3 with a machine-learning restriction: evaluation and decontamination only, never training data
(the finetune stage refuses records whose ``source`` names MultiPL-E).

Select a language by its MultiPL-E code, ``multipl-e:<lang>``. ``RUNNERS`` maps the codes this toolkit runs to the
execute package's languages (js, py, lua, ml, r, rkt, java, go, cpp, rs, jl); a code without a runner, or whose
runtime is missing here (Julia; Lua additionally needs the ``luaunit`` module its tests import), is counted as
skipped, not scored. Every program ends with the run's mark printed after the tests (``marks.py``); per language:
Lua's ``os.exit(lu.LuaUnit.run())`` exits only on failure, Racket's rackunit checks raise instead of printing
(rackunit alone exits 0 after a failed check), Java's ``assert`` statements become explicit checks (the JVM runs
without ``-ea``) and javatuples' ``Pair`` is a small class in the program, Go's ``go test`` function runs through a
shim, and the C++ and Rust tests' ``main`` is renamed and called. No canonical solutions exist for MultiPL-E.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from codecurate.benchmarks import BUNDLED, MULTIPLE_SIZES, load_bundled
from codecurate.errors import UserError
from codecurate.eval.benchmarks.common import check_size, extract_code, find_file, read_docs, truncate
from codecurate.eval.benchmarks.marks import append_end_mark, cpp_wrap_main, go_program, java_runner, rust_wrap_main
from codecurate.execute.harness import fail_fast, mark_line
from codecurate.execute.languages import get_language

CITATION = """@article{cassano2023multipl,
  title={MultiPL-E: A Scalable and Polyglot Approach to Benchmarking Neural Code Generation},
  author={Federico Cassano and John Gouwar and Daniel Nguyen and Sydney Nguyen and others},
  journal={IEEE Transactions on Software Engineering},
  year={2023}
}"""
STOP_WORDS: list[str] = []  # per problem: each record carries its own stop_tokens
# MultiPL-E language code -> execute-package language (codecurate/execute/languages.py decides availability).
RUNNERS = {
    "js": "javascript", "py": "python", "lua": "lua", "ml": "ocaml", "r": "r", "rkt": "racket", "java": "java",
    "go": "go", "cpp": "cpp", "rs": "rust", "jl": "julia",
}  # fmt: skip
# Display names for prompts; codes with no runner here are listed so their files load (decontamination, --limit).
DISPLAY = {
    "js": "JavaScript", "py": "Python", "lua": "Lua", "ml": "OCaml", "r": "R", "rkt": "Racket", "java": "Java",
    "go": "Go", "cpp": "C++", "rs": "Rust", "jl": "Julia", "rb": "Ruby", "ts": "TypeScript", "sh": "Bash",
    "pl": "Perl", "php": "PHP", "cs": "C#", "d": "D", "scala": "Scala", "swift": "Swift",
}  # fmt: skip
LANGUAGES = DISPLAY  # kept name: the MultiPL-E codes this module knows
EXPECTED_SIZES = MULTIPLE_SIZES  # published problem counts (see codecurate/benchmarks.py)
FIELDS = ("name", "prompt", "tests")
_JULIA_END = 'println("\\n{mark}")\n'  # the execute package has no Julia end mark; Julia has no runtime here
# javatuples' Pair as the tests use it (Pair.with, equals, getValue0/1): the jar is not on the sandbox classpath.
_JAVA_PAIR = """
class Pair<A, B> {
    private final A a; private final B b;
    Pair(A a, B b) { this.a = a; this.b = b; }
    public static <A, B> Pair<A, B> with(A a, B b) { return new Pair<A, B>(a, b); }
    public A getValue0() { return a; }
    public B getValue1() { return b; }
    @Override public boolean equals(Object o) {
        if (!(o instanceof Pair)) return false;
        Pair<?, ?> p = (Pair<?, ?>) o;
        return java.util.Objects.equals(a, p.a) && java.util.Objects.equals(b, p.b);
    }
    @Override public int hashCode() { return java.util.Objects.hash(a, b); }
    @Override public String toString() { return "[" + a + ", " + b + "]"; }
}
"""


def load(data_dir: str | Path | None = None, variant: str | None = None) -> list[dict]:
    if not variant or variant not in DISPLAY:
        raise UserError(f"multipl-e needs a language, e.g. multipl-e:lua; known: {', '.join(sorted(DISPLAY))}")
    if data_dir is not None:
        names = [f"humaneval-{variant}.jsonl", f"humaneval-{variant}.jsonl.gz"]
        source = find_file(data_dir, names, ["multipl_e_humaneval", "multipl-e"])
        docs = read_docs(source, FIELDS)
        check_size(docs, EXPECTED_SIZES.get(variant), source)
    elif f"multipl-e:{variant}" in BUNDLED:
        docs, _ = load_bundled(f"multipl-e:{variant}", FIELDS)
    else:
        docs = _load_hub(variant)
    for d in docs:
        d["task_id"], d["_lang"] = d["name"], variant
    return docs


def _load_hub(variant: str) -> list[dict]:
    from datasets import load_dataset

    try:
        docs = [dict(d) for d in load_dataset("nuprl/MultiPL-E", f"humaneval-{variant}", split="test")]
    except Exception as e:  # offline, or no such config: one line for the user
        raise UserError(
            f"multipl-e:{variant}: not bundled in data/ and the Hub (nuprl/MultiPL-E) is not reachable "
            f"({type(e).__name__}); pass --data-dir with humaneval-{variant}.jsonl"
        ) from None
    check_size(docs, EXPECTED_SIZES.get(variant), f"nuprl/MultiPL-E (humaneval-{variant}, test)")
    return docs


def unavailable(variant: str | None) -> str | None:
    """Why this language cannot be judged on this machine, or None. Checks our own fixed probe, not model code."""
    if variant not in DISPLAY:
        return None
    if variant not in RUNNERS:
        return f"no runner for MultiPL-E language {variant!r} here (runners: {', '.join(sorted(RUNNERS))})"
    lang = get_language(RUNNERS[variant])
    exe = lang.runtime_path()
    if exe is None:
        return f"runtime '{lang.runtime}' not installed" + (f" ({lang.missing})" if lang.missing else "")
    if variant == "lua":
        probe = subprocess.run([exe, "-e", "require('luaunit')"], capture_output=True, timeout=10)
        if probe.returncode != 0:
            return "Lua module 'luaunit' not installed (Debian: apt-get install lua-unit; or luarocks install luaunit)"
    return None


def prompt(doc: dict) -> str:
    return doc["prompt"]


def instruction(doc: dict) -> str:
    name, tag = DISPLAY[doc["_lang"]], RUNNERS.get(doc["_lang"], doc["_lang"])
    return (
        f"Complete the following {name} function. Answer with the whole function in one ```{tag} code block.\n\n"
        f"```{tag}\n{doc['prompt']}```"
    )


def _header(doc: dict) -> str:
    lines = [ln for ln in doc["prompt"].splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def extract(doc: dict, text: str, style: str) -> str:
    if style == "completion":
        return truncate(text, doc.get("stop_tokens") or [])
    return extract_code(text, must_contain=_header(doc) or None)


def _depth(code: str) -> int:
    return code.count("{") - code.count("}")


def assemble(doc: dict, completion: str) -> str:
    """Prompt + completion as MultiPL-E joins them, or, when the answer holds the whole function (a chat answer),
    the answer after the prompt's preamble where the language needs it (Java's class head, C++ includes, Rust
    ``use`` lines). C-family tests start with the ``}`` that closes the function, so a closing brace the answer
    wrote itself is dropped (MultiPL-E's stop tokens cut it from completions)."""
    prompt, header, lang = doc["prompt"], _header(doc), doc["_lang"]
    if not header or header not in completion:
        code = prompt + completion
    elif lang == "java" and re.search(r"\bclass\s+Problem\b", completion):
        code = completion
    elif lang in ("java", "rs"):  # a repeated `use` is an error in Rust, so the answer's preamble is dropped
        code = prompt[: prompt.rfind(header)] + completion[completion.index(header) :]
    elif lang == "cpp":
        code = prompt[: prompt.rfind(header)] + completion
    else:
        code = completion
    if doc["tests"].lstrip().startswith("}") and _depth(code) < _depth(prompt):
        cut = code.rstrip().rfind("}")
        code = code[:cut] + code[cut + 1 :]
    return code


def program(doc: dict, completion: str, token: str) -> tuple[str, str]:
    code = assemble(doc, completion)
    code_lang = doc["_lang"]
    runner = RUNNERS.get(code_lang)
    if runner is None:
        raise UserError(f"multipl-e:{code_lang}: no runner here")
    tests = doc["tests"]
    if code_lang == "lua":
        # LuaUnit.run() returns the number of failures; exit with it only when non-zero, so the mark comes after.
        tests = tests.replace(
            "os.exit(lu.LuaUnit.run())",
            "local codecurate_failures = lu.LuaUnit.run()\nif codecurate_failures ~= 0 then os.exit(1) end",
        )
    elif code_lang == "rkt":
        tests = tests.replace("(require rackunit)", "(require rackunit)\n" + fail_fast("racket"), 1)
    elif code_lang == "java":
        return _java(code, tests, token), runner
    elif code_lang == "go":
        return go_program(code, tests, token), runner
    elif code_lang == "cpp":
        return f"{code}\n{cpp_wrap_main(tests, token)}", runner
    elif code_lang == "rs":
        return f"{code}\n{rust_wrap_main(tests, token)}", runner
    elif code_lang == "jl":
        return f"{code}\n\n{tests}\n\n{_JULIA_END.format(mark=mark_line(token))}", runner
    return append_end_mark(f"{code}\n\n{tests}\n", runner, token), runner


def _java(code: str, tests: str, token: str) -> str:
    """MultiPL-E's Java: class Problem with the tests in its ``main``. The JVM runs without ``-ea``, so each
    ``assert(x);`` becomes an explicit check; a runner ``Main`` calls ``Problem.main`` and then prints the mark."""
    code = code.replace("import org.javatuples.*;", "")
    tests = re.sub(r"^([ \t]*)assert\((.*)\);[ \t]*$", r"\1if (!(\2)) throw new AssertionError();", tests, flags=re.M)
    return f"{code}\n{tests}\n{_JAVA_PAIR}{java_runner('Problem', token)}"
