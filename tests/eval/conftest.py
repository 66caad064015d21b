"""Fixtures for the evaluation tests: a private cache dir and a fake OpenAI-compatible server."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in GAIA set is generated into a per-session cache, never the user's."""
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path_factory.getbasetemp() / "agentgym-cache"))


@dataclass
class FakeServer:
    url: str
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def deterministic_reply(messages: list[dict]) -> str:
    """A deterministic 'model': first a calculator call on the numbers it sees, then the answer."""
    if len(messages) <= 2:
        nums = re.findall(r"\d+", messages[-1]["content"])[:2] or ["1"]
        return f"<calculator>{' + '.join(nums)}</calculator>"
    found = re.findall(r"<information>(.*?)</information>", messages[-1]["content"], re.S)
    return f"<answer>{found[0].strip() if found else '0'}</answer>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeServer]:
    """A tiny FastAPI app speaking /v1/chat/completions on 127.0.0.1 (random port), 20 ms per call."""
    fastapi = pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    port = _free_port()
    state = FakeServer(url=f"http://127.0.0.1:{port}/v1")
    app = fastapi.FastAPI()

    @app.post("/v1/chat/completions")
    def chat(body: dict) -> dict:  # sync handler: FastAPI runs it on its thread pool, so calls overlap
        with state.lock:
            state.requests += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        time.sleep(0.02)
        text = deterministic_reply(body["messages"])
        with state.lock:
            state.in_flight -= 1
        usage = {"prompt_tokens": sum(len(m["content"].split()) for m in body["messages"]), "completion_tokens": len(text.split())}
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": usage}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the fake OpenAI server did not start"
    yield state
    server.should_exit = True
    thread.join(timeout=10)
