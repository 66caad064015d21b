"""The three action formats parse tool calls and answers, and explain what is wrong."""

from __future__ import annotations

import json

import pytest

from agentgym.core.parsing import make_parser
from agentgym.tools.base import ToolCall, Toolset, tool
from agentgym.tools.calculator import calculator


@tool
def search(query: str) -> str:
    """Search.

    Args:
        query: the query.
    """
    return query


@tool
def move(x: int, y: int) -> str:
    """Move.

    Args:
        x: column.
        y: row.
    """
    return f"{x},{y}"


TOOLS = Toolset([search, move, calculator])


def test_xml_primary_argument_json_arguments_and_thinking() -> None:
    p = make_parser("xml", TOOLS)
    got = p.parse("<think>hmm <b>x</b></think> <search> who wrote it </search>")
    assert got.tool_calls == [ToolCall("search", {"query": "who wrote it"}, id="call_0")]
    got = p.parse('<move>{"x": 1, "y": 2}</move><search>a</search>')
    assert [c.name for c in got.tool_calls] == ["move", "search"] and got.tool_calls[0].arguments == {
        "x": 1,
        "y": 2,
    }
    assert p.parse("reasoning <answer> Paris </answer>").answer == "Paris"
    assert "JSON object" in p.parse("<move>1,2</move>").error
    assert "at most 4" in p.parse("<search>a</search>" * 5).error


def test_xml_round_trip_of_format_call() -> None:
    p = make_parser("xml", TOOLS)
    for call in [ToolCall("search", {"query": "q"}), ToolCall("move", {"x": 3, "y": 4})]:
        assert p.parse(p.format_call(call)).tool_calls[0].arguments == call.arguments


def test_json_format() -> None:
    p = make_parser("json", TOOLS)
    action = '<tool_call>{"name": "search", "arguments": {"query": "q"}}</tool_call>'
    assert p.parse(action).tool_calls[0] == ToolCall("search", {"query": "q"}, id="call_0")
    stringified = '<tool_call>{"name": "search", "arguments": "{\\"query\\": \\"q\\"}"}</tool_call>'
    assert p.parse(stringified).tool_calls[0].arguments == {"query": "q"}
    assert "JSON object" in p.parse("<tool_call>{oops}</tool_call>").error
    assert "name" in p.parse('<tool_call>{"arguments": {}}</tool_call>').error
    assert p.parse("<answer>4</answer>").answer == "4"


def test_openai_format() -> None:
    p = make_parser("openai", TOOLS)
    msg = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c9", "type": "function", "function": {"name": "search", "arguments": '{"query": "q"}'}}
        ],
    }
    assert p.parse(json.dumps(msg)).tool_calls == [ToolCall("search", {"query": "q"}, id="c9")]
    assert p.parse(json.dumps({"role": "assistant", "content": "It is 4."})).answer == "It is 4."
    assert p.parse("plain text answer").answer == "plain text answer"
    assert p.parse(json.dumps({"content": ""})).error
    assert (
        "valid JSON"
        in p.parse(json.dumps({"tool_calls": [{"function": {"name": "search", "arguments": "{"}}]})).error
    )
    obs = json.loads(p.wrap_observation([(ToolCall("search", {}, id="c9"), "result")]))
    assert obs == [{"role": "tool", "tool_call_id": "c9", "content": "result"}]


@pytest.mark.parametrize("fmt", ["xml", "json", "openai"])
def test_non_text_actions_are_errors(fmt: str) -> None:
    assert make_parser(fmt, TOOLS).parse(123).error  # type: ignore[arg-type]
