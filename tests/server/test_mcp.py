"""MCP: the `mcp` package's own client lists and calls agentgym tools (in-process, stdio, HTTP)."""

from __future__ import annotations

import socket
import sys
import threading
import time

import anyio
import pytest

mcp = pytest.importorskip("mcp", reason="the MCP tests need the `server` extra (mcp)")
uvicorn = pytest.importorskip("uvicorn", reason="the MCP HTTP test needs uvicorn")

import agentgym  # noqa: E402
from agentgym.server.mcp_server import build_mcp_server  # noqa: E402


async def _exercise_calculator(client: mcp.Client) -> str:
    """Lists and calls the calculator (good, wrong-typed and unknown calls); returns the good result."""
    tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == ["calculator"]
    assert tools[0].input_schema["required"] == ["expression"]
    ok = await client.call_tool("calculator", {"expression": "(17 + 4) * 2"})
    assert not ok.is_error and ok.content[0].text == "42"
    bad = await client.call_tool("calculator", {"expression": 5})
    assert bad.is_error and "must be string" in bad.content[0].text
    unknown = await client.call_tool("nosuch", {})
    assert unknown.is_error and "available tools: calculator" in unknown.content[0].text
    return ok.content[0].text


def test_in_process_client_lists_and_calls_calculator():
    async def main() -> str:
        async with mcp.Client(build_mcp_server("Calculator-v0")) as client:
            return await _exercise_calculator(client)

    assert anyio.run(main) == "42"


def test_stdio_transport_via_cli():
    params = mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "agentgym", "mcp", "Calculator-v0"]
    )

    async def main() -> str:
        async with mcp.Client(params) as client:
            return await _exercise_calculator(client)

    assert anyio.run(main) == "42"


def test_streamable_http_transport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = build_mcp_server("Calculator-v0")
    web = uvicorn.Server(
        uvicorn.Config(
            server.streamable_http_app(host="127.0.0.1"), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not web.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:

        async def main() -> str:
            async with mcp.Client(f"http://127.0.0.1:{port}/mcp") as client:
                return await _exercise_calculator(client)

        assert anyio.run(main) == "42"
    finally:
        web.should_exit = True
        thread.join(timeout=10)


def test_search_tool_over_mcp():
    if "agentgym/SearchQA-v0" not in {e.id for e in agentgym.list_envs()}:
        pytest.skip("agentgym/SearchQA-v0 is not registered in this tree (the search issue provides it)")
    env = agentgym.make("agentgym/SearchQA-v0")
    env.reset(seed=0)
    tool = next(iter(env.unwrapped.toolset.values()))
    query_arg = tool.parameters["required"][0]
    question = env.unwrapped.task.prompt

    async def main() -> None:
        async with mcp.Client(build_mcp_server("SearchQA-v0")) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            assert tool.name in names
            out = await client.call_tool(tool.name, {query_arg: question})
            assert not out.is_error and out.content[0].text.strip()
            assert out.content[0].text == tool(**{query_arg: question}).render()

    anyio.run(main)


def test_one_env_per_handshake_session_and_one_per_stdio_process(monkeypatch):
    from agentgym.server import mcp_server

    made: list = []
    original = mcp_server.McpEnvTools._make

    def counting(self):
        env = original(self)
        made.append(env)
        return env

    monkeypatch.setattr(mcp_server.McpEnvTools, "_make", counting)
    server = build_mcp_server("Calculator-v0")
    made.clear()

    async def main() -> None:
        for _ in range(2):  # two handshake-era sessions, three calls each
            async with mcp.Client(server, mode="legacy") as client:
                for _ in range(3):
                    await client.call_tool("calculator", {"expression": "1+1"})

    anyio.run(main)
    assert len(made) == 2
    tools = mcp_server.McpEnvTools("Calculator-v0", single_session=True)
    assert tools.env_for(tools) is tools.env_for(tools)
