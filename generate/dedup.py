"""Exact and near-duplicate removal over generated examples, with the hashing and MinHash that mine's filters use
too (codecurate.near_dup).

An example's text is its instruction, input and output together. Exact duplicates share `code_hash` of that
text (whitespace-insensitive); near duplicates have an estimated 5-token-shingle Jaccard >= `threshold`
(`minhash_keep`). The first of each group is kept, so results are deterministic.
"""

from __future__ import annotations

from typing import Any

from codecurate.near_dup import code_hash, minhash_keep


def example_text(rec: dict[str, Any]) -> str:
    return "\n".join(str(rec.get(k, "")) for k in ("instruction", "input", "output"))


def dedup(
    records: list[dict[str, Any]], threshold: float = 0.85, near: bool = True
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """``(kept, [(removed record, reason)])`` with reason ``exact_duplicate`` or ``near_duplicate``."""
    seen: set[str] = set()
    kept, removed = [], []
    for rec in records:
        h = code_hash(example_text(rec))
        if h in seen:
            removed.append((rec, "exact_duplicate"))
        else:
            seen.add(h)
            kept.append(rec)
    if near and len(kept) > 1:
        mask = minhash_keep([example_text(r) for r in kept], threshold=threshold)
        removed += [(r, "near_duplicate") for r, k in zip(kept, mask, strict=True) if not k]
        kept = [r for r, k in zip(kept, mask, strict=True) if k]
    return kept, removed
