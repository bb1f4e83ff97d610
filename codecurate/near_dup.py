"""Exact and near-duplicate detection over code or text, shared by the mine filters and generate's dedup.

- text is normalised by `normalize_code` (whitespace runs collapsed) and split into word and punctuation tokens;
- exact duplicates share `code_hash` (SHA-256 of the normalised text);
- the shingles are the sets of `SHINGLE_SIZE` (5) consecutive tokens; a text of fewer tokens is one shingle;
- MinHash signatures (datasketch, `num_perm` permutations, fixed `seed`) estimate the Jaccard similarity of the
  shingle sets; LSH proposes candidates and a pair counts as near-duplicate when the estimate >= `threshold`;
- texts are visited in order and the first of each near-duplicate group is kept, so results are deterministic.
"""

from __future__ import annotations

import hashlib
import re

SHINGLE_SIZE = 5
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_WS_RE = re.compile(r"\s+")


def normalize_code(code: str) -> str:
    """Code with every whitespace run collapsed to one space and the ends stripped.

    Comments and names are kept: renaming or re-commenting makes a different seed, re-indenting does not.
    """
    return _WS_RE.sub(" ", code).strip()


def code_hash(code: str) -> str:
    """SHA-256 (hex) of the normalised code: equal for functions that differ only in layout."""
    return hashlib.sha256(normalize_code(code).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = SHINGLE_SIZE) -> set[str]:
    """Set of k-token shingles of the normalised text (see module docstring)."""
    tokens = _TOKEN_RE.findall(normalize_code(text))
    if len(tokens) <= k:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


def minhash_keep(texts: list[str], threshold: float = 0.85, num_perm: int = 128, seed: int = 1) -> list[bool]:
    """Keep-mask over `texts`: False for a text whose estimated Jaccard similarity (on 5-token shingles) with an
    earlier kept text is >= `threshold`. The first of each near-duplicate group is kept.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if not texts:
        return []
    from datasketch import MinHash, MinHashLSH

    # datasketch cannot band for thresholds near 1; a lower LSH threshold only adds candidates, checked below.
    lsh = MinHashLSH(threshold=min(threshold, 0.9), num_perm=num_perm)
    kept_hashes: dict[str, MinHash] = {}
    keep: list[bool] = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=seed)
        m.update_batch([s.encode("utf-8") for s in sorted(shingles(text))])
        # LSH is a candidate generator with false positives; confirm with the estimate itself.
        dup = any(m.jaccard(kept_hashes[key]) >= threshold for key in lsh.query(m))
        keep.append(not dup)
        if not dup:
            key = str(i)
            lsh.insert(key, m)
            kept_hashes[key] = m
    return keep
