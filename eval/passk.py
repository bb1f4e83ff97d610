"""pass@k, the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code",
arXiv:2107.03374, eq. 1), plus the confidence intervals every summary and comparison reports.

For one problem with n samples of which c pass, pass@k = 1 - C(n-c, k) / C(n, k): the chance that at least one of
k samples drawn without replacement passes. The benchmark score is the mean over problems. When n < k the estimate
does not exist; we say so instead of dropping the k (bigcode-evaluation-harness drops it silently).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

DEFAULT_KS = (1, 10, 100)
BOOTSTRAP_ROUNDS = 2000
INTERVAL_METHOD = f"95% percentile bootstrap over problems, {BOOTSTRAP_ROUNDS} rounds, seed 0"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: 1 - C(n-c, k) / C(n, k), as a running product (no huge binomials)."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if k < 1 or k > n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:  # every k-subset holds a passing sample
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
    prob_all_fail = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_fail *= 1.0 - k / i
    return 1.0 - prob_all_fail


def estimate(results: Sequence[tuple[int, int]], ks: Sequence[int] = DEFAULT_KS) -> tuple[dict[str, float], dict]:
    """Mean pass@k over problems given ``(n, c)`` per problem.

    Returns ``(scores, notes)``: ``scores`` holds ``pass@k`` for every k with k <= min(n); ``notes`` maps each
    other k to why it was not computed, so a summary can show it rather than leave it out.
    """
    scores: dict[str, float] = {}
    notes: dict[str, str] = {}
    if not results:
        return scores, {f"pass@{k}": "no scored problems" for k in ks}
    n_min = min(n for n, _ in results)
    for k in ks:
        if k > n_min:
            notes[f"pass@{k}"] = f"not computed: {n_min} sample(s) per problem < k={k}"
            continue
        scores[f"pass@{k}"] = sum(pass_at_k(n, c, k) for n, c in results) / len(results)
    return scores, notes


def wilson_interval(successes: float, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (95 % by default); stays inside [0, 1] even at 0 or n successes."""
    if total <= 0:
        return (0.0, 1.0)
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(
    per_problem: Sequence[float], rounds: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over problems (resampling problems, the unit that varies)."""
    if not per_problem:
        return (0.0, 1.0)
    rng = random.Random(seed)
    m = len(per_problem)
    means = sorted(sum(rng.choices(per_problem, k=m)) / m for _ in range(rounds))
    lo = means[int(alpha / 2 * rounds)]
    hi = means[min(rounds - 1, int((1 - alpha / 2) * rounds))]
    return (lo, hi)


def estimate_intervals(
    results: Sequence[tuple[int, int]], scores: dict[str, float], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0
) -> dict[str, list[float]]:
    """A 95 % bootstrap interval for every ``pass@k`` in `scores` (from `estimate`), resampling problems: the
    benchmark's problems are one sample of the tasks it stands for, and that is where most of the noise lies when
    there are few of them. Seeded, so a summary is reproducible."""
    out = {}
    for name in scores:
        k = int(name.removeprefix("pass@"))
        lo, hi = bootstrap_interval([pass_at_k(n, c, k) for n, c in results], rounds=rounds, seed=seed)
        out[name] = [round(lo, 4), round(hi, 4)]
    return out


def overlap(a: Sequence[float] | None, b: Sequence[float] | None) -> bool | None:
    """Whether two intervals share a point; None when either is missing. Overlapping 95 % intervals are read as
    "no measurable difference" (a conservative reading: some differences they hide would pass a paired test)."""
    if not a or not b:
        return None
    return a[0] <= b[1] and b[0] <= a[1]
