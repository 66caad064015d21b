"""`RemoteEnv`: a `gymnasium.Env` whose episodes run on an agentgym env server.

The collector, trainer and evaluator drive it exactly like a local env: `reset` and `step`
return what the server's env returned, `system_prompt`, `action_format`, `max_turns` and the
tool schemas are fetched from the server, and `agentgym.fork(env)` forks the episode on the
server. Requests that never reached the server (connection refused, connect timeout) are
retried; a `step` whose reply was lost is not, since stepping twice would change the episode.

>>> env = agentgym.make("agentgym/Remote-v0", url="http://127.0.0.1:8100", env_id="Calculator-v0")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import httpx

from agentgym.core.parsing import ActionParser
from agentgym.errors import AgentGymError, ProviderError
from agentgym.server.sessions import DescribedEnv

__all__ = ["RemoteEnv", "RemoteEnvError"]

log = logging.getLogger(__name__)

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


class RemoteEnvError(ProviderError):
    """The env server answered with an error (the message is the server's)."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(f"env server error {status} ({kind}): {message}")
        self.status = status
        self.kind = kind


class RemoteEnv(DescribedEnv):
    """A client of `agentgym serve`, indistinguishable from the local env it mirrors.

    Args:
        url: base URL of the server, e.g. ``http://127.0.0.1:8100``.
        env_id: the served env id (``Calculator-v0`` or ``agentgym/Calculator-v0``).
        token: bearer token, when the server requires one (default: $AGENTGYM_SERVER_TOKEN).
        env_kwargs: per-session constructor kwargs the server allows (e.g. ``action_format``).
        timeout: seconds per request (a step that runs tools may need more).
        retries: attempts for requests that failed before reaching the server.
        backoff: first retry delay in seconds (doubles each attempt).
        client: an `httpx.Client` to share between envs (its base URL is ignored).
    """

    def __init__(
        self,
        url: str,
        env_id: str,
        *,
        token: str | None = None,
        env_kwargs: dict[str, Any] | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.2,
        client: httpx.Client | None = None,
        render_mode: str | None = None,
    ):
        self.url = url.rstrip("/")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.retries = max(1, retries)
        self.backoff = backoff
        self.render_mode = render_mode
        token = token or os.environ.get("AGENTGYM_SERVER_TOKEN") or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout, headers=headers)
        self._headers = headers
        self.session_id: str | None = None
        self._described: dict[str, Any] = {}
        self._parser: ActionParser | None = None
        self._last_observation = ""

    # ----------------------------------------------------------------- HTTP
    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, idempotent: bool = True
    ) -> Any:
        retry_on = _NEVER_SENT + (_MAYBE_SENT if idempotent else ())
        delay = self.backoff
        for attempt in range(1, self.retries + 1):
            try:
                resp = self._client.request(method, self.url + path, json=body, headers=self._headers)
                break
            except retry_on as exc:
                if attempt == self.retries:
                    raise ProviderError(
                        f"env server {self.url} unreachable after {attempt} attempt(s): {type(exc).__name__}: {exc}. "
                        "Is `agentgym serve` running there?"
                    ) from exc
                log.info("retrying %s %s after %s (attempt %d)", method, path, type(exc).__name__, attempt)
                time.sleep(delay)
                delay *= 2
            except httpx.TransportError as exc:
                raise ProviderError(f"{method} {self.url}{path} failed and was not retried: {exc!r}") from exc
        if resp.status_code != 200:
            try:
                err = resp.json()["error"]
                raise RemoteEnvError(resp.status_code, err.get("type", "?"), err.get("message", ""))
            except (ValueError, KeyError, TypeError):
                raise RemoteEnvError(resp.status_code, "http_error", resp.text[:500]) from None
        return resp.json()

    def _create(self, seed: int | None, options: dict[str, Any] | None) -> dict[str, Any]:
        body = {
            "env_id": self.env_id,
            "seed": seed,
            "options": options,
            "env_kwargs": self.env_kwargs or None,
        }
        out = self._request("POST", "/v1/sessions", body, idempotent=False)
        self.session_id = out["session_id"]
        self._described = out.get("env", {})
        self._parser = None
        return out

    # ----------------------------------------------------------------- Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if self.session_id is None:
            out = self._create(seed, options)
        else:
            try:
                out = self._request(
                    "POST", f"/v1/sessions/{self.session_id}/reset", {"seed": seed, "options": options}
                )
            except RemoteEnvError as exc:
                if exc.status != 404:
                    raise
                log.info("session %s expired on the server; opening a new one", self.session_id)
                out = self._create(seed, options)
        self._last_observation = out["observation"]
        return out["observation"], out["info"]

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.session_id is None:
            raise RuntimeError("call reset() before step()")
        out = self._request(
            "POST", f"/v1/sessions/{self.session_id}/step", {"action": action}, idempotent=False
        )
        self._last_observation = out["observation"]
        return out["observation"], float(out["reward"]), out["terminated"], out["truncated"], out["info"]

    def close(self) -> None:
        if self.session_id is not None:
            try:
                self._request("DELETE", f"/v1/sessions/{self.session_id}", idempotent=True)
            except AgentGymError as exc:  # the server may be gone already; closing is best effort
                log.debug("closing remote session %s: %s", self.session_id, exc)
            self.session_id = None
        if self._own_client:
            self._client.close()

    # ----------------------------------------------------------------- what the agent needs

    def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call one tool outside the turn loop: ``{"content", "error", "truncated"}``."""
        if self.session_id is None:
            raise RuntimeError("call reset() before call_tool()")
        return self._request(
            "POST", f"/v1/sessions/{self.session_id}/tools/{name}", {"arguments": arguments}, idempotent=False
        )

    def oracle_action(self) -> str:
        """The scripted expert's next action (the server must run with --expose-oracle)."""
        if self.session_id is None:
            raise RuntimeError("call reset() before oracle_action()")
        return self._request("GET", f"/v1/sessions/{self.session_id}/oracle")["action"]

    def fork_unwrapped(self) -> RemoteEnv:
        """A new server session holding an independent copy of this episode."""
        if self.session_id is None:
            raise RuntimeError("call reset() before forking")
        out = self._request("POST", f"/v1/sessions/{self.session_id}/fork", {}, idempotent=False)
        new = RemoteEnv.__new__(RemoteEnv)
        new.__dict__.update(self.__dict__)
        new._own_client = False  # the copy shares the HTTP client; the original closes it
        new.session_id = out["session_id"]
        return new

    def __repr__(self) -> str:
        return f"<RemoteEnv {self.env_id} at {self.url} session={self.session_id}>"
