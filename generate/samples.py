"""MultiPL-T-style sampling: many candidates per try, every passing one kept, near-duplicates among them removed.

    n, temperature = samples_for(cfg.sampling, task)  # candidates and their temperature for one request
    kept, dropped = rouge_dedup(texts, threshold=0.6)  # indices kept (first of each group) / dropped

MultiPL-T samples many translations per function at a high temperature, keeps every one whose tests pass, and
then drops near-duplicates by ROUGE-L. Near-duplicates here are measured with Google's ``rouge-score`` package
(ROUGE-L F-measure over its default tokens: lower-cased alphanumeric runs), a candidate being dropped when it
scores >= ``threshold`` against one already kept, so the first of each group survives and results are
deterministic.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codecurate.generate.config import SamplingConfig

SAMPLED_TASKS = ("generate", "translate")  # tasks whose answer is code that tests decide on


@functools.cache
def _scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F-measure of two texts (symmetric)."""
    return _scorer().score(a, b)["rougeL"].fmeasure


def rouge_dedup(texts: list[str], threshold: float = 0.6) -> tuple[list[int], list[tuple[int, int, float]]]:
    """``(kept indices, [(dropped index, index it duplicates, score)])``: greedy, first of each group kept."""
    kept: list[int] = []
    dropped: list[tuple[int, int, float]] = []
    for i, text in enumerate(texts):
        best = max(((rouge_l(texts[j], text), j) for j in kept), default=(0.0, -1))
        if kept and best[0] >= threshold:
            dropped.append((i, best[1], round(best[0], 3)))
        else:
            kept.append(i)
    return kept, dropped


def samples_for(sampling: SamplingConfig, task: str) -> tuple[int, float]:
    """(candidates per request, temperature) for one example of ``task``: ``--samples`` only for sampled tasks."""
    n = sampling.samples if task in SAMPLED_TASKS else 1
    given = sampling.sample_temperature
    temperature = given if n > 1 and given is not None else sampling.temperature
    return n, temperature
