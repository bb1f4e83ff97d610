"""A generate round as its steps: each takes examples and returns them with a verdict, on real templates, a real
function backend and the real sandbox."""

from __future__ import annotations

from codecurate.generate.config import GenerateConfig
from codecurate.generate.examples import Example, plan_items
from codecurate.generate.memory import Memory
from codecurate.generate.rounds import STEPS, Round, Sinks, record, run_round
from codecurate.generate.templates import load_templates
from codecurate.llm.base import FunctionBackend
from codecurate.timer import Timings

SEED = {"id": "neg", "language": "python", "code": "def neg(x):\n    if x > 0:\n        return -x\n    return x\n",
        "func_name": "neg", "tests": ["assert neg(2) == -2", "assert neg(-3) == -3"], "test_coverage": 1.0}  # fmt: skip
GOOD = "INSTRUCTION: Negate a positive number.\nOUTPUT:\n```python\ndef neg(x):\n    return -x if x > 0 else x\n```"
WRONG = "INSTRUCTION: Negate a positive number.\nOUTPUT:\n```python\ndef neg(x):\n    return x\n```"


class Lines:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def write(self, rec: dict) -> None:
        self.records.append(rec)


def a_round(replies: dict[str, str], **kw) -> Round:
    def reply(messages):
        return replies["judge"] if "review one training example" in messages[0]["content"] else replies["gen"]

    cfg = GenerateConfig("unused.jsonl", mix="generate=1", decontaminate_with=[], **kw)
    backend = FunctionBackend(reply, "scripted")
    judge = None if cfg.models.discriminator == "none" else backend
    return Round(cfg, load_templates(), backend, judge, Memory(None), Sinks(Lines(), Lines(), Lines()), Timings())


def planned() -> list[Example]:
    return plan_items([("neg", SEED)], {"generate": 1.0}, 1, ["python"], 0).items


def chain(examples: list[Example], rnd: Round) -> list[Example]:
    for step in STEPS:
        examples = step(examples, rnd)
    return examples


def test_the_steps_run_in_the_documented_order():
    names = [s.__name__ for s in STEPS]
    assert names == ["prompt", "call", "parse", "rules", "judge", "validate", "drop_near_duplicates"]


def test_each_step_leaves_a_verdict_and_record_writes_each_example_once():
    rnd = a_round({"gen": "no fields here", "judge": "1. yes\n2. yes\n3. yes"})
    examples = chain(planned(), rnd)
    assert [(e.stage, e.reasons) for e in examples] == [("parse", ["parse_failed"])]
    assert examples[0].record["raw"] == "no fields here"

    rnd = a_round({"gen": GOOD, "judge": "1. no - too vague\n2. yes\n3. yes"})
    examples = chain(planned(), rnd)
    assert [(e.stage, e.reasons) for e in examples] == [("discriminator", ["disc:no:1"])]
    [(_, finished)] = record(planned(), examples, rnd)
    assert not finished  # a second attempt is left
    assert [r["stage"] for r in rnd.sinks.rejected.records] == ["discriminator"]
    [(_, bad)] = [(k, v) for k, v in rnd.memory.pools.items() if not k[2]]
    assert bad[0]["reasons"][0].startswith("judge: too vague (asked: ")


def test_validation_step_fails_a_wrong_answer_and_passes_a_right_one():
    for text, stage in ((WRONG, "validation"), (GOOD, None)):
        rnd = a_round({"gen": text, "judge": ""}, discriminator="none", validate=True)
        [ex] = chain(planned(), rnd)
        assert ex.stage == stage and ex.record["validation"]["status"] == ("pass" if stage is None else "fail")
        [(_, finished)] = run_round(planned(), rnd)
        assert finished == (stage is None)


def test_sampled_candidates_fan_out_and_near_duplicates_are_stopped():
    rnd = a_round({"gen": GOOD, "judge": ""}, discriminator="none", samples=3)
    examples = chain(planned(), rnd)
    assert [e.sample for e in examples] == [0, 1, 2] and len({e.id for e in examples}) == 3
    assert [e.stage for e in examples] == [None, "duplicate", "duplicate"]
    assert all(e.record["sample"] == e.sample for e in examples)
