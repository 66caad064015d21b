"""A `gymnasium.spaces.Text` that accepts any text an LLM emits.

Gymnasium's `Text` checks every character against a finite charset, which rejects ordinary
LLM output (emoji, CJK, newlines). `UnicodeText` accepts every `str` within its length bounds
and samples from a small printable charset, so `check_env` stays fast.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium.spaces import Text

SAMPLE_CHARSET = string.printable + "éüßΩπ中文😀<>/"


class UnicodeText(Text):
    """Text space over all of Unicode, bounded in length only."""

    def __init__(self, max_length: int = 1_000_000, *, min_length: int = 0, seed: int | None = None):
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Sample short strings (at most 64 chars): useful for fuzzing, cheap for check_env."""
        if mask is not None or probability is not None:
            return super().sample(mask=mask, probability=probability)
        hi = min(self.max_length, 64)
        length = int(self.np_random.integers(self.min_length, max(hi, self.min_length) + 1))
        chars = np.array(list(SAMPLE_CHARSET))
        return "".join(self.np_random.choice(chars, size=length))

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    def __hash__(self) -> int:
        return hash((UnicodeText, self.min_length, self.max_length))
