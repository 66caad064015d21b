"""Fixtures for the env-server tests: test-only envs and a live loopback uvicorn server."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the server tests need the `server` extra (fastapi, uvicorn)")
uvicorn = pytest.importorskip("uvicorn", reason="the server tests need the `server` extra (uvicorn)")

import agentgym  # noqa: E402
from agentgym.envs.calculator import CalculatorEnv  # noqa: E402
from agentgym.server.app import ServerConfig, create_app  # noqa: E402


class BrokenEnv(CalculatorEnv):
    """Raises on the action `boom` (an env bug the server must turn into a 4xx)."""

    def step(self, action):
        if action == "boom":
            raise ZeroDivisionError("the env divided by zero")
        return super().step(action)


class SlowEnv(CalculatorEnv):
    """Sleeps in `step` and records how many steps of *this class* overlap in time."""

    active = 0
    peak = 0
    guard = threading.Lock()

    def step(self, action):
        cls = type(self)
        with cls.guard:
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
        try:
            time.sleep(0.02)
            return super().step(action)
        finally:
            with cls.guard:
                cls.active -= 1


agentgym.register("TestBroken-v0", BrokenEnv, description="test env that raises on `boom`")
agentgym.register("TestSlow-v0", SlowEnv, description="test env with a 20 ms step")


@contextlib.contextmanager
def live_server(target: ServerConfig | Any) -> Iterator[str]:
    """Run an env server (from its config) or any ASGI app under uvicorn on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(target) if isinstance(target, ServerConfig) else target,
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def calc_server() -> Iterator[str]:
    with live_server(ServerConfig(env_ids=("Calculator-v0",))) as url:
        yield url


@pytest.fixture(scope="session")
def serve_live():
    """`live_server` as a fixture (test modules cannot import conftest under pytest's default import mode)."""
    return live_server


@pytest.fixture(scope="session")
def slow_env():
    return SlowEnv
