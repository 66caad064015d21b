"""Answer metrics: SQuAD-normalised exact match, token F1 and cover-EM.

Normalisation follows SQuAD / Search-R1: lowercase, drop punctuation, drop the articles
a/an/the, collapse whitespace. Every metric takes the max over the gold answers.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

__all__ = [
    "bootstrap_ci",
    "cover_exact_match",
    "exact_match",
    "f1_score",
    "gaia_score",
    "mean",
    "normalize_answer",
    "pass_at_k",
    "success_rate",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation.

    >>> normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _golds(gold: str | Sequence[str]) -> list[str]:
    return [gold] if isinstance(gold, str) else list(gold)


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(g) for g in _golds(gold)))


def cover_exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when a normalised gold answer appears as a whole-word span of the normalised prediction."""
    p = f" {normalize_answer(prediction)} "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in p for g in _golds(gold)))


def f1_score(prediction: str, gold: str | Sequence[str]) -> float:
    """Token-level F1 (2·overlap / (|pred| + |gold|)), max over gold answers."""
    best = 0.0
    p_tokens = normalize_answer(prediction).split()
    for g in _golds(gold):
        g_tokens = normalize_answer(g).split()
        if not p_tokens or not g_tokens:
            best = max(best, float(p_tokens == g_tokens))
            continue
        overlap = sum((Counter(p_tokens) & Counter(g_tokens)).values())
        if overlap:
            best = max(best, 2 * overlap / (len(p_tokens) + len(g_tokens)))
    return best


# --------------------------------------------------------------------------- GAIA scorer
# The GAIA leaderboard's rules (Mialon et al., 2023, arXiv:2311.12983, `question_scorer`):
# a numeric gold answer is compared as a float after stripping `$`, `%` and `,` from the
# model answer; a gold answer containing `,` or `;` is a list compared element-wise in order;
# any other string is compared after removing all whitespace, lowercasing and dropping
# punctuation. Articles are *not* removed ("The Beatles" != "Beatles").

_GAIA_LIST_SPLIT = re.compile(r"[,;]")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _gaia_number(text: str) -> float:
    for ch in "$%,":
        text = text.replace(ch, "")
    try:
        return float(text)
    except ValueError:
        return float("inf")  # never equal to a finite gold number


def _gaia_str(text: str, remove_punct: bool = True) -> str:
    text = re.sub(r"\s", "", text).lower()
    return "".join(ch for ch in text if ch not in _PUNCT) if remove_punct else text


def gaia_score(model_answer: str | None, ground_truth: str) -> bool:
    """GAIA's official quasi-exact match.

    >>> gaia_score("$1,000", "1000"), gaia_score("1000 USD", "1000")
    (True, False)
    >>> gaia_score("b, a", "a,b"), gaia_score("sea gull", "seagull")
    (False, True)
    """
    answer = "None" if model_answer is None else str(model_answer)
    gold = str(ground_truth)
    if _is_float(gold):
        return _gaia_number(answer) == float(gold)
    if any(ch in gold for ch in ",;"):
        gold_items, answer_items = _GAIA_LIST_SPLIT.split(gold), _GAIA_LIST_SPLIT.split(answer)
        if len(gold_items) != len(answer_items):
            return False
        return all(
            _gaia_number(a) == float(g)
            if _is_float(g)
            else _gaia_str(a, remove_punct=False) == _gaia_str(g, remove_punct=False)
            for a, g in zip(answer_items, gold_items, strict=True)
        )
    return _gaia_str(answer) == _gaia_str(gold)


# --------------------------------------------------------------------------- aggregate metrics


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al., 2021, arXiv:2107.03374): ``1 - C(n-c, k) / C(n, k)``.

    `n` samples of which `c` succeeded. Computed as a stable product, not with factorials.

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 4), round(pass_at_k(5, 2, 2), 3)
    (0.25, 1.0, 0.7)
    """
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and k >= 1; got n={n}, c={c}, k={k}")
    if k > n:
        raise ValueError(
            f"pass@{k} needs at least {k} samples per task, got n={n}; lower k or raise --samples"
        )
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; NaN for no values (so an empty group is visible, not silently 0)."""
    return float(sum(values) / len(values)) if values else float("nan")


def success_rate(successes: Sequence[bool]) -> float:
    """Fraction of successful episodes."""
    return mean([1.0 if s else 0.0 for s in successes])


def bootstrap_ci(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean.

    Deterministic for a given `seed`, so a resumed run reports the same interval as an
    uninterrupted one. Returns (nan, nan) for no values.

    >>> bootstrap_ci([1.0, 1.0, 1.0])
    (1.0, 1.0)
    """
    import numpy as np

    if not values:
        return float("nan"), float("nan")
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(data), size=(resamples, len(data)))  # (R, N)
    means = data[idx].mean(axis=1)  # (R,)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
