"""Fixtures for the evaluation tests: a private cache dir and a scripted OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in GAIA set is generated into a per-session cache, never the user's."""
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path_factory.getbasetemp() / "agentgym-cache"))


@pytest.fixture(scope="module")
def openai_server() -> Iterator:
    """A deterministic chat 'model' on 127.0.0.1 (random port), 20 ms per call."""
    pytest.importorskip("fastapi", reason="the scripted server needs the server extra")
    pytest.importorskip("uvicorn", reason="the scripted server needs the server extra")
    from agentgym.eval.scripted_server import scripted_chat_server

    with scripted_chat_server(delay_s=0.02) as server:
        yield server
