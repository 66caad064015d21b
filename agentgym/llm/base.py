"""The `LLM` protocol and its records: `SamplingParams` in, `Completion` out.

Every backend (transformers, vLLM, an OpenAI-compatible server) speaks token ids in and token
ids out, so the rollout never re-tokenizes what the policy sampled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentgym.errors import InvalidConfig

__all__ = ["LLM", "Completion", "SamplingParams", "derive_seed"]


@dataclass(frozen=True, kw_only=True)
class SamplingParams:
    """How to sample one completion per prompt (or `n`).

    Attributes:
        temperature: softmax temperature; 0 means greedy decoding.
        top_p: nucleus sampling mass in (0, 1]; 1 disables it.
        max_tokens: most new tokens per completion.
        stop: strings that end a completion (the token that completes one is kept).
        n: completions per prompt.
        seed: base seed; each (prompt, sample) gets its own generator derived from it, so a
            completion does not depend on what else is in the batch.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    n: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise InvalidConfig(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise InvalidConfig(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1 or self.n < 1:
            raise InvalidConfig(f"max_tokens and n must be >= 1, got {self.max_tokens} and {self.n}")
        if isinstance(self.stop, str) or isinstance(self.stop, list):
            object.__setattr__(self, "stop", (self.stop,) if isinstance(self.stop, str) else tuple(self.stop))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Completion:
    """One sampled continuation.

    `logprobs[i]` is log p(token_ids[i] | prompt, token_ids[:i]) under the sampling distribution
    (temperature applied, top-p not); `entropies[i]` is that distribution's full-vocabulary entropy.
    `finish_reason` is "stop" (EOS or a stop string), "length" or "error".
    """

    token_ids: list[int]
    text: str
    logprobs: list[float] = field(default_factory=list)
    entropies: list[float] | None = None
    finish_reason: str = "length"
    error: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class LLM(Protocol):
    """What the rollout needs from a backend."""

    def generate(
        self, prompts: list[list[int]], sampling: SamplingParams, *, seeds: list[int] | None = None
    ) -> list[Completion]:
        """Sample `sampling.n` completions per prompt, prompt-major order."""
        ...


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any hashable parts (independent of PYTHONHASHSEED)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
