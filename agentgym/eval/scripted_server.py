"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests, benchmarks and smoke tests.

`scripted_chat_server(reply)` starts a FastAPI app (uvicorn, random free port, own thread) whose
`/v1/chat/completions` answers with `reply(messages)` after an optional delay, and counts
requests and the largest number in flight — so a test can prove an eval was concurrent without
a real model. Needs the `server` extra (fastapi, uvicorn).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ScriptedServer", "calculator_then_answer", "scripted_chat_server"]


@dataclass
class ScriptedServer:
    """Handle of a running scripted server: its base URL and request statistics."""

    url: str
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def calculator_then_answer(messages: list[dict[str, Any]]) -> str:
    """A deterministic 'model': a calculator call on the first two numbers it sees, then that result."""
    if len(messages) <= 2:
        nums = re.findall(r"\d+", str(messages[-1]["content"]))[:2] or ["1"]
        return f"<calculator>{' + '.join(nums)}</calculator>"
    found = re.findall(r"<information>(.*?)</information>", str(messages[-1]["content"]), re.S)
    return f"<answer>{found[0].strip() if found else '0'}</answer>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scripted_chat_server(
    reply: Callable[[list[dict[str, Any]]], str] = calculator_then_answer,
    *,
    delay_s: float = 0.0,
    startup_timeout_s: float = 20.0,
) -> Iterator[ScriptedServer]:
    """Run the server for the duration of the `with` block."""
    import fastapi
    import uvicorn

    port = _free_port()
    state = ScriptedServer(url=f"http://127.0.0.1:{port}/v1")
    app = fastapi.FastAPI()

    @app.post("/v1/chat/completions")
    def chat(body: dict) -> dict:  # a sync handler runs on the server's thread pool, so calls overlap
        with state.lock:
            state.requests += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            time.sleep(delay_s)
            text = reply(body["messages"])
        finally:
            with state.lock:
                state.in_flight -= 1
        usage = {
            "prompt_tokens": sum(len(str(m.get("content") or "").split()) for m in body["messages"]),
            "completion_tokens": len(text.split()),
        }
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return {
            "object": "chat.completion",
            "model": body.get("model", "scripted"),
            "choices": [choice],
            "usage": usage,
        }

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="agentgym-scripted-server")
    thread.start()
    deadline = time.time() + startup_timeout_s
    while not server.started and time.time() < deadline and thread.is_alive():
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError(
            f"the scripted chat server did not start on port {port} within {startup_timeout_s} s"
        )
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
