"""The env server: registered agentgym envs over HTTP (FastAPI), one env per session.

Endpoints (all JSON; every error is ``{"error": {"type", "message"}}`` with a 4xx status):

- ``POST /v1/sessions {"env_id", "seed", "options", "env_kwargs"}`` → ``{session_id, observation, info, env}``
- ``POST /v1/sessions/{id}/reset {"seed", "options"}`` → ``{observation, info}``
- ``POST /v1/sessions/{id}/step {"action"}`` → ``{observation, reward, terminated, truncated, info}``
- ``POST /v1/sessions/{id}/fork`` → ``{session_id}`` (an independent copy, for tree rollouts)
- ``DELETE /v1/sessions/{id}``; ``GET /v1/envs``; ``GET /health``
- ``GET /v1/sessions/{id}/oracle`` → ``{action}``, only with ``expose_oracle`` (it reveals answers)
- ``GET /v1/sessions/{id}/tools`` (OpenAI function schemas) and ``POST /v1/sessions/{id}/tools/{name}
  {"arguments"}`` (one tool call outside the turn loop, for agents that run their own loop).

An exception raised by an env becomes a 422 ``env_error`` response naming the exception, so a
buggy env never turns into a 5xx or takes the server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgym.core.registration import env_info
from agentgym.errors import AgentGymError, InvalidConfig
from agentgym.server.sessions import (
    DEFAULT_ALLOWED_KWARGS,
    Session,
    SessionLimit,
    SessionNotFound,
    SessionStore,
    describe_env,
)
from agentgym.tools.base import ToolCall

__all__ = ["ServerConfig", "create_app", "to_jsonable"]

log = logging.getLogger(__name__)

API_PREFIX = "/v1"


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Settings of one env server (the CLI builds this from its flags)."""

    env_ids: tuple[str, ...]
    """Env ids clients may create sessions of."""
    env_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Operator-set constructor kwargs per env id."""
    token: str | None = None
    """Bearer token every /v1 request must carry; None disables auth (loopback only)."""
    max_sessions: int = 256
    """Cap on live sessions; one more gets 429."""
    idle_timeout: float = 600.0
    """Seconds without a call after which a session is closed."""
    max_body_bytes: int = 1 << 20
    """Largest accepted request body (413 above)."""
    allowed_kwargs: tuple[str, ...] = DEFAULT_ALLOWED_KWARGS
    """Constructor kwargs a client may set per session."""
    sweep_interval: float = 30.0
    """Seconds between idle-session sweeps."""
    expose_oracle: bool = False
    """Serve the scripted expert's next action (it reveals answers: only for trusted trainers)."""


# ----------------------------------------------------------------------------- JSON
def to_jsonable(value: Any) -> Any:
    """Plain JSON types for an env's output: numpy scalars/arrays, tuples, dataclasses, NaN.

    Non-finite floats become the strings "nan"/"inf"/"-inf" so any JSON parser reads the reply.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    for attr in ("tolist", "to_dict"):  # numpy, Task and record types
        fn = getattr(value, attr, None)
        if callable(fn):
            return to_jsonable(fn())
    return str(value)


def _reply(payload: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(to_jsonable(payload), ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")


def _error(status: int, kind: str, message: str) -> Response:
    return _reply({"error": {"type": kind, "message": message}}, status)


# ----------------------------------------------------------------------------- request bodies
class CreateSession(BaseModel):
    env_id: str = Field(max_length=200, description="a served env id, e.g. agentgym/Calculator-v0")
    seed: int | None = Field(default=None, description="reset seed (picks the task)")
    options: dict[str, Any] | None = Field(default=None, description='reset options, e.g. {"task": ...}')
    env_kwargs: dict[str, Any] | None = Field(default=None, description="allowed constructor kwargs only")


class ResetBody(BaseModel):
    seed: int | None = None
    options: dict[str, Any] | None = None


class StepBody(BaseModel):
    action: Any = Field(description="the agent's action (text for agentgym envs)")


class ToolBody(BaseModel):
    arguments: dict[str, Any] = Field(default_factory=dict)


# ----------------------------------------------------------------------------- middleware
class Guard:
    """ASGI middleware: bearer-token auth on /v1 routes, and a request-body size cap (413).

    Pure ASGI rather than `@app.middleware("http")`, which costs about a millisecond per request.
    """

    def __init__(self, app: ASGIApp, limit: int, token: str | None):
        self.app = app
        self.limit = limit
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        if self.expected is not None and scope["path"].startswith(API_PREFIX):
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                unauthorized = _error(
                    401, "unauthorized", "missing or wrong bearer token: send `Authorization: Bearer <token>`"
                )
                return await unauthorized(scope, receive, send)
        too_big = _error(413, "payload_too_large", f"request bodies are limited to {self.limit} bytes")
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await too_big(scope, receive, send)
        if declared is not None:  # uvicorn stops a body at its Content-Length
            return await self.app(scope, receive, send)
        # chunked body: read it here, up to the limit, then replay it to the app
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await too_big(scope, receive, send)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# ----------------------------------------------------------------------------- the app
def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()[:5]
        )
        return _error(422, "invalid_request", f"the request body does not match the schema ({problems})")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(SessionNotFound)
    async def not_found(_: Request, exc: SessionNotFound) -> Response:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(SessionLimit)
    async def limit(_: Request, exc: SessionLimit) -> Response:
        return _error(429, "too_many_sessions", str(exc))

    @app.exception_handler(InvalidConfig)
    async def bad_config(_: Request, exc: InvalidConfig) -> Response:
        return _error(400, "invalid_config", str(exc))

    @app.exception_handler(AgentGymError)
    async def agentgym_error(_: Request, exc: AgentGymError) -> Response:
        return _error(422, type(exc).__name__, str(exc))


def _env_call(session: Session, fn: Callable[[], dict[str, Any]]) -> Response:
    """Run `fn` under the session lock; an env exception becomes a 422 reply, not a 5xx."""
    with session.lock:
        try:
            reply = _reply(fn())  # rendering inside: an unserialisable info is the env's error too
        except Exception as exc:  # the env's bug is the client's error report, not the server's crash
            log.warning("env %s raised in session %s: %r", session.env_id, session.id, exc)
            return _error(422, "env_error", f"{session.env_id} raised {type(exc).__name__}: {exc}")
    session.touch()
    return reply


def _reset(session: Session, seed: int | None, options: dict[str, Any] | None) -> dict[str, Any]:
    obs, info = session.env.reset(seed=seed, options=options)
    return {"observation": obs, "info": info}


def create_app(config: ServerConfig, store: SessionStore | None = None) -> FastAPI:
    """Build the FastAPI app for `config` (tests pass it to TestClient; the CLI to uvicorn)."""
    store = store or SessionStore(
        config.env_ids,
        env_kwargs=config.env_kwargs,
        max_sessions=config.max_sessions,
        idle_timeout=config.idle_timeout,
        allowed_kwargs=config.allowed_kwargs,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        async def sweep() -> None:
            while True:
                await asyncio.sleep(config.sweep_interval)
                await asyncio.to_thread(store.evict_idle)

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            store.close_all()

    app = FastAPI(title="agentgym env server", version="1", lifespan=lifespan)
    app.state.store = store
    app.state.config = config
    _install_error_handlers(app)

    app.add_middleware(Guard, limit=config.max_body_bytes, token=config.token)
    _add_routes(app, store, expose_oracle=config.expose_oracle)
    return app


def _add_routes(app: FastAPI, store: SessionStore, *, expose_oracle: bool) -> None:
    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "sessions": len(store), "max_sessions": store.max_sessions}

    @app.get(API_PREFIX + "/envs")
    def envs() -> dict[str, Any]:
        out = []
        for eid in store.env_ids:
            info = env_info(eid)
            out.append({"id": eid, "description": info.description, "tools": list(info.tools)})
        return {"envs": out, "allowed_kwargs": sorted(store.allowed_kwargs)}

    @app.post(API_PREFIX + "/sessions")
    def create(body: CreateSession) -> Response:
        try:
            session = store.create(body.env_id, body.env_kwargs)
        except (SessionNotFound, SessionLimit, InvalidConfig):
            raise  # answered by the handlers (404, 429, 400)
        except Exception as exc:  # the env's constructor rejected the client's kwargs
            return _error(422, "env_error", f"{body.env_id} could not be built: {type(exc).__name__}: {exc}")

        def run() -> dict[str, Any]:
            out = _reset(session, body.seed, body.options)
            return {"session_id": session.id, **out, "env": describe_env(session.env)}

        reply = _env_call(session, run)
        if reply.status_code != 200:  # a session whose first reset failed is of no use
            with contextlib.suppress(SessionNotFound):
                store.close(session.id)
        return reply

    @app.post(API_PREFIX + "/sessions/{session_id}/reset")
    def reset(session_id: str, body: ResetBody | None = None) -> Response:
        body = body or ResetBody()
        session = store.get(session_id)
        return _env_call(session, lambda: _reset(session, body.seed, body.options))

    @app.post(API_PREFIX + "/sessions/{session_id}/step")
    def step(session_id: str, body: StepBody) -> Response:
        session = store.get(session_id)

        def run() -> dict[str, Any]:
            obs, reward, terminated, truncated, info = session.env.step(body.action)
            session.steps += 1
            return {
                "observation": obs,
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
                "info": info,
            }

        return _env_call(session, run)

    @app.post(API_PREFIX + "/sessions/{session_id}/fork")
    def fork_session(session_id: str) -> Response:
        try:
            new = store.fork(session_id)
        except NotImplementedError as exc:
            return _error(422, "env_error", f"this env cannot be forked: {exc}")
        return _reply({"session_id": new.id})

    @app.get(API_PREFIX + "/sessions/{session_id}/oracle")
    def oracle(session_id: str) -> Response:
        if not expose_oracle:
            return _error(
                403, "forbidden", "the expert's actions reveal answers; start the server with --expose-oracle"
            )
        session = store.get(session_id)
        return _env_call(session, lambda: {"action": session.env.unwrapped.oracle_action()})

    @app.delete(API_PREFIX + "/sessions/{session_id}")
    def close(session_id: str) -> dict[str, Any]:
        store.close(session_id)
        return {"closed": session_id}

    @app.get(API_PREFIX + "/sessions/{session_id}/tools")
    def tools(session_id: str) -> Response:
        session = store.get(session_id)
        return _reply({"tools": describe_env(session.env)["tools"]})

    @app.post(API_PREFIX + "/sessions/{session_id}/tools/{name}")
    def call_tool(session_id: str, name: str, body: ToolBody) -> Response:
        session = store.get(session_id)
        toolset = getattr(session.env.unwrapped, "toolset", None)
        if toolset is None or name not in toolset:
            known = ", ".join(toolset or []) or "(none)"
            return _error(404, "not_found", f"no tool `{name[:64]}` in {session.env_id}; its tools: {known}")
        return _env_call(session, lambda: toolset.call(ToolCall(name, body.arguments)).to_dict())
