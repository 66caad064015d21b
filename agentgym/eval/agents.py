"""Text-level agents for evaluation: the env's oracle, a constant answer, an OpenAI-compatible chat.

These act on the conversation (messages) rather than on token ids, so they need neither torch
nor a tokenizer: `oracle` validates a benchmark end to end on any machine. Token-level
policies (`tiny`, checkpoints, `vllm:`) go through the training collector instead (see
`agentgym.eval.runner`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from agentgym.errors import InvalidConfig, ProviderError

__all__ = ["Agent", "AgentReply", "ChatAgent", "ConstantAgent", "OracleAgent", "text_agent"]


@dataclass
class AgentReply:
    """One action; token counts as the backend reports them (0 when it does not)."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    error: str | None = None


class Agent(Protocol):
    def act(self, messages: list[dict[str, Any]], env: Any, *, seed: int) -> AgentReply: ...


class OracleAgent:
    """The env's scripted expert (`env.unwrapped.oracle_action()`)."""

    def act(self, messages: list[dict[str, Any]], env: Any, *, seed: int) -> AgentReply:
        return AgentReply(env.unwrapped.oracle_action())


class ConstantAgent:
    """Always answers `answer` at once: the floor that the gold distribution implies."""

    def __init__(self, answer: str):
        self.answer = answer

    def act(self, messages: list[dict[str, Any]], env: Any, *, seed: int) -> AgentReply:
        parser = getattr(env.unwrapped, "parser", None)
        return AgentReply(parser.format_answer(self.answer) if parser is not None else self.answer)


class ChatAgent:
    """Any OpenAI-compatible `/v1/chat/completions` endpoint, through `agentgym.llm.OpenAIChat`.

    The API key comes from `api_key_env` (default ``OPENAI_API_KEY``); none is sent when unset.
    For envs with ``action_format="openai"`` the env's tool schemas are sent and the assistant
    message (with its `tool_calls`) is the action; otherwise the message text is.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        timeout_s: float = 120.0,
        retries: int = 2,
        api_key_env: str = "OPENAI_API_KEY",
    ):
        from agentgym.llm.openai_chat import OpenAIChat

        self.llm = OpenAIChat(
            base_url, model, api_key=os.environ.get(api_key_env), timeout=timeout_s, max_retries=retries
        )
        self.temperature = temperature
        self.max_tokens = max_tokens

    def act(self, messages: list[dict[str, Any]], env: Any, *, seed: int) -> AgentReply:
        from agentgym.llm.base import SamplingParams
        from agentgym.llm.openai_chat import completion_to_action

        u = env.unwrapped
        native_tools = getattr(u, "action_format", "") == "openai"
        sampling = SamplingParams(temperature=self.temperature, max_tokens=self.max_tokens, seed=seed)
        tools = u.toolset.openai_schemas() if native_tools else None
        try:
            c = self.llm.chat_many([messages], sampling, tools=tools)[0]
        except ProviderError as exc:  # e.g. the model name could not be resolved
            return AgentReply("", error=f"model call failed: {exc}")
        if c.finish_reason == "error":
            return AgentReply("", error=f"model call failed: {c.error}")
        text = completion_to_action(c) if native_tools else c.text
        return AgentReply(
            text, int(c.usage.get("prompt_tokens", 0)), int(c.usage.get("completion_tokens", 0))
        )


def text_agent(spec: str, *, temperature: float = 0.0, max_tokens: int = 1024) -> Agent | None:
    """The text-level agent for a `--model` spec, or None when the spec names a token-level policy.

    Specs: ``oracle``, ``constant:TEXT`` (e.g. ``constant:0``), ``openai:BASE_URL[#MODEL]``.
    """
    if spec == "oracle":
        return OracleAgent()
    if spec.startswith("constant:"):
        return ConstantAgent(spec[len("constant:") :])
    if spec.startswith("openai:"):
        url, _, model = spec[len("openai:") :].partition("#")
        if not url.startswith(("http://", "https://")):
            raise InvalidConfig(
                f"openai model spec needs a URL, e.g. openai:http://127.0.0.1:8000/v1#my-model; got {spec!r}"
            )
        return ChatAgent(url, model or None, temperature=temperature, max_tokens=max_tokens)
    return None
