"""A planted-error model behind a real loopback OpenAI-compatible server (shared by tests and bench/trust.py).

The model writes *correct* seed tests and, for the seeds named in ``WRONG``, *wrong* code: wrong solutions
(generate), wrong translations (translate, into every language in ``TEMPLATES``) and "bugs" that behave exactly
like the fix (fix). For the other seeds it writes right code and real bugs. ``planted_run`` runs
``codecurate generate --validate`` against it through the ``openai`` backend, and ``audit`` says where every
right and wrong answer ended up, so a test (and the bench) can demand: no wrong answer in the output, every
right one whose language can be validated in it, the rest in the unvalidated file with a reason.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Two-argument integer functions: name -> (right expression, wrong expression, equivalent "bug", real bug).
FUNCS = {
    "scale": ("x * k + 1", "x * k - 1", "k * x + 1", "x * k + 2"),
    "warp": ("x * 3 + k", "x * 2 + k", "k + x * 3", "x * 3 - k"),
}
WRONG = {"warp"}  # seeds whose answers are all wrong
ARGS = [(2, 3), (0, 5), (-1, 4), (7, -2)]
# Racket's prefix forms of the expressions above.
RACKET = {
    "x * k + 1": "(+ (* x k) 1)", "x * k - 1": "(- (* x k) 1)", "k * x + 1": "(+ (* k x) 1)",
    "x * k + 2": "(+ (* x k) 2)", "x * 3 + k": "(+ (* x 3) k)", "x * 2 + k": "(+ (* x 2) k)",
    "k + x * 3": "(+ k (* x 3))", "x * 3 - k": "(- (* x 3) k)",
}  # fmt: skip
# One function of two ints in each language we may translate into ({n}: name, {e}: expression).
TEMPLATES = {
    "python": "def {n}(x, k):\n    return {e}\n",
    "javascript": "function {n}(x, k) {{\n  return {e};\n}}\n",
    "lua": "function {n}(x, k)\n  return {e}\nend\n",
    "ocaml": "let {n} (x : int) (k : int) : int = {e}\n",
    "r": "{n} <- function(x, k) {{\n  {e}\n}}\n",
    "racket": "#lang racket\n(define ({n} x k)\n  {e})\n",
    "java": "class Main {{\n  static int {n}(int x, int k) {{ return {e}; }}\n}}\n",
    "go": "package main\n\nfunc {n}(x int, k int) int {{\n\treturn {e}\n}}\n",
    "cpp": "long {n}(long x, long k) {{ return {e}; }}\n",
    "rust": "fn {n}(x: i64, k: i64) -> i64 {{\n    {e}\n}}\n",
    "julia": "function {n}(x, k)\n    return {e}\nend\n",
}
DISPLAY_TO_LANG = {"JavaScript": "javascript", "C++": "cpp", "Ocaml": "ocaml", "OCaml": "ocaml"}


def code(name: str, expr: str, language: str = "python") -> str:
    e = RACKET[expr] if language == "racket" else expr
    return TEMPLATES[language].format(n=name, e=e)


def seeds() -> list[dict]:
    """Python seeds with a docstring and no tests: the model writes their tests."""
    out = []
    for name, (right, *_) in FUNCS.items():
        src = f'def {name}(x, k):\n    """Combine x and k ({name})."""\n    return {right}\n'
        out.append(
            {
                "id": name,
                "language": "python",
                "func_name": name,
                "code": src,
                "docstring": f"Combine x and k ({name}).",
            }
        )
    return out


class Planted:
    """The scripted model: ``reply(messages)`` answers like an LLM would; ``answers`` remembers each code answer
    it gave as ``right``/``wrong`` (for fix: the bug it planted as ``real``/``equivalent``)."""

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.lock = threading.Lock()

    def note(self, text: str, kind: str) -> str:
        with self.lock:
            self.answers[text.strip()] = kind
        return text

    def reply(self, messages: list[dict]) -> str:
        system, user = messages[0]["content"], messages[-1]["content"]
        if user.startswith("Write ") and "assert statements" in user:
            name = re.search(r"def (\w+)\(", user).group(1)
            right = FUNCS[name][0]
            asserts = [f"assert {name}({x}, {k}) == {eval(right, {'x': x, 'k': k})}" for x, k in ARGS]
            return "```python\n" + "\n".join(asserts) + "\n```"
        if "review one training example" in system:
            return "1. yes - clear\n2. yes - it does that\n3. yes - right language"
        name = re.search(r"def (\w+)\(", user).group(1)
        right, wrong, equivalent, real = FUNCS[name]
        bad = name in WRONG
        if "BUGGY:" in system:  # fix without a mutation-made bug: the model plants one
            bug = self.note(code(name, equivalent if bad else real), "equivalent" if bad else "real")
            return f"BUGGY:\n```python\n{bug}```\nINSTRUCTION: {name} returns a wrong value. Fix it.\n" \
                   "EXPLANATION: The expression was changed; the fix restores it."  # fmt: skip
        if "rewrite" in system.lower():
            shown = re.search(r"in ([\w+#]+), then give", system).group(1)
            lang = DISPLAY_TO_LANG.get(shown, shown.lower())
            answer = self.note(code(name, wrong if bad else right, lang), "wrong" if bad else "right")
            return f"INSTRUCTION: Rewrite this in {shown}.\nOUTPUT:\n```{lang}\n{answer}```"
        answer = self.note(code(name, wrong if bad else right), "wrong" if bad else "right")
        return (
            f"INSTRUCTION: Write a function {name}(x, k) that combines two integers.\nOUTPUT:\n```python\n{answer}```"
        )


class LoopbackOpenAI:
    """``POST /v1/chat/completions`` on 127.0.0.1 answering with ``reply(messages)``, ``n`` choices; with
    ``by_model=True``, ``reply(model, messages)`` (a script that answers each model its own way)."""

    def __init__(self, reply: Any, by_model: bool = False):
        self.reply = reply if by_model else lambda model, messages: reply(messages)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                texts = [owner.reply(body["model"], body["messages"]) for _ in range(body.get("n", 1))]
                choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                           for i, t in enumerate(texts)]  # fmt: skip
                usage = {"prompt_tokens": 1, "completion_tokens": sum(len(t.split()) for t in texts)}
                data = json.dumps({"choices": choices, "usage": usage}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def planted_run(folder: Path, mix: str, translate_to: list[str], model: Planted, url: str, **cfg: Any) -> dict:
    """``generate --validate`` over the planted seeds through the real openai backend; returns the summary."""
    from codecurate.generate import loop

    folder.mkdir(parents=True, exist_ok=True)
    seeds_path = folder / "seeds.jsonl"
    seeds_path.write_text("".join(json.dumps(s) + "\n" for s in seeds()))
    options = {"base_url": url, "backoff": 0.01, "timeout": 30.0}
    config = loop.GenerateConfig(
        str(seeds_path), str(folder / "out.jsonl"), backend="openai", model="planted", backend_options=options,
        mix=mix, translate_to=translate_to, validate=True, decontaminate_with=[], max_attempts=1, **cfg,
    )  # fmt: skip
    real = loop.make_bug_fn
    loop.make_bug_fn = lambda: None  # fix: the model plants the bug (a mutation-made one would always be real)
    try:
        return loop.run(config)
    finally:
        loop.make_bug_fn = real


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def answer_of(rec: dict) -> str:
    """The code this record's answer (or, for fix, its planted bug) was made from."""
    text = rec.get("input", "") if rec["task"] == "fix" else rec.get("output", "")
    m = re.search(r"```[\w+#]*\n(.*?)```", text, re.S)
    return (m.group(1) if m else text).strip()


def audit(folder: Path, model: Planted) -> dict[str, Counter]:
    """file ('output', 'unvalidated', 'rejected:<stage>') -> Counter of '<task>:<language>:<kind>'."""
    where: dict[str, Counter] = {}
    files = {"output": "out.jsonl", "unvalidated": "out.unvalidated.jsonl", "rejected": "out.rejected.jsonl"}
    for name, file in files.items():
        for rec in _lines(folder / file):
            kind = model.answers.get(answer_of(rec), "unknown")
            key = name if name != "rejected" else f"rejected:{rec.get('stage')}"
            where.setdefault(key, Counter())[f"{rec['task']}:{rec['language']}:{kind}"] += 1
    return where
