"""Answer metrics: SQuAD-normalised exact match, token F1 and cover-EM.

Normalisation follows SQuAD / Search-R1: lowercase, drop punctuation, drop the articles
a/an/the, collapse whitespace. Every metric takes the max over the gold answers.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

__all__ = ["cover_exact_match", "exact_match", "f1_score", "normalize_answer"]

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
