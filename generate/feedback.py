"""What a judged example teaches later prompts: its memory entry, with the rejection reasons in words.

A memory entry is the example as a prompt shows it (``Example.context()``: language, target, code, bug) plus its
reply fields, and ``why`` (good) or ``reasons`` and ``faults`` (bad). ``reasons`` are what the model is shown: the
judge's own words for a "no", the concrete failure for a validation failure; ``faults`` are the readable
categories the running fault summary counts (``--per-language-memory``).
"""

from __future__ import annotations

from typing import Any

from codecurate.generate.examples import Example

# Readable fault names for the running summary fed back into prompts.
FAULTS = {
    "instruction_sentences": "instruction not 1 to 3 sentences",
    "instruction_too_long": "instruction too long",
    "output_copies_input": "output copies the input",
    "output_in_source_language": "translation left in the source language",
    "bug_not_changed": "buggy code equals the fixed code",
    "instruction_is_code": "instruction is code",
}


def describe(reason: str, questions: list[str]) -> str:
    """A readable fault category for a reason name (counted in the running fault summary)."""
    if reason.startswith("disc:no:"):
        i = int(reason.rsplit(":", 1)[1])
        return f"judge said no to '{questions[i - 1]}'" if i <= len(questions) else reason
    if reason.startswith("syntax:"):
        return f"{reason.split(':', 1)[1]} code does not parse"
    if reason.startswith("empty:"):
        return f"missing {reason.split(':', 1)[1].upper()}"
    if reason.startswith("validation:"):
        return f"code {reason.split(':', 1)[1].replace('fail', 'failed')} its tests"
    return FAULTS.get(reason, reason)


def said(reason: str, questions: list[str], checklist_answers: list[dict], validation: dict | None) -> str:
    """What the model is shown for a rejection: the judge's own words for a "no" (its stated reason, with the
    question), the concrete failure for a validation failure, else the readable category."""
    if reason.startswith("disc:no:"):
        i = int(reason.rsplit(":", 1)[1])
        why = checklist_answers[i - 1].get("reason", "") if 0 < i <= len(checklist_answers) else ""
        if why:
            return f"judge: {why} (asked: {questions[i - 1]})" if i <= len(questions) else f"judge: {why}"
    if reason.startswith("validation:") and validation and validation.get("detail"):
        return f"{describe(reason, questions)}: {validation['detail']}"
    return describe(reason, questions)


def memory_entry(example: Example, questions: list[str]) -> dict[str, Any]:
    """The entry a judged example leaves in its task's good (it passed every check) or bad pool."""
    entry = example.context() | (example.fields or {})
    check = example.record.get("validation")
    answers = example.record.get("checklist", [])
    if example.passing:
        why = [a["reason"] for a in answers if a.get("answer") == "yes" and a.get("reason")]
        if check and check.get("status") == "pass":
            why.append(f"passed {check.get('tests_passed')}/{check.get('tests_run')} tests")
        entry["why"] = "; ".join(why) or "accepted"
    else:
        entry["reasons"] = [said(r, questions, answers, check) for r in example.reasons]  # shown to the model
        entry["faults"] = [describe(r, questions) for r in example.reasons]  # counted in the fault summary
    return entry
