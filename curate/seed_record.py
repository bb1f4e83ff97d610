"""What every mine source kind shares: the seed record's shape and the counts reading a source adds to.

``seed_record`` fixes the field order (``id``, the CodeSearchNet fields, ``code_no_docstring``, then extras) and
fills the fields a source may lack; ``MineStats`` is what reading the sources counted before the filter funnel.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from codecurate.curate.extract import docstring_tokens
from codecurate.records import CSN_FIELDS, seed_id

PRE_FILTERS = ("language_not_selected", "unparsable")  # removals made while reading, before the filter funnel


@dataclass
class MineStats:
    """Counts of reading the sources: files read or skipped (by reason), functions extracted, and removals made
    while reading (``no_docstring`` is the funnel's first step, counted early on a fast path)."""

    files: int = 0
    files_skipped: Counter = field(default_factory=Counter)
    extracted: int = 0
    pre_removed: Counter = field(default_factory=Counter)


def seed_record(**kw: Any) -> dict:
    """A seed record with its fields in a fixed order: id, the CodeSearchNet fields, then ours, then extras."""
    rec: dict[str, Any] = {"id": ""}
    for f in CSN_FIELDS:
        rec[f] = kw.pop(f, None)
    if rec["original_string"] is None:
        rec["original_string"] = rec["code"]
    if rec["docstring_tokens"] is None:
        rec["docstring_tokens"] = docstring_tokens(rec["docstring"])
    rec["code_no_docstring"] = kw.pop("code_no_docstring")
    rec.update(kw)
    rec["id"] = seed_id(rec)
    return rec
