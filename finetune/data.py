"""Instruction records -> TRL conversational prompt/completion rows, and a seeded train/validation split.

Accepted record shapes (first match wins):

- ``messages``: a chat; the last assistant turn is the completion, everything before it the prompt;
- ``prompt`` + ``completion``: strings (plain-text rows) or message lists (conversational rows);
- ``instruction`` (+ optional ``input``) + ``output``: turned into one user and one assistant turn.

Rows are ``{"prompt": [messages...], "completion": [{"role": "assistant", ...}]}`` (or plain strings), the shape
on which TRL's SFTTrainer computes the loss on the completion only.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from codecurate.errors import UserError, at
from codecurate.io import iter_records
from codecurate.records import chat_messages

# Provenance fields we look at, and the marks of data that may not be trained on (MultiPL-E's licence forbids
# use as training data: BSD-3 with a machine-learning restriction).
PROVENANCE_FIELDS = ("source", "dataset", "origin", "provenance", "benchmark", "repo", "url", "path")
FORBIDDEN_SOURCES = ("multipl-e", "multipl_e", "nuprl/multipl")


def _check_licence(record: dict, path: object, lineno: int) -> None:
    for name in PROVENANCE_FIELDS:
        value = record.get(name)
        text = str(value).lower() if value is not None else ""
        if any(mark in text for mark in FORBIDDEN_SOURCES):
            raise UserError(
                f"{at(path, lineno, name)}: record comes from MultiPL-E ({value!r}), whose licence forbids use as "
                "training data; remove such records"
            )


def _check_messages(messages: object, path: object, lineno: int, name: str) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise UserError(f"{at(path, lineno, name)}: expected a non-empty list of {{role, content}} messages")
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise UserError(f"{at(path, lineno, name)}: each message needs string 'role' and 'content'")
    return messages


def to_row(record: dict, path: object = "<records>", lineno: int = 0) -> dict:
    """One record as a TRL prompt/completion row; `UserError` names file:line:field when no shape fits."""
    _check_licence(record, path, lineno)
    if record.get("messages") is not None:
        msgs = _check_messages(record["messages"], path, lineno, "messages")
        last = max((i for i, m in enumerate(msgs) if m["role"] == "assistant"), default=None)
        if last is None or last == 0:
            raise UserError(f"{at(path, lineno, 'messages')}: needs a turn before an assistant turn")
        return {"prompt": msgs[:last], "completion": [msgs[last]]}
    if record.get("prompt") is not None or record.get("completion") is not None:
        for name in ("prompt", "completion"):
            if record.get(name) is None:
                raise UserError(f"{at(path, lineno, name)}: missing required field")
        p, c = record["prompt"], record["completion"]
        if isinstance(p, str) and isinstance(c, str):
            return {"prompt": p, "completion": c}
        return {
            "prompt": _check_messages(p, path, lineno, "prompt"),
            "completion": _check_messages(c, path, lineno, "completion"),
        }
    if record.get("instruction") is not None:
        if record.get("output") is None:
            raise UserError(f"{at(path, lineno, 'output')}: missing required field")
        msgs = chat_messages(str(record["instruction"]), str(record.get("input") or ""), str(record["output"]))
        return {"prompt": msgs[:1], "completion": msgs[1:]}
    raise UserError(
        f"{at(path, lineno, 'messages')}: missing required field (need 'messages', 'prompt'+'completion', "
        "or 'instruction'+'output')"
    )


def load_rows(path: str | Path) -> tuple[list[dict], dict]:
    """Rows of an instructions file, and stats (``records``, ``by_shape``, ``by_task``)."""
    rows: list[dict] = []
    shapes: Counter = Counter()
    tasks: Counter = Counter()
    for lineno, record in iter_records(path):
        row = to_row(record, path, lineno)
        shapes["chat" if isinstance(row["prompt"], list) else "text"] += 1
        tasks[str(record.get("task", "unknown"))] += 1
        rows.append(row)
    if not rows:
        raise UserError(f"{path}: empty input (no records)")
    kinds = {isinstance(r["prompt"], list) for r in rows}
    if len(kinds) > 1:
        raise UserError(f"{path}: mixes chat (message list) and plain-text prompt/completion rows; use one shape")
    return rows, {"records": len(rows), "by_shape": dict(shapes), "by_task": dict(tasks)}


def split(rows: list[dict], val_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Seeded shuffle, then the first ``round(val_fraction * n)`` rows (at least 1 when asked for) for validation."""
    if not 0 <= val_fraction < 1:
        raise UserError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_val = 0 if val_fraction == 0 else max(1, round(val_fraction * len(rows)))
    if n_val >= len(rows):
        raise UserError(f"{len(rows)} record(s) are too few to hold out a validation split; use --val-fraction 0")
    return [rows[i] for i in order[n_val:]], [rows[i] for i in order[:n_val]]
