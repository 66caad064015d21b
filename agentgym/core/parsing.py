"""Action parsers: turn an agent's text into tool calls or a final answer.

Three formats, chosen per env instance:

- ``xml``: ``<search>query</search>``, ``<python>code</python>``, ``<answer>...</answer>`` (Search-R1 /
  ARPO). A tool with one required string argument takes the tag's text as that argument; other tools
  take a JSON object of arguments inside the tag.
- ``json``: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (Hermes / Qwen), answer in
  ``<answer>`` tags.
- ``openai``: the assistant message of an OpenAI-compatible chat API, serialised as JSON
  (``{"content": ..., "tool_calls": [...]}``); a message without tool calls is the final answer.

A parser never raises on agent text: problems come back as `ParsedAction.error`, which the env
shows to the agent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agentgym.tools.base import Tool, ToolCall, primary_argument

__all__ = ["ActionFormat", "ActionParser", "ParsedAction", "make_parser"]

ActionFormat = Literal["xml", "json", "openai"]
FORMATS: tuple[str, ...] = ("xml", "json", "openai")


@dataclass
class ParsedAction:
    """What an action asked for. Exactly one of tool_calls / answer / error is meaningful."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    answer: str | None = None
    error: str | None = None


def _tag_pattern(tags: Sequence[str]) -> re.Pattern[str]:
    alt = "|".join(re.escape(t) for t in tags)
    return re.compile(rf"<({alt})>(.*?)</\1>", re.S)


class ActionParser:
    """Base parser; subclasses implement `parse` and `wrap_observation`."""

    format: str = ""

    def __init__(self, tools: Mapping[str, Tool], answer_tag: str = "answer", max_calls: int = 4):
        self.tools = tools
        self.answer_tag = answer_tag
        self.max_calls = max_calls

    def parse(self, action: str) -> ParsedAction:
        raise NotImplementedError

    def wrap_observation(self, results: Sequence[tuple[ToolCall, str]]) -> str:
        raise NotImplementedError

    def format_call(self, call: ToolCall) -> str:
        """Render a tool call as an action string of this format (for oracles and demos)."""
        raise NotImplementedError

    def format_answer(self, answer: str) -> str:
        return f"<{self.answer_tag}>{answer}</{self.answer_tag}>"

    def usage(self) -> str:
        """A one-paragraph reminder of the format, shown after a malformed action."""
        raise NotImplementedError

    def _check_balance(self, action: str, tags: Sequence[str]) -> str | None:
        for t in tags:
            opens, closes = action.count(f"<{t}>"), action.count(f"</{t}>")
            if opens != closes:
                return f"unbalanced <{t}> tags ({opens} opening, {closes} closing)"
        return None


class XMLParser(ActionParser):
    format = "xml"

    def __init__(self, tools: Mapping[str, Tool], answer_tag: str = "answer", max_calls: int = 4):
        super().__init__(tools, answer_tag, max_calls)
        self._tags = [*tools, answer_tag]
        self._primary = {name: primary_argument(t) for name, t in tools.items()}
        self._pattern = _tag_pattern(self._tags)
        self._any_tag = re.compile(r"<([A-Za-z_][\w\-]*)>(.*?)</\1>", re.S)

    def parse(self, action: str) -> ParsedAction:
        if not isinstance(action, str):
            return ParsedAction(error=f"an action must be text, got {type(action).__name__}")
        problem = self._check_balance(action, self._tags)
        if problem:
            return ParsedAction(error=problem)
        matches = self._pattern.findall(action)
        if not matches:
            other = [m[0] for m in self._any_tag.findall(action) if m[0] not in ("think", "thinking")]
            if other:
                return ParsedAction(error=f"unknown tool `<{other[0]}>`; available: {', '.join(self._tags)}")
            return ParsedAction(error="no tool call and no answer found")
        answers = [body for tag, body in matches if tag == self.answer_tag]
        if answers:
            return ParsedAction(answer=answers[0].strip())
        if len(matches) > self.max_calls:
            return ParsedAction(error=f"at most {self.max_calls} tool calls per turn, got {len(matches)}")
        calls = []
        for i, (tag, body) in enumerate(matches):
            arg = self._primary[tag]
            if arg is not None:
                calls.append(ToolCall(tag, {arg: body.strip()}, id=f"call_{i}"))
                continue
            try:
                args = json.loads(body) if body.strip() else {}
            except json.JSONDecodeError as exc:
                return ParsedAction(error=f"<{tag}> takes a JSON object of arguments: {exc.msg}")
            calls.append(ToolCall(tag, args if isinstance(args, dict) else {"_": args}, id=f"call_{i}"))
        return ParsedAction(tool_calls=calls)

    def wrap_observation(self, results: Sequence[tuple[ToolCall, str]]) -> str:
        return "\n".join(f"<information>{text}</information>" for _, text in results)

    def format_call(self, call: ToolCall) -> str:
        arg = self._primary.get(call.name)
        body = (
            str(call.arguments[arg])
            if arg is not None and set(call.arguments) == {arg}
            else json.dumps(dict(call.arguments))
        )
        return f"<{call.name}>{body}</{call.name}>"

    def usage(self) -> str:
        tools = " ".join(f"<{t}>...</{t}>" for t in self.tools)
        return f"Call a tool with {tools}, or give the final answer with <{self.answer_tag}>...</{self.answer_tag}>."


class JSONParser(ActionParser):
    format = "json"
    _call = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)

    def parse(self, action: str) -> ParsedAction:
        if not isinstance(action, str):
            return ParsedAction(error=f"an action must be text, got {type(action).__name__}")
        problem = self._check_balance(action, ["tool_call", self.answer_tag])
        if problem:
            return ParsedAction(error=problem)
        answer = re.search(
            rf"<{re.escape(self.answer_tag)}>(.*?)</{re.escape(self.answer_tag)}>", action, re.S
        )
        if answer:
            return ParsedAction(answer=answer.group(1).strip())
        bodies = self._call.findall(action)
        if not bodies:
            return ParsedAction(error="no tool call and no answer found")
        if len(bodies) > self.max_calls:
            return ParsedAction(error=f"at most {self.max_calls} tool calls per turn, got {len(bodies)}")
        calls = []
        for i, body in enumerate(bodies):
            try:
                obj = json.loads(body)
            except json.JSONDecodeError as exc:
                return ParsedAction(error=f"<tool_call> must hold a JSON object: {exc.msg} at char {exc.pos}")
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                return ParsedAction(error='<tool_call> must hold {"name": <tool name>, "arguments": {...}}')
            args = obj.get("arguments", {})
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    return ParsedAction(error="`arguments` must be a JSON object")
            calls.append(
                ToolCall(obj["name"], args if isinstance(args, dict) else {"_": args}, id=f"call_{i}")
            )
        return ParsedAction(tool_calls=calls)

    def wrap_observation(self, results: Sequence[tuple[ToolCall, str]]) -> str:
        return "\n".join(f"<tool_response>{text}</tool_response>" for _, text in results)

    def format_call(self, call: ToolCall) -> str:
        return (
            "<tool_call>"
            + json.dumps({"name": call.name, "arguments": dict(call.arguments)})
            + "</tool_call>"
        )

    def usage(self) -> str:
        return (
            'Call a tool with <tool_call>{"name": "<tool>", "arguments": {...}}</tool_call>, '
            f"or give the final answer with <{self.answer_tag}>...</{self.answer_tag}>."
        )


class OpenAIParser(ActionParser):
    format = "openai"

    def parse(self, action: str) -> ParsedAction:
        if not isinstance(action, str):
            return ParsedAction(error=f"an action must be text, got {type(action).__name__}")
        try:
            msg: Any = json.loads(action)
        except json.JSONDecodeError:
            msg = {"content": action}
        if not isinstance(msg, dict):
            return ParsedAction(error="an openai-format action is a JSON assistant message object")
        tool_calls = msg.get("tool_calls") or []
        if not tool_calls:
            content = msg.get("content")
            if not isinstance(content, str) or not content.strip():
                return ParsedAction(error="empty message: call a tool or answer")
            m = re.search(
                rf"<{re.escape(self.answer_tag)}>(.*?)</{re.escape(self.answer_tag)}>", content, re.S
            )
            return ParsedAction(answer=(m.group(1) if m else content).strip())
        if not isinstance(tool_calls, list):
            return ParsedAction(error="`tool_calls` must be a list")
        if len(tool_calls) > self.max_calls:
            return ParsedAction(error=f"at most {self.max_calls} tool calls per turn, got {len(tool_calls)}")
        calls = []
        for i, tc in enumerate(tool_calls):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                return ParsedAction(error="each tool call needs function.name and function.arguments")
            args = fn.get("arguments", "{}")
            try:
                args = json.loads(args) if isinstance(args, str) else args
            except json.JSONDecodeError as exc:
                return ParsedAction(error=f"function.arguments is not valid JSON: {exc.msg}")
            calls.append(
                ToolCall(
                    fn["name"],
                    args if isinstance(args, dict) else {"_": args},
                    id=str(tc.get("id") or f"call_{i}"),
                )
            )
        return ParsedAction(tool_calls=calls)

    def wrap_observation(self, results: Sequence[tuple[ToolCall, str]]) -> str:
        return json.dumps([{"role": "tool", "tool_call_id": c.id, "content": text} for c, text in results])

    def format_call(self, call: ToolCall) -> str:
        return json.dumps(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id or "call_0",
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))},
                    }
                ],
            }
        )

    def format_answer(self, answer: str) -> str:
        return json.dumps({"role": "assistant", "content": answer})

    def usage(self) -> str:
        return (
            "Reply with an assistant message: tool_calls to use a tool, or plain content as the final answer."
        )


_PARSERS: dict[str, type[ActionParser]] = {"xml": XMLParser, "json": JSONParser, "openai": OpenAIParser}


def make_parser(
    fmt: str, tools: Mapping[str, Tool], answer_tag: str = "answer", max_calls: int = 4
) -> ActionParser:
    """Build the parser for an action format name."""
    from agentgym.errors import InvalidConfig, did_you_mean

    if fmt not in _PARSERS:
        raise InvalidConfig(
            f"action_format must be one of {FORMATS}, got {fmt!r}." + did_you_mean(str(fmt), FORMATS)
        )
    return _PARSERS[fmt](tools, answer_tag=answer_tag, max_calls=max_calls)
