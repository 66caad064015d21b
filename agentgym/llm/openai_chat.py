"""`OpenAIChat`: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, hosted APIs) via httpx.

For evaluation and standalone agents. Requests run concurrently under a cap; 429, 5xx and
transport errors are retried with exponential backoff (honouring `Retry-After`); each request
has a timeout; token usage is accumulated in `usage`. `chat()` speaks `/v1/chat/completions`
(tool calls included); `generate()` sends token ids to `/v1/completions` (vLLM accepts them and
returns token ids with `return_tokens_as_token_ids`), so a served model can back the collector.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

from agentgym.errors import ProviderError
from agentgym.llm.base import Completion, SamplingParams
from agentgym.tools.accounting import default_accountant

__all__ = ["OpenAIChat", "completion_to_action"]

log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIChat:
    """Client of an OpenAI-compatible endpoint.

    Args:
        base_url: `http://host:port` or `http://host:port/v1`.
        model: model name; None asks `/v1/models` for the first one.
        api_key: bearer token (None for local servers).
        timeout: seconds per request.
        max_retries: retries after the first attempt on 429/5xx/transport errors.
        backoff: first backoff in seconds (doubles per retry, with jitter).
        max_concurrency: requests in flight at once.
        tokenizer: a path/name or tokenizer object; gives `generate()` a `chat` formatter.
        service: name its requests are recorded under on `agentgym.tools.accounting.default_accountant()`.
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_concurrency: int = 8,
        tokenizer: Any = None,
        service: str = "openai",
    ):
        url = base_url.rstrip("/")
        self.base_url = url if url.endswith("/v1") else url + "/v1"
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_concurrency = max_concurrency
        self._model = model
        self.service = service
        self.usage: dict[str, int] = {"prompt_tokens": 0, "completion_tokens": 0, "requests": 0, "retries": 0}
        self._lock = threading.Lock()
        self.tokenizer = _load_tokenizer(tokenizer)
        self.chat_format = None
        if self.tokenizer is not None:
            from agentgym.llm.chat import ChatFormat

            self.chat_format = ChatFormat(self.tokenizer)

    @property
    def chat(self):  # the collector reads `policy.chat`
        return self.chat_format

    # ----------------------------------------------------------------- HTTP
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def _post(self, client: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        last = ""
        t0 = time.perf_counter()
        for attempt in range(self.max_retries + 1):
            if attempt:
                with self._lock:
                    self.usage["retries"] += 1
            try:
                r = await client.post(self.base_url + path, json=payload, headers=self._headers())
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(self._delay(attempt, None))
                continue
            if r.status_code in RETRY_STATUS:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                await asyncio.sleep(self._delay(attempt, r.headers.get("retry-after")))
                continue
            if r.status_code >= 400:
                default_accountant().record(self.service, latency_s=time.perf_counter() - t0, error=True)
                raise ProviderError(f"{self.base_url}{path} answered HTTP {r.status_code}: {r.text[:500]}")
            data = r.json()
            with self._lock:
                self.usage["requests"] += 1
                for k in ("prompt_tokens", "completion_tokens"):
                    self.usage[k] += int((data.get("usage") or {}).get(k) or 0)
            usage = data.get("usage") or {}
            default_accountant().record(
                self.service,
                latency_s=time.perf_counter() - t0,
                tokens_in=int(usage.get("prompt_tokens") or 0),
                tokens_out=int(usage.get("completion_tokens") or 0),
            )
            return data
        default_accountant().record(self.service, latency_s=time.perf_counter() - t0, error=True)
        raise ProviderError(
            f"{self.base_url}{path} failed after {self.max_retries + 1} attempts (last: {last}); "
            "check that the server is up, or raise max_retries/timeout"
        )

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), 60.0)
            except ValueError:
                pass
        return self.backoff * (2**attempt) * (0.5 + random.random() / 2)

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.max_concurrency)
        return httpx.AsyncClient(timeout=self.timeout, limits=limits)

    async def _gather(
        self, path: str, payloads: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any] | Exception]:
        sem = asyncio.Semaphore(self.max_concurrency)
        async with self._client() as client:

            async def one(p: dict[str, Any]) -> dict[str, Any] | Exception:
                async with sem:
                    try:
                        return await self._post(client, path, p)
                    except ProviderError as exc:
                        return exc

            return list(await asyncio.gather(*(one(p) for p in payloads)))

    def _run(self, coro: Any) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        result: list[Any] = []  # inside a running loop (notebooks): run on a helper thread
        t = threading.Thread(target=lambda: result.append(asyncio.run(coro)))
        t.start()
        t.join()
        return result[0]

    @property
    def model(self) -> str:
        if self._model is None:
            try:
                r = httpx.get(self.base_url + "/models", headers=self._headers(), timeout=self.timeout)
                r.raise_for_status()
                models = r.json().get("data") or []
            except (httpx.HTTPError, ValueError) as exc:
                raise ProviderError(
                    f"could not list models at {self.base_url}/models ({exc}); is the server up? or pass model="
                ) from exc
            if not models:
                raise ProviderError(f"{self.base_url}/models lists no model; pass model= explicitly")
            self._model = str(models[0]["id"])
        return self._model

    # ----------------------------------------------------------------- API
    def _sampling_payload(self, sp: SamplingParams, seed: int | None) -> dict[str, Any]:
        p: dict[str, Any] = {
            "model": self.model,
            "temperature": sp.temperature,
            "top_p": sp.top_p,
            "max_tokens": sp.max_tokens,
        }
        if sp.stop:
            p["stop"] = list(sp.stop)
        if seed is not None:
            p["seed"] = int(seed) % (2**31)
        return p

    def chat_many(
        self,
        conversations: Sequence[list[dict[str, Any]]],
        sampling: SamplingParams | None = None,
        *,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[Completion]:
        """One assistant message per conversation (`sampling.n` ignored); failures come back as `finish_reason="error"`."""
        default_accountant().check_budget()
        sp = sampling or SamplingParams()
        payloads = []
        for i, msgs in enumerate(conversations):
            p = {**self._sampling_payload(sp, sp.seed + i), "messages": msgs}
            if tools:
                p["tools"] = tools
            payloads.append(p)
        return [_chat_completion(d) for d in self._run(self._gather("/chat/completions", payloads))]

    def generate(
        self, prompts: list[list[int]], sampling: SamplingParams, *, seeds: list[int] | None = None
    ) -> list[Completion]:
        """Token ids in, token ids out via `/v1/completions` (vLLM's `return_tokens_as_token_ids`)."""
        default_accountant().check_budget()
        payloads = []
        for i, ids in enumerate(prompts):
            for j in range(sampling.n):
                seed = (seeds[i] if seeds else sampling.seed + i) + j
                p = {**self._sampling_payload(sampling, seed), "prompt": list(ids), "logprobs": 0}
                p["return_tokens_as_token_ids"] = True
                payloads.append(p)
        return [self._text_completion(d) for d in self._run(self._gather("/completions", payloads))]

    def _text_completion(self, data: dict[str, Any] | Exception) -> Completion:
        if isinstance(data, Exception):
            return Completion([], "", finish_reason="error", error=str(data))
        choice = data["choices"][0]
        lp = choice.get("logprobs") or {}
        tokens = lp.get("tokens") or []
        if tokens and all(str(t).startswith("token_id:") for t in tokens):
            ids = [int(str(t).split(":", 1)[1]) for t in tokens]
        elif self.tokenizer is not None:
            ids = list(self.tokenizer.encode(choice.get("text", ""), add_special_tokens=False))
        else:
            ids = []
        lps = [float(x) for x in (lp.get("token_logprobs") or [])]
        reason = "stop" if choice.get("finish_reason") == "stop" else "length"
        return Completion(
            ids,
            choice.get("text", ""),
            lps if len(lps) == len(ids) else [],
            None,
            reason,
            usage=data.get("usage") or {},
        )


def _chat_completion(data: dict[str, Any] | Exception) -> Completion:
    if isinstance(data, Exception):
        return Completion([], "", finish_reason="error", error=str(data))
    choice = data["choices"][0]
    msg = choice.get("message") or {}
    reason = {"stop": "stop", "tool_calls": "stop", "length": "length"}.get(
        choice.get("finish_reason"), "stop"
    )
    return Completion(
        [],
        msg.get("content") or "",
        finish_reason=reason,
        tool_calls=msg.get("tool_calls") or None,
        usage=data.get("usage") or {},
    )


def completion_to_action(c: Completion) -> str:
    """The env action for an `openai`-format env: the assistant message as JSON."""
    msg: dict[str, Any] = {"role": "assistant", "content": c.text or None}
    if c.tool_calls:
        msg["tool_calls"] = c.tool_calls
    return json.dumps(msg)


def _load_tokenizer(tokenizer: Any) -> Any:
    if tokenizer is None or not isinstance(tokenizer, str):
        return tokenizer
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer)
