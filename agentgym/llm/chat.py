"""Chat formatting at the token level: prompt ids, observation ids, stop strings.

Prompts go through the tokenizer's chat template (system = the env's instructions and tool
schemas, user = the first observation). The policy's own tokens are never re-rendered: only the
environment's text after an action is tokenized, once, as the template's suffix that follows an
assistant message (end-of-turn marker, the observation message, the next assistant header).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentgym.errors import InvalidConfig

__all__ = ["ChatFormat", "stop_strings_for"]

_MARK = "\u2063@@agentgym-action@@\u2063"


@dataclass
class ChatFormat:
    """Renders episodes with `tokenizer`'s chat template.

    Args:
        tokenizer: a transformers tokenizer with a `chat_template`.
        observation_role: role of tool/env messages after the first ("tool" for agentgym's
            small models; "user" is the safe choice for hub templates without a tool role).
    """

    tokenizer: Any
    observation_role: str = "tool"

    def __post_init__(self) -> None:
        if not getattr(self.tokenizer, "chat_template", None):
            raise InvalidConfig(
                f"tokenizer {type(self.tokenizer).__name__} has no chat_template; set `tokenizer.chat_template` "
                "or use an instruct checkpoint (agentgym's tiny/small/base models ship one)"
            )
        self.eos_id: int = self.tokenizer.eos_token_id
        self._eos_text: str = self.tokenizer.eos_token or ""

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def prompt_ids(self, system: str, observation: str) -> list[int]:
        """Token ids of system + first observation + the assistant header."""
        msgs = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": observation}
        ]
        return self.encode(self.render(msgs, add_generation_prompt=True))

    def observation_text(self, observation: str, *, action_ended: bool) -> str:
        """Text appended after an action: end marker (unless sampled), observation, next header."""
        msgs = [
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": _MARK},
            {"role": self.observation_role, "content": observation},
        ]
        text = self.render(msgs, add_generation_prompt=True)
        suffix = text[text.index(_MARK) + len(_MARK) :]
        if action_ended and self._eos_text and suffix.startswith(self._eos_text):
            suffix = suffix[len(self._eos_text) :]
        return suffix

    def observation_ids(self, observation: str, action_ids: Sequence[int]) -> list[int]:
        ended = bool(action_ids) and action_ids[-1] == self.eos_id
        return self.encode(self.observation_text(observation, action_ended=ended))

    def action_ids(self, action: str) -> list[int]:
        """Token ids of a demonstrated action, ending with EOS (what SFT teaches to sample)."""
        return [*self.encode(action), self.eos_id]


def stop_strings_for(env: Any) -> tuple[str, ...]:
    """Closing tags that end a turn for `env`'s action format (empty if it has no parser)."""
    u = getattr(env, "unwrapped", env)
    parser = getattr(u, "parser", None)
    if parser is None:
        return ()
    fmt = getattr(parser, "format", "")
    if fmt == "xml":
        return tuple(f"</{t}>" for t in [*parser.tools, parser.answer_tag])
    if fmt == "json":
        return ("</tool_call>", f"</{parser.answer_tag}>")
    return ()
