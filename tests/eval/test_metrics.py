"""GAIA scorer (official semantics, table-driven), pass@k, bootstrap CIs."""

from __future__ import annotations

import itertools
import math
from math import comb

import pytest

from agentgym.eval.metrics import bootstrap_ci, gaia_score, mean, pass_at_k, success_rate

GAIA_TABLE = [
    # (model answer, gold, expected) — numbers: strip $ % , then float compare
    ("$1,000", "1000", True),
    ("1000 USD", "1000", False),
    ("1,000", "1000", True),
    ("1000.0", "1000", True),
    ("17%", "17", True),
    ("17", "17.0", True),
    ("17.5", "17", False),
    ("seventeen", "17", False),
    ("", "0", False),
    (None, "0", False),
    ("-3", "-3", True),
    # lists: split on , and ; compared element-wise, in order
    ("b, a", "a,b", False),
    ("a, b", "a,b", True),
    ("a; b", "a,b", True),
    ("A,B", "a, b", True),
    ("a, b, c", "a,b", False),
    ("1, 2,000", "1;2000", False),  # "2,000" splits into two elements: length mismatch
    ("$5, apple", "5, apple", True),
    ("sea gull, x", "seagull, x", True),
    ("The Beatles, x", "Beatles, x", False),
    ("a.,b", "a,b", False),  # punctuation is kept inside list elements
    # strings: remove all whitespace, lowercase, drop punctuation; articles are kept
    ("The Beatles", "Beatles", False),
    ("sea gull", "seagull", True),
    ("Sea-Gull!", "seagull", True),
    ("PARIS", "Paris", True),
    ("St. Petersburg", "St Petersburg", True),
    ("New York City", "New York", False),
]


@pytest.mark.parametrize(("answer", "gold", "expected"), GAIA_TABLE)
def test_gaia_score_table(answer: str | None, gold: str, expected: bool) -> None:
    assert gaia_score(answer, gold) is expected


def _pass_at_k_brute(n: int, c: int, k: int) -> float:
    """Probability that a random k-subset of n samples (c correct) holds a correct one."""
    samples = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize(
    ("n", "c", "k"), [(n, c, k) for n in range(1, 7) for c in range(n + 1) for k in range(1, n + 1)]
)
def test_pass_at_k_matches_enumeration(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(_pass_at_k_brute(n, c, k))
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k))


def test_pass_at_k_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 5 samples"):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_bootstrap_ci_brackets_the_mean_and_is_deterministic() -> None:
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(values, seed=3)
    assert lo < mean(values) < hi
    assert 0.18 < lo < 0.3 and 0.3 < hi < 0.42
    assert bootstrap_ci(values, seed=3) == (lo, hi)
    assert all(math.isnan(x) for x in bootstrap_ci([]))  # visible, never a fake 0


def test_success_rate() -> None:
    assert success_rate([True, False, True, True]) == 0.75
