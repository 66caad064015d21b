"""Sessions of the env server: one live env per session, capped, locked and evicted when idle.

The store is transport-free (the FastAPI app and the tests drive it directly), so its
guarantees can be checked without HTTP: only env ids chosen by whoever started the server
can be created; constructor kwargs are limited to an allow-list of plain JSON values; each
session has its own lock, so concurrent calls on one session run one after another while
different sessions run in parallel; idle sessions are closed after `idle_timeout` seconds.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium

from agentgym.core.env import Env, fork
from agentgym.core.parsing import ActionParser, make_parser
from agentgym.core.registration import full_id, make
from agentgym.errors import AgentGymError, InvalidConfig, did_you_mean
from agentgym.tools.base import ToolResult, Toolset

__all__ = [
    "DEFAULT_ALLOWED_KWARGS",
    "DescribedEnv",
    "Session",
    "SessionLimit",
    "SessionNotFound",
    "SessionStore",
    "describe_env",
    "parser_from_description",
]

log = logging.getLogger(__name__)

MAX_PROTOTYPES = 32
"""Prototype envs kept per (env id, client kwargs); older ones are closed."""

DEFAULT_ALLOWED_KWARGS: tuple[str, ...] = ("action_format", "max_turns", "format_penalty")
"""Constructor kwargs a client may set per session: plain values that select behaviour, never code."""


class SessionNotFound(AgentGymError, KeyError):
    """No live session has this id (never created, closed, or evicted when idle)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SessionLimit(AgentGymError):
    """The server already holds `max_sessions` sessions, none of them idle."""


@dataclass
class Session:
    """One client's env. `lock` serialises every call that touches `env`."""

    id: str
    env_id: str
    env: gymnasium.Env
    kwargs: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    steps: int = 0

    def touch(self) -> None:
        self.last_used = time.monotonic()


def describe_env(env: gymnasium.Env) -> dict[str, Any]:
    """What a client needs to drive `env` like a local one: prompt, format, turn limit, tools."""
    u = env.unwrapped
    toolset = getattr(u, "toolset", None)
    parser = getattr(u, "parser", None)
    return {
        "system_prompt": str(getattr(u, "system_prompt", "") or ""),
        "action_format": getattr(u, "action_format", None),
        "answer_tag": getattr(parser, "answer_tag", None),
        "max_turns": getattr(u, "max_turns", None),
        "tools": toolset.openai_schemas() if toolset is not None else [],
    }


class SchemaTool:
    """A tool known by its schema only: it runs where the env runs, never in the client."""

    def __init__(self, name: str, description: str, parameters: dict[str, Any]):
        self.name, self.description, self.parameters = name, description, parameters

    def __call__(self, **kwargs: Any) -> ToolResult:
        return ToolResult(error=f"`{self.name}` runs on the env's server; step the env to call it")


def parser_from_description(described: Mapping[str, Any]) -> ActionParser | None:
    """The env's action parser rebuilt client-side (stop strings, `format_call`, `usage`)."""
    fmt = described.get("action_format")
    if fmt is None:
        return None
    tools = [
        SchemaTool(**{k: t["function"].get(k, "") for k in ("name", "description", "parameters")})
        for t in described.get("tools", [])
    ]
    return make_parser(fmt, Toolset(tools), answer_tag=described.get("answer_tag") or "answer")


class DescribedEnv(Env):
    """An env whose real instance lives elsewhere (a server, a Ray actor), known by `describe_env`.

    Subclasses set `_described` from the remote description; the agent-facing attributes
    (system prompt, tools, action format, parser) are read from it here, once for every client.
    """

    _described: dict[str, Any]
    _parser: ActionParser | None

    @property
    def system_prompt(self) -> str:  # type: ignore[override]
        return str(self._described.get("system_prompt", ""))

    @property
    def action_format(self) -> str | None:
        return self._described.get("action_format")

    @property
    def max_turns(self) -> int | None:
        return self._described.get("max_turns")

    @property
    def tools(self) -> list[dict[str, Any]]:
        """OpenAI function schemas of the env's tools."""
        return list(self._described.get("tools", []))

    @property
    def parser(self) -> ActionParser | None:
        """The env's action parser, rebuilt here (its tools only carry schemas)."""
        if self._parser is None and self._described:
            self._parser = parser_from_description(self._described)
        return self._parser


def _plain(value: Any) -> bool:
    """True for JSON scalars and (nested) lists of them: values that cannot name code."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


class SessionStore:
    """Thread-safe registry of live sessions.

    Args:
        env_ids: the env ids clients may create (registered ids; `X-v0` means `agentgym/X-v0`).
        env_kwargs: server-side constructor kwargs per env id (set by the operator, not clients).
        max_sessions: cap on live sessions; creating one more first evicts idle ones, then fails.
        idle_timeout: seconds without a call after which a session is closed.
        allowed_kwargs: constructor kwargs a client may pass (plain JSON values only).
    """

    def __init__(
        self,
        env_ids: Iterable[str],
        *,
        env_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
        max_sessions: int = 256,
        idle_timeout: float = 600.0,
        allowed_kwargs: Sequence[str] = DEFAULT_ALLOWED_KWARGS,
    ):
        self.env_ids = [full_id(e) for e in env_ids]
        if not self.env_ids:
            raise InvalidConfig(
                "the server needs at least one env id to serve, e.g. `agentgym serve Calculator-v0`"
            )
        if max_sessions < 1:
            raise InvalidConfig(f"max_sessions must be >= 1, got {max_sessions}")
        if idle_timeout <= 0:
            raise InvalidConfig(f"idle_timeout must be > 0 seconds, got {idle_timeout}")
        self.env_kwargs = {full_id(k): dict(v) for k, v in (env_kwargs or {}).items()}
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.allowed_kwargs = frozenset(allowed_kwargs)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._prototypes: dict[tuple[str, str], gymnasium.Env] = {}
        self._proto_lock = threading.Lock()
        self.evicted = 0
        for env_id in self.env_ids:  # fail at start-up, not on the first request, for a typo
            self._prototype(env_id, {})

    # ----------------------------------------------------------------- env construction
    def _check_request(self, env_id: str, kwargs: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
        eid = full_id(str(env_id))
        if eid not in self.env_ids:
            raise SessionNotFound(
                f"env `{env_id}` is not served here; this server serves: {', '.join(self.env_ids)}."
                + did_you_mean(eid, self.env_ids)
            )
        kwargs = dict(kwargs or {})
        for key, value in kwargs.items():
            if key not in self.allowed_kwargs:
                raise InvalidConfig(
                    f"env kwarg `{key}` cannot be set by a client; allowed: {', '.join(sorted(self.allowed_kwargs))}. "
                    "Other kwargs are fixed by the operator (`agentgym serve --env-kwargs`)."
                )
            if not _plain(value):
                raise InvalidConfig(
                    f"env kwarg `{key}` must be a JSON scalar or list, got {type(value).__name__}"
                )
        return eid, kwargs

    def _prototype(self, env_id: str, kwargs: dict[str, Any]) -> gymnasium.Env:
        """A never-reset env per (id, kwargs); new sessions fork it so heavy resources are shared."""
        key = (env_id, repr(sorted(kwargs.items())))
        with self._proto_lock:
            proto = self._prototypes.pop(key, None)
            if proto is None:
                proto = make(env_id, **{**self.env_kwargs.get(env_id, {}), **kwargs})
            self._prototypes[key] = proto  # most recently used last
            # clients choose kwargs, so keep the cache bounded; the operator's defaults stay
            evictable = [k for k in self._prototypes if k[1] != "[]"]
            for k in evictable[: max(0, len(self._prototypes) - MAX_PROTOTYPES)]:
                self._prototypes.pop(k).close()
            return proto

    def _new_env(self, env_id: str, kwargs: dict[str, Any]) -> gymnasium.Env:
        proto = self._prototype(env_id, kwargs)
        try:
            return fork(proto)
        except NotImplementedError:  # envs without state_dict: build a fresh one
            return make(env_id, **{**self.env_kwargs.get(env_id, {}), **kwargs})

    # ----------------------------------------------------------------- session lifecycle
    def create(self, env_id: str, kwargs: Mapping[str, Any] | None = None) -> Session:
        """Make a session (not yet reset); raises SessionLimit when the cap is reached."""
        eid, kw = self._check_request(env_id, kwargs)
        self.evict_idle()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise SessionLimit(
                    f"the server holds its maximum of {self.max_sessions} sessions; close sessions you no "
                    f"longer need (DELETE /v1/sessions/ID), wait for idle ones to expire "
                    f"({self.idle_timeout:g} s), or start the server with a larger --max-sessions"
                )
            sid = secrets.token_urlsafe(16)
            # reserve the slot before building the env, so the cap holds under concurrency
            self._sessions[sid] = placeholder = Session(sid, eid, None, kw)  # type: ignore[arg-type]
        try:
            placeholder.env = self._new_env(eid, kw)
        except BaseException:
            with self._lock:
                self._sessions.pop(sid, None)
            raise
        return placeholder

    def fork(self, session_id: str) -> Session:
        """A new session holding an independent copy of `session_id`'s env at its current state."""
        src = self.get(session_id)
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise SessionLimit(
                    f"the server holds its maximum of {self.max_sessions} sessions; cannot fork"
                )
            sid = secrets.token_urlsafe(16)
            new = self._sessions[sid] = Session(sid, src.env_id, None, dict(src.kwargs))  # type: ignore[arg-type]
        try:
            with src.lock:
                new.env = fork(src.env)
        except BaseException:
            with self._lock:
                self._sessions.pop(sid, None)
            raise
        return new

    def get(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.env is None:
            raise SessionNotFound(
                f"no session `{session_id[:64]}`: it was never created, was closed, or expired after "
                f"{self.idle_timeout:g} s idle; create a new one with POST /v1/sessions"
            )
        session.touch()
        return session

    def close(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            raise SessionNotFound(f"no session `{session_id[:64]}` to close")
        self._close_env(session)

    def _close_env(self, session: Session) -> None:
        if session.env is None:
            return
        with session.lock:
            try:
                session.env.close()
            except Exception as exc:  # closing must never take the server down
                log.warning("closing session %s (%s) failed: %s", session.id, session.env_id, exc)

    def evict_idle(self, now: float | None = None) -> int:
        """Close sessions idle for longer than `idle_timeout`; busy sessions are kept."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stale = [
                s
                for s in self._sessions.values()
                if s.env is not None and now - s.last_used > self.idle_timeout and not s.lock.locked()
            ]
            for s in stale:
                del self._sessions[s.id]
        for s in stale:
            self._close_env(s)
        if stale:
            log.info("evicted %d idle session(s)", len(stale))
        self.evicted += len(stale)
        return len(stale)

    def close_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for s in sessions:
            self._close_env(s)
        with self._proto_lock:
            protos = list(self._prototypes.values())
            self._prototypes.clear()
        for p in protos:
            p.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
