"""Read a model's reply into fields: a JSON object, or ``NAME:`` sections, whichever the reply holds.

Small models wrap JSON in prose or fences, put raw newlines inside JSON strings, or bold the section names; all
of that parses. A reply with none of the asked fields is a parse failure (counted by the loop, never a crash).
"""

from __future__ import annotations

import json
import re

# Code fences and the one code-extraction policy live in the ground package; their old names here keep working.
from codecurate.codeblocks import FENCE, extract_code, fence, fenced_blocks  # noqa: F401 (re-exported)


def parse_reply(text: str, fields: list[str]) -> tuple[dict[str, str] | None, str | None]:
    """Return ``(fields found, None)`` or ``(None, why)``. Field names are matched case-insensitively."""
    if not text or not text.strip():
        return None, "empty reply"
    wanted = [f.lower() for f in fields]
    found = _from_json(text, wanted) or _from_sections(text, wanted)
    if not found:
        return None, "no fields found"
    return found, None


def _from_json(text: str, wanted: list[str]) -> dict[str, str] | None:
    decoder = json.JSONDecoder(strict=False)  # strict=False: raw newlines inside strings are common
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            lowered = {str(k).lower(): v for k, v in obj.items()}
            got = {k: _as_text(lowered[k]) for k in wanted if k in lowered}
            if got:
                return got
    return None


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# Section names a model may write besides the asked ones: they end the previous section but are not kept.
OTHER_SECTIONS = ("instruction", "input", "output", "explanation", "buggy", "code", "answer", "reply", "response")


def _from_sections(text: str, wanted: list[str]) -> dict[str, str] | None:
    names = "|".join(re.escape(w) for w in dict.fromkeys([*wanted, *OTHER_SECTIONS]))
    # "INSTRUCTION: x", "### Instruction:", "**Output:**", "Output -" at the start of a line.
    header = re.compile(rf"^[ \t]*(?:#+[ \t]*|\*\*)?({names})(?:\*\*)?[ \t]*[:\-](?:\*\*)?[ \t]*", re.I | re.M)
    matches = list(header.finditer(text))
    got: dict[str, str] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        name = m.group(1).lower()
        if name in wanted and name not in got:  # a model that repeats the format keeps its first answer
            got[name] = text[m.end() : end].strip()
    return got or None
