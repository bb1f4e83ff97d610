"""The discriminator: a second LLM pass answers the task's yes/no checklist about each example.

Answers are read from numbered lines (``2. no - the output is Python``) or a JSON object/list. The verdict is
``accept`` when no item is answered "no" and at least ``min_answered`` of the items are answered; unanswered
items are reported as such, so a weak judge that rambles shows up in the rejection reasons.
"""

from __future__ import annotations

import json
import re
from typing import Any

# "2. no - reason", "Q2) **No**: reason": the item number, the answer, the rest of that line.
LINE = re.compile(
    r"^[ \t]*(?:Q[ \t]*)?(\d+)[ \t]*[.):\]]?[ \t]*(?:\*\*)?[ \t]*(yes|no)\b[ \t\-:,.*]*(.*)$", re.I | re.M
)


def parse_answers(text: str, n_items: int) -> dict[int, tuple[bool, str]]:
    """Item number (1-based) -> (yes?, reason) for every item the reply answers."""
    answers: dict[int, tuple[bool, str]] = {}
    for m in LINE.finditer(text or ""):
        i = int(m.group(1))
        if 1 <= i <= n_items and i not in answers:
            answers[i] = (m.group(2).lower() == "yes", m.group(3).strip())
    if answers:
        return answers
    return _from_json(text or "", n_items)


def _from_json(text: str, n_items: int) -> dict[int, tuple[bool, str]]:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return {}
    try:
        obj, _ = json.JSONDecoder(strict=False).raw_decode(text, start)
    except json.JSONDecodeError:
        return {}
    items = obj.get("answers", list(obj.values())) if isinstance(obj, dict) else obj
    answers = {}
    for i, item in enumerate(items if isinstance(items, list) else [], 1):
        if i > n_items:
            break
        if isinstance(item, dict):
            value = str(item.get("answer", item.get("ok", ""))).lower()
            reason = str(item.get("reason", ""))
        else:
            value, reason = str(item).lower(), ""
        if value in ("yes", "true", "no", "false"):
            answers[i] = (value in ("yes", "true"), reason)
    return answers


def verdict(text: str, questions: list[str], min_answered: float = 0.5) -> tuple[str, list[dict[str, Any]], list[str]]:
    """``(accept|reject, per-item results, reason names)`` for one discriminator reply."""
    answers = parse_answers(text, len(questions))
    items = []
    reasons = []
    for i, q in enumerate(questions, 1):
        if i in answers:
            ok, why = answers[i]
            items.append({"question": q, "answer": "yes" if ok else "no", "reason": why})
            if not ok:
                reasons.append(f"disc:no:{i}")
        else:
            items.append({"question": q, "answer": None, "reason": ""})
    if len(answers) < min_answered * len(questions):
        reasons.append("disc:unanswered")
    return ("reject" if reasons else "accept"), items, reasons
