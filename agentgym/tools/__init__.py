"""Tools that environments expose to agents (calculator, search, python sandbox, files, web)."""

from agentgym.tools.base import FunctionTool, Tool, ToolCall, ToolResult, Toolset, tool
from agentgym.tools.calculator import calculator

__all__ = ["FunctionTool", "Tool", "ToolCall", "ToolResult", "Toolset", "calculator", "tool"]
