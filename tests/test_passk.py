import itertools
import math

import pytest

from codecurate.eval.passk import bootstrap_interval, estimate, pass_at_k, wilson_interval


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
