"""Parsing model replies, rule filters, discriminator verdicts, templates and few-shot memory."""

from __future__ import annotations

import random

import pytest

from codecurate.errors import UserError
from codecurate.generate.discriminate import parse_answers, verdict
from codecurate.generate.memory import Memory
from codecurate.generate.parse import extract_code, parse_reply
from codecurate.generate.rules import check_example, count_sentences, similar, syntax_ok
from codecurate.generate.templates import (
    discriminator_messages,
    generation_messages,
    load_templates,
    template_hash,
)

F = ["instruction", "output"]


@pytest.mark.parametrize(
    "reply",
    [
        "INSTRUCTION: Add two numbers.\nOUTPUT:\ndef add(a, b):\n    return a + b",
        "Sure! Here it is.\n### Instruction:\nAdd two numbers.\n### Output:\ndef add(a, b):\n    return a + b\n",
        "**Instruction:** Add two numbers.\n**Output:**\ndef add(a, b):\n    return a + b",
        '```json\n{"instruction": "Add two numbers.", "output": "def add(a, b):\n    return a + b"}\n```',
        'Here: {"Instruction": "Add two numbers.", "Output": "def add(a, b):\\n    return a + b", "x": 1} done',
    ],
)
def test_parse_reply_formats(reply):
    fields, err = parse_reply(reply, F)
    assert err is None
    assert fields["instruction"] == "Add two numbers."
    assert extract_code(fields["output"]).strip() == "def add(a, b):\n    return a + b"


def test_parse_reply_failures_and_partial():
    assert parse_reply("", F) == (None, "empty reply")
    assert parse_reply("I cannot help with that.", F) == (None, "no fields found")
    assert parse_reply("{broken json", F) == (None, "no fields found")
    # A section the task did not ask for ends the previous one and is not kept.
    fields, _ = parse_reply(
        "INSTRUCTION: Fix it.\nOUTPUT: stray\nEXPLANATION: off by one", ["instruction", "explanation"]
    )
    assert fields == {"instruction": "Fix it.", "explanation": "off by one"}
    # A model repeating the format keeps its first answer.
    fields, _ = parse_reply("INSTRUCTION: first.\nOUTPUT: a\nINSTRUCTION: second.\nOUTPUT: b", F)
    assert fields == {"instruction": "first.", "output": "a"}


def test_extract_code_prefers_longest_fence():
    assert extract_code("see ```py\nx = 1\n``` and ```\nlonger = 22\n```") == "longer = 22"
    assert extract_code("plain text") == "plain text"
    assert extract_code("```python\nunterminated = 1\n") == "unterminated = 1"


def test_count_sentences():
    assert count_sentences("Write a function.") == 1
    assert count_sentences("Write a function. It returns 1.5 times `x.y`, e.g. for lists! Then stop") == 3
    assert count_sentences("") == 0


def test_syntax_ok():
    assert syntax_ok("def f(x):\n    return x", "python") is True
    assert syntax_ok("def f(x) return x", "python") is False
    assert syntax_ok("anything", "klingon") is None


def _ex(**kw):
    return {"task": "generate", "language": "python", "instruction": "Write f.", "input": "", "output": "x = 1"} | kw


def test_rules():
    assert check_example(_ex()) == []
    assert check_example(_ex(instruction=" ")) == ["empty:instruction"]
    long = "One. Two. Three. Four."
    assert check_example(_ex(instruction=long)) == ["instruction_sentences"]
    assert check_example(_ex(output="def f(:")) == ["syntax:python"]
    code = "def f(x):\n    return x + 1"
    summ = _ex(task="summarize", input=f"```python\n{code}\n```", output=code)
    assert check_example(summ) == ["output_copies_input"]
    assert check_example(summ | {"output": "It adds one to x."}) == []
    tr = _ex(task="translate", language="javascript", seed_language="python", input=code, output=code + " ")
    assert "output_in_source_language" in check_example(tr)
    fix = _ex(task="fix", input=f"```python\n{code}\n```", output="Bug.", fixed=code)
    assert check_example(fix) == ["bug_not_changed"]
    assert check_example(fix | {"input": code.replace("+", "-")}) == []
    assert similar("a  b\n c", "a b c") == 1.0


def test_discriminator_verdicts():
    qs = ["clear?", "correct?", "language?"]
    assert verdict("1. yes - fine\n2. Yes\n3) yes: ok", qs)[0] == "accept"
    decision, items, reasons = verdict("1. yes\n2. **No** - wrong result\n3. yes", qs)
    assert decision == "reject" and reasons == ["disc:no:2"] and items[1]["reason"] == "wrong result"
    assert verdict("looks great to me", qs) == ("reject", verdict("", qs)[1], ["disc:unanswered"])
    assert verdict("1. yes", qs, min_answered=0.5)[2] == ["disc:unanswered"]
    assert verdict("1. yes\n2. yes", qs, min_answered=0.5)[0] == "accept"
    assert parse_answers('{"answers": [{"answer": "yes"}, {"answer": "no", "reason": "x"}]}', 3) == {
        1: (True, ""),
        2: (False, "x"),
    }
    assert parse_answers("7. yes", 3) == {}  # out-of-range items are ignored


def test_templates_render_and_hash(tmp_path):
    t = load_templates()
    ctx = {"language": "python", "code": "def f():\n    return 1", "target_language": "go", "buggy": None}
    msgs = generation_messages(t, "translate", ctx, t["tasks"]["translate"]["good"], t["tasks"]["translate"]["bad"])
    assert msgs[0]["role"] == "system" and "Go" in msgs[0]["content"] and "A bad reply" in msgs[0]["content"]
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant", "user"]
    assert "def f()" in msgs[-1]["content"]
    fix = generation_messages(t, "fix", ctx)
    assert "BUGGY:" in fix[0]["content"]  # no ready-made bug: the model plants one
    fix = generation_messages(t, "fix", ctx | {"buggy": "def f():\n    return 2"})
    assert "BUGGY:" not in fix[0]["content"] and "Buggy code" in fix[-1]["content"]
    ex = {"task": "summarize", "language": "python", "instruction": "Explain.", "input": "x", "output": "It is x."}
    d = discriminator_messages(t, ex)
    assert "1. Does the instruction ask to explain" in d[-1]["content"]
    assert len({template_hash(t, task) for task in t["tasks"]}) == 4
    bad = tmp_path / "t.yaml"
    bad.write_text("system: x\ndiscriminator_system: y\ntasks: {generate: {definition: d}}\n")
    with pytest.raises(UserError, match="missing key 'ask'"):
        load_templates(bad)


def test_memory_samples_whole_examples_from_both_pools_and_persists(tmp_path):
    m = Memory(tmp_path / "mem", pool_size=3)
    for i in range(5):
        m.add("generate", {"language": "python", "instruction": f"good {i}", "output": "x"}, True)
    m.add("generate", {"language": "go", "instruction": "bad", "faults": ["too long"]}, False)
    m.close()
    rng = random.Random(0)
    good = m.sample("generate", "python", 2, True, rng)
    assert len(good) == 2 and all(g["instruction"] in ("good 2", "good 3", "good 4") for g in good)
    assert m.sample("generate", "python", 5, False, rng)[0]["instruction"] == "bad"
    fallback = [{"instruction": "template"}]
    assert m.sample("summarize", "python", 1, True, rng, fallback) == fallback
    again = Memory(tmp_path / "mem", pool_size=3)  # a rerun starts from the same pools
    assert sorted(e["instruction"] for e in again.pools[("generate", "*", True)]) == ["good 2", "good 3", "good 4"]
    assert again.fault_summary("python") == "too long (1)"


def test_per_language_memory_prefers_own_language(tmp_path):
    m = Memory(None, pool_size=10, per_language=True)
    m.add("fix", {"language": "go", "instruction": "go ex"}, True)
    m.add("fix", {"language": "python", "instruction": "py ex"}, True)
    m.add("fix", {"language": "go", "faults": ["syntax"]}, False)
    rng = random.Random(1)
    assert m.sample("fix", "python", 1, True, rng)[0]["instruction"] == "py ex"
    assert {e["instruction"] for e in m.sample("fix", "python", 2, True, rng)} == {"py ex", "go ex"}
    assert m.fault_summary("go") == "syntax (1)" and m.fault_summary("python") == ""
