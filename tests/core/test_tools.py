"""`@tool` schemas come from type hints and docstrings; calls never raise."""

from __future__ import annotations

import time
from typing import Literal

from agentgym.tools.base import ToolCall, ToolResult, Toolset, tool


@tool
def greet(name: str, times: int = 1, style: Literal["plain", "loud"] = "plain") -> str:
    """Greet someone.

    Args:
        name: who to greet.
        times: how many times.
        style: plain or loud.
    """
    text = " ".join([f"hello {name}"] * times)
    return text.upper() if style == "loud" else text


@tool(timeout=0.2)
def slow(seconds: float) -> str:
    """Sleep, then answer.

    Args:
        seconds: how long to sleep.
    """
    time.sleep(seconds)
    return "done"


@tool
def broken(x: int) -> str:
    """Always fails.

    Args:
        x: ignored.
    """
    raise RuntimeError("boom")


def test_schema_from_hints_and_docstring() -> None:
    assert greet.name == "greet"
    assert greet.description == "Greet someone."
    props = greet.parameters["properties"]
    assert props["name"] == {"type": "string", "description": "who to greet."}
    assert props["times"]["type"] == "integer" and props["times"]["default"] == 1
    assert props["style"]["enum"] == ["plain", "loud"]
    assert greet.parameters["required"] == ["name"]


def test_call_validates_and_never_raises() -> None:
    assert greet(name="ann", times=2).content == "hello ann hello ann"
    assert "must be integer" in greet(name="ann", times="2").error
    assert "missing required" in greet().error
    assert "unknown argument `nme`" in greet(nme="x").error
    assert "Did you mean `name`" in greet(nme="x").error
    assert greet(name="a", style="quiet").error is not None
    assert "boom" in broken(x=1).error


def test_timeout_returns_error() -> None:
    t0 = time.perf_counter()
    result = slow(seconds=2.0)
    assert result.error is not None and "timed out" in result.error
    assert time.perf_counter() - t0 < 1.5
    assert slow(seconds=0.0).content == "done"


def test_toolset_dispatch_schemas_and_concurrency() -> None:
    ts = Toolset([greet, slow, broken])
    assert ts.call(ToolCall("gret", {"name": "x"})).error.startswith("unknown tool `gret`")
    assert "Did you mean `greet`" in ts.call(ToolCall("gret", {})).error
    assert ts.call(ToolCall("greet", "notadict")).error  # type: ignore[arg-type]
    schemas = ts.openai_schemas()
    assert [s["function"]["name"] for s in schemas] == ["greet", "slow", "broken"]
    assert ts.mcp_tools()[0]["inputSchema"]["required"] == ["name"]
    t0 = time.perf_counter()
    results = ts.call_many([ToolCall("slow", {"seconds": 0.15}) for _ in range(4)])
    assert all(r.content == "done" for r in results)
    assert time.perf_counter() - t0 < 0.5  # ran concurrently, not 4 x 0.15 s


def test_tool_result_render() -> None:
    assert ToolResult(content="x").render() == "x"
    assert ToolResult(error="bad").render() == "Error: bad"
