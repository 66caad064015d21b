"""Text-level agents for evaluation: the env's oracle, a constant answer, an OpenAI-compatible chat.

These act on the conversation (messages) rather than on token ids, so they need neither torch
nor a tokenizer: `oracle` validates a benchmark end to end on any machine. Token-level
policies (`tiny`, checkpoints, `vllm:`) go through the training collector instead (see
`agentgym.eval.runner`).
"""

from __future__ import annotations

import json
import os
import threading
import time
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
    """Any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, llama.cpp, hosted APIs).

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
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model or "default"
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.retries = retries
        self._api_key = os.environ.get(api_key_env)
        self._local = threading.local()

    def _client(self) -> Any:
        import httpx

        client = getattr(self._local, "client", None)
        if client is None:
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            client = self._local.client = httpx.Client(timeout=self.timeout_s, headers=headers)
        return client

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        last = ""
        for attempt in range(self.retries + 1):
            try:
                resp = self._client().post(f"{self.base_url}/chat/completions", json=body)
                if resp.status_code < 500 and resp.status_code != 429:
                    resp.raise_for_status()
                    return resp.json()
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
            except httpx.HTTPStatusError as exc:
                raise ProviderError(f"{self.base_url} refused the request: {exc.response.status_code} {exc.response.text[:300]}") from exc
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(min(4.0, 0.5 * 2**attempt))
        raise ProviderError(f"{self.base_url}/chat/completions failed after {self.retries + 1} tries: {last}")

    def act(self, messages: list[dict[str, Any]], env: Any, *, seed: int) -> AgentReply:
        u = env.unwrapped
        native_tools = getattr(u, "action_format", "") == "openai"
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": seed % (2**31),
        }
        if native_tools:
            body["tools"] = u.toolset.openai_schemas()
        try:
            data = self._post(body)
            msg = data["choices"][0]["message"]
        except (ProviderError, KeyError, IndexError, TypeError, ValueError) as exc:
            return AgentReply("", error=f"model call failed: {exc}")
        usage = data.get("usage") or {}
        text = json.dumps(msg) if native_tools and msg.get("tool_calls") else (msg.get("content") or "")
        return AgentReply(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))


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
            raise InvalidConfig(f"openai model spec needs a URL, e.g. openai:http://127.0.0.1:8000/v1#my-model; got {spec!r}")
        return ChatAgent(url, model or None, temperature=temperature, max_tokens=max_tokens)
    return None
