"""The tool protocol, the `@tool` decorator and `Toolset`.

A tool is a typed function with a docstring. Its JSON schema comes from the type hints, its
descriptions from the Google-style docstring, so one definition serves the env's system
prompt, OpenAI function calling and MCP. Calling a tool never raises: bad arguments,
exceptions and timeouts come back as `ToolResult(error=...)`, which the env turns into an
observation.
"""

from __future__ import annotations

import concurrent.futures as cf
import inspect
import re
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from agentgym.errors import did_you_mean

__all__ = [
    "FunctionTool",
    "Tool",
    "ToolCall",
    "ToolResult",
    "Toolset",
    "tool",
]

_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    tuple: "array",
    dict: "object",
}


@dataclass
class ToolResult:
    """The outcome of one tool call: text for the agent, or an error that says what went wrong."""

    content: str = ""
    error: str | None = None
    data: Any = None
    truncated: bool = False
    latency_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def render(self) -> str:
        """Text shown to the agent."""
        return self.content if self.error is None else f"Error: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        return {"content": self.content, "error": self.error, "truncated": self.truncated}


@dataclass(frozen=True)
class ToolCall:
    """A parsed request to call `name` with `arguments`; `id` pairs it with its result."""

    name: str
    arguments: Mapping[str, Any]
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": dict(self.arguments)}


@runtime_checkable
class Tool(Protocol):
    """What an environment needs from a tool."""

    name: str
    description: str
    parameters: dict[str, Any]

    def __call__(self, **kwargs: Any) -> ToolResult: ...


def _json_schema(annotation: Any) -> dict[str, Any]:
    """JSON schema of a type hint (the subset tools use)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _json_schema(non_none[0])
        return {"anyOf": [_json_schema(a) for a in non_none]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, Sequence, typing.Sequence):
        schema: dict[str, Any] = {"type": "array"}
        if args:
            schema["items"] = _json_schema(args[0])
        return schema
    if origin in (dict, Mapping, typing.Mapping):
        return {"type": "object"}
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    return {}


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (summary, {arg: description})."""
    doc = inspect.cleandoc(doc or "")
    summary_lines: list[str] = []
    params: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if re.fullmatch(r"(Args|Arguments|Parameters):", stripped):
            section, current = "args", None
            continue
        if re.fullmatch(r"[A-Z][A-Za-z ]*:", stripped):
            section, current = "other", None
            continue
        if section == "summary":
            if not stripped and summary_lines:
                section = "body"
            elif stripped:
                summary_lines.append(stripped)
        elif section == "args" and stripped:
            m = re.match(r"(\w+)\s*(\([^)]*\))?\s*:\s*(.*)", stripped)
            if m and line.startswith(("    ", "\t")) and not line.startswith(("        ", "\t\t")):
                current = m.group(1)
                params[current] = m.group(3)
            elif current:
                params[current] = (params[current] + " " + stripped).strip()
    return " ".join(summary_lines), params


def _check_type(value: Any, schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    if kind is None:
        if "enum" in schema:
            return value in schema["enum"]
        if "anyOf" in schema:
            return any(_check_type(value, s) for s in schema["anyOf"])
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, (list, tuple))
    if kind == "object":
        return isinstance(value, dict)
    return True


def validate_arguments(parameters: Mapping[str, Any], arguments: Any) -> str | None:
    """Check `arguments` against a JSON object schema; return an error message or None."""
    if not isinstance(arguments, Mapping):
        return f"arguments must be a JSON object, got {type(arguments).__name__}"
    props: Mapping[str, Any] = parameters.get("properties", {})
    for key, value in arguments.items():
        if key not in props:
            if parameters.get("additionalProperties", False):
                continue
            return (
                f"unknown argument `{key}`; expected one of: {', '.join(props) or '(none)'}"
                + did_you_mean(key, props)
            )
        if not _check_type(value, props[key]):
            want = props[key].get("type") or props[key].get("enum") or "a valid value"
            return f"argument `{key}` must be {want}, got {type(value).__name__} {value!r:.60}"
    missing = [p for p in parameters.get("required", []) if p not in arguments]
    if missing:
        return f"missing required argument(s): {', '.join(missing)}"
    return None


_POOL_LOCK = threading.Lock()
_POOL: cf.ThreadPoolExecutor | None = None


def _pool() -> cf.ThreadPoolExecutor:
    """A process-wide pool for tools with a timeout and for concurrent tool calls."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = cf.ThreadPoolExecutor(max_workers=32, thread_name_prefix="agentgym-tool")
        return _POOL


class FunctionTool:
    """A `Tool` built from a typed Python function (see `tool`)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = 30.0,
        max_output_chars: int = 20_000,
    ):
        self.fn = fn
        self.name = name or fn.__name__
        summary, arg_docs = _parse_docstring(fn.__doc__ or "")
        self.description = description or summary or self.name
        self.timeout = timeout
        self.max_output_chars = max_output_chars
        hints = typing.get_type_hints(fn)
        props: dict[str, Any] = {}
        required: list[str] = []
        for pname, param in inspect.signature(fn).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            schema = _json_schema(hints.get(pname, param.annotation))
            if pname in arg_docs:
                schema["description"] = arg_docs[pname]
            if param.default is param.empty:
                required.append(pname)
            else:
                schema["default"] = param.default
            props[pname] = schema
        self.parameters: dict[str, Any] = {"type": "object", "properties": props, "required": required}

    def _invoke(self, kwargs: Mapping[str, Any]) -> ToolResult:
        out = self.fn(**kwargs)
        if isinstance(out, ToolResult):
            return out
        return ToolResult(content=out if isinstance(out, str) else str(out), data=out)

    def __call__(self, **kwargs: Any) -> ToolResult:
        start = time.perf_counter()
        problem = validate_arguments(self.parameters, kwargs)
        if problem is not None:
            return ToolResult(error=f"{self.name}: {problem}")
        try:
            if self.timeout is None:
                result = self._invoke(kwargs)
            else:
                future = _pool().submit(self._invoke, kwargs)
                try:
                    result = future.result(timeout=self.timeout)
                except cf.TimeoutError:
                    future.cancel()
                    return ToolResult(
                        error=f"{self.name} timed out after {self.timeout:g} s",
                        latency_s=time.perf_counter() - start,
                    )
        except Exception as exc:  # a tool failure is data for the agent, not a crash
            return ToolResult(
                error=f"{self.name} failed: {type(exc).__name__}: {exc}",
                latency_s=time.perf_counter() - start,
            )
        if len(result.content) > self.max_output_chars:
            result.content = result.content[: self.max_output_chars] + "\n[... output truncated]"
            result.truncated = True
        result.latency_s = time.perf_counter() - start
        return result

    def openai_schema(self) -> dict[str, Any]:
        return openai_schema(self)

    def __repr__(self) -> str:
        return f"FunctionTool({self.name!r})"


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = 30.0,
    max_output_chars: int = 20_000,
) -> Any:
    """Turn a typed function into a `Tool`.

    >>> @tool
    ... def add(a: int, b: int) -> str:
    ...     '''Add two integers.
    ...
    ...     Args:
    ...         a: first addend.
    ...         b: second addend.
    ...     '''
    ...     return str(a + b)
    >>> add(a=2, b=3).content
    '5'
    >>> add.parameters["properties"]["a"]
    {'type': 'integer', 'description': 'first addend.'}
    """

    def wrap(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(
            f, name=name, description=description, timeout=timeout, max_output_chars=max_output_chars
        )

    return wrap(fn) if fn is not None else wrap


def openai_schema(t: Tool) -> dict[str, Any]:
    """The OpenAI function-calling schema of a tool."""
    return {
        "type": "function",
        "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
    }


def primary_argument(t: Tool) -> str | None:
    """The one required string argument of a tool, if it has exactly one; xml tags fill it."""
    props = t.parameters.get("properties", {})
    req = [p for p in t.parameters.get("required", []) if props.get(p, {}).get("type", "string") == "string"]
    if len(req) == 1:
        return req[0]
    if not t.parameters.get("required") and len(props) == 1:
        return next(iter(props))
    return None


class Toolset(Mapping[str, Tool]):
    """An ordered, name-addressed collection of tools with safe dispatch."""

    def __init__(self, tools: Iterable[Tool] = ()):
        self._tools: dict[str, Tool] = {}
        for t in tools:
            if t.name in self._tools:
                raise ValueError(f"two tools are named `{t.name}`; tool names must be unique")
            self._tools[t.name] = t

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def call(self, call: ToolCall) -> ToolResult:
        """Run one call; unknown tools and bad arguments come back as errors."""
        t = self._tools.get(call.name)
        if t is None:
            known = ", ".join(self._tools) or "(none)"
            return ToolResult(
                error=f"unknown tool `{call.name}`; available tools: {known}."
                + did_you_mean(call.name, self._tools)
            )
        if not isinstance(t, FunctionTool):  # FunctionTool validates its own arguments
            problem = validate_arguments(t.parameters, call.arguments)
            if problem is not None:
                return ToolResult(error=f"{t.name}: {problem}")
        if not isinstance(call.arguments, Mapping):
            return ToolResult(
                error=f"{t.name}: arguments must be a JSON object, got {type(call.arguments).__name__}"
            )
        try:
            return t(**call.arguments)
        except Exception as exc:  # third-party Tool objects may raise; keep the episode alive
            return ToolResult(error=f"{t.name} failed: {type(exc).__name__}: {exc}")

    def call_many(self, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """Run several calls concurrently, results in call order."""
        if len(calls) <= 1:
            return [self.call(c) for c in calls]
        return list(_pool().map(self.call, calls))

    def openai_schemas(self) -> list[dict[str, Any]]:
        """Schemas for an OpenAI-compatible `tools=` parameter."""
        return [openai_schema(t) for t in self._tools.values()]

    def mcp_tools(self) -> list[dict[str, Any]]:
        """Tool descriptions in MCP's `tools/list` shape (name, description, inputSchema)."""
        return [
            {"name": t.name, "description": t.description, "inputSchema": t.parameters}
            for t in self._tools.values()
        ]

    def describe(self) -> str:
        """A plain-text listing for system prompts."""
        lines = []
        for t in self._tools.values():
            props = t.parameters.get("properties", {})
            args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
            lines.append(f"- {t.name}({args}): {t.description}")
        return "\n".join(lines)
