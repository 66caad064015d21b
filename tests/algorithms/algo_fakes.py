"""A scripted, seeded token-level policy and a character-level chat format for sampler tests.

Tokens are character codes; observation text is wrapped in a marker token (`OBS`) so the policy
can tell how many env observations its context holds. The policy plays GuessNumber-style actions
and reports per-token entropies from a caller-supplied function of (prompt, observation count),
so a test controls ΔH exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from agentgym.llm.base import Completion, SamplingParams

OBS = 1  # marker token that opens an observation


class CharChat:
    """Just enough of `ChatFormat` for `Collector`: prompt/observation ids and decode."""

    eos_id = 0

    def encode(self, text: str) -> list[int]:
        return [min(ord(c), 0x10FFFF) + 2 for c in text]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return "".join(chr(i - 2) for i in ids if i >= 2)

    def prompt_ids(self, system: str, observation: str) -> list[int]:
        return self.encode(observation)

    def observation_ids(self, observation: str, action_ids: Sequence[int]) -> list[int]:
        return [OBS, *self.encode(observation)]


class ScriptedPolicy:
    """Seeded random guesser: `<guess>N</guess>`, or `<answer>N</answer>` with `p_answer`."""

    def __init__(
        self, entropy: Callable[[int, int], float], *, p_answer: float = 0.2, low: int = 1, high: int = 100
    ):
        self.chat = CharChat()
        self.entropy, self.p_answer, self.low, self.high = entropy, p_answer, low, high
        self.calls = 0

    def generate(self, prompts: list[list[int]], sampling: SamplingParams, *, seeds: list[int] | None = None):
        self.calls += 1
        out = []
        for i, ctx in enumerate(prompts):
            rng = np.random.default_rng(None if seeds is None else seeds[i])
            tag = "answer" if rng.random() < self.p_answer else "guess"
            text = f"<{tag}>{int(rng.integers(self.low, self.high + 1))}</{tag}>"
            ids = self.chat.encode(text)
            n_obs = sum(1 for t in ctx if t == OBS)
            prompt_key = hash(tuple(ctx[: ctx.index(OBS)] if OBS in ctx else ctx)) % 1000
            h = self.entropy(prompt_key, n_obs)
            out.append(Completion(ids, text, [-0.5] * len(ids), [h] * len(ids), "stop"))
        return out
