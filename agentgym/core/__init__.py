"""Env base classes, action parsing, registration and shared types."""

from agentgym.core.env import Env, Task, fork
from agentgym.core.parsing import ActionParser, ParsedAction, make_parser
from agentgym.core.registration import EnvInfo, list_envs, make, register
from agentgym.core.spaces import UnicodeText
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.tools.base import Tool, ToolCall, ToolResult, Toolset, tool

__all__ = [
    "ActionParser",
    "Env",
    "EnvInfo",
    "ParsedAction",
    "Score",
    "Task",
    "Tool",
    "ToolCall",
    "ToolEnv",
    "ToolResult",
    "Toolset",
    "UnicodeText",
    "fork",
    "list_envs",
    "make",
    "make_parser",
    "register",
    "tool",
]
