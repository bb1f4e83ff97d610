import itertools
import math

import pytest

from codecurate.eval.passk import (
    bootstrap_interval,
    estimate,
    estimate_intervals,
    overlap,
    pass_at_k,
    wilson_interval,
)


def brute_force(n: int, c: int, k: int) -> float:
    """Share of all k-subsets of n samples (c of them passing) that hold at least one pass."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 10])
def test_matches_enumeration_of_subsets(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12), (n, c, k)


def test_closed_form_for_large_n():
    # 1 - C(n-c, k)/C(n, k) with exact integers, for an n too large to enumerate.
    n, c, k = 200, 7, 10
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), rel=1e-12)
    assert pass_at_k(n, c, 1) == pytest.approx(c / n)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        pass_at_k(5, 1, 6)


def test_estimate_reports_k_larger_than_n_instead_of_dropping_it():
    scores, notes = estimate([(10, 0), (10, 10), (10, 5)], ks=(1, 10, 100))
    assert scores["pass@1"] == pytest.approx((0 + 1 + 0.5) / 3)
    assert scores["pass@10"] == pytest.approx(2 / 3)
    assert "pass@100" not in scores
    assert "pass@100" in notes and "10 sample(s)" in notes["pass@100"]


def test_estimate_uses_smallest_n_and_handles_no_problems():
    scores, notes = estimate([(10, 3), (5, 1)], ks=(1, 10))
    assert "pass@10" in notes and "pass@1" in scores
    scores, notes = estimate([], ks=(1,))
    assert scores == {} and "pass@1" in notes


def test_intervals_contain_the_estimate_and_stay_in_bounds():
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and 0 < hi < 0.25
    lo, hi = wilson_interval(10, 20)
    assert lo < 0.5 < hi
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_interval(values, rounds=500, seed=1)
    assert lo < 0.3 < hi and lo >= 0 and hi <= 1
    assert bootstrap_interval(values, rounds=500, seed=1) == (lo, hi)  # seeded


def test_bootstrap_interval_known_cases():
    # 10 problems, 1 solved: a resampled mean is Binomial(10, 0.1) / 10, with P(<= 0.2) = 0.930 and
    # P(<= 0.3) = 0.987, so the 97.5th percentile is 0.3; P(0) = 0.349, so the 2.5th is 0.
    assert bootstrap_interval([1.0] + [0.0] * 9, rounds=2000, seed=0) == (0.0, 0.3)
    assert bootstrap_interval([1.0] * 5, rounds=200, seed=3) == (1.0, 1.0)  # no spread, no interval
    # 100 problems, half solved: the normal approximation is 0.5 +- 1.96 * sqrt(0.25 / 100) = [0.402, 0.598].
    lo, hi = bootstrap_interval([1.0] * 50 + [0.0] * 50, rounds=2000, seed=0)
    assert lo == pytest.approx(0.402, abs=0.02) and hi == pytest.approx(0.598, abs=0.02)


def test_estimate_intervals_cover_every_computed_k_and_are_seeded():
    results = [(10, 0)] * 6 + [(10, 10)] * 2 + [(10, 3)] * 2
    scores, _ = estimate(results, ks=(1, 10, 100))
    intervals = estimate_intervals(results, scores)
    assert set(intervals) == {"pass@1", "pass@10"}  # pass@100 was not computed, so it has no interval either
    for name, (lo, hi) in intervals.items():
        assert 0 <= lo <= scores[name] <= hi <= 1
    assert intervals == estimate_intervals(results, scores) != estimate_intervals(results, scores, seed=1)


def test_overlap():
    assert overlap([0.1, 0.3], [0.3, 0.5]) is True and overlap([0.1, 0.2], [0.25, 0.5]) is False
    assert overlap([0.4, 0.6], [0.1, 0.45]) is True and overlap(None, [0, 1]) is None
