"""Serve an env's tools over the Model Context Protocol (the `mcp` package; stdio or streamable HTTP).

Desktop and framework agents (anything that speaks MCP) then call agentgym's calculator,
search or sandbox tools directly. Each MCP session gets its own env instance, reset once
with the server's seed, so per-episode tool state (a sandbox session, a search budget) is
never shared between clients (stdio serves one client per process; over HTTP, a
handshake-era MCP session keeps its env across calls, while stateless 2026-07-28-era requests
each get a fresh one). Tool failures come back as MCP results with ``isError`` set,
never as protocol errors.

    agentgym mcp Calculator-v0                          # stdio, for desktop agents
    agentgym mcp SearchQA-v0 --transport http --port 8200   # streamable HTTP at /mcp
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

import anyio
import gymnasium
import mcp_types as types
from mcp.server.lowlevel import Server

import agentgym
from agentgym.core.registration import full_id
from agentgym.tools.base import ToolCall, Toolset

__all__ = ["McpEnvTools", "build_mcp_server", "run_mcp"]

log = logging.getLogger(__name__)


class McpEnvTools:
    """One env per MCP session, and the MCP handlers that list and call its tools.

    Args:
        env_id: a registered env id whose tools to serve.
        env_kwargs: constructor kwargs for the env.
        seed: reset seed of each session's env (the task does not matter to tool users).
        single_session: one env for every call (stdio: the process serves one client).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any] | None = None,
        seed: int | None = 0,
        *,
        single_session: bool = False,
    ):
        self.single_session = single_session
        self.env_id = full_id(env_id)
        self.env_kwargs = dict(env_kwargs or {})
        self.seed = seed
        probe = self._make()  # fail at start-up for a bad id, and learn the tool list once
        toolset = self._toolset(probe)
        self.tools = [
            types.Tool(name=t["name"], description=t["description"], input_schema=t["inputSchema"])
            for t in toolset.mcp_tools()
        ]
        self.instructions = str(getattr(probe.unwrapped, "instructions", "") or "")
        probe.close()
        self._envs: weakref.WeakKeyDictionary[Any, gymnasium.Env] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _make(self) -> gymnasium.Env:
        env = agentgym.make(self.env_id, **self.env_kwargs)
        env.reset(seed=self.seed)
        return env

    def _toolset(self, env: gymnasium.Env) -> Toolset:
        toolset = getattr(env.unwrapped, "toolset", None)
        if not isinstance(toolset, Toolset):
            raise TypeError(
                f"{self.env_id} has no `toolset`; only tool-using envs (ToolEnv) can be served over MCP"
            )
        return toolset

    def env_for(self, session: Any) -> gymnasium.Env:
        """The env of an MCP session (created on its first tool call, closed with the session)."""
        with self._lock:
            env = self._envs.get(session)
            if env is None:
                env = self._envs[session] = self._make()
                weakref.finalize(session, env.close)
            return env

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        # One env per client connection: mcp 2.x wraps the connection in a per-request
        # ServerSession and keeps it private. Stateless (2026-07-28 era) HTTP requests are
        # connections of their own, so each gets a fresh env.
        key = self if self.single_session else getattr(ctx.session, "_connection", ctx.session)
        env = self.env_for(key)
        toolset = self._toolset(env)
        call = ToolCall(params.name, dict(params.arguments or {}))
        result = await anyio.to_thread.run_sync(toolset.call, call)  # tools block; keep the event loop free
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.render())],
            is_error=not result.ok,
        )


def build_mcp_server(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    seed: int | None = 0,
    *,
    single_session: bool = False,
) -> Server:
    """A low-level MCP `Server` exposing `env_id`'s tools (see `McpEnvTools`)."""
    handlers = McpEnvTools(env_id, env_kwargs, seed, single_session=single_session)
    return Server(
        f"agentgym {handlers.env_id}",
        version=agentgym.__version__,
        instructions=handlers.instructions or None,
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
    )


def run_mcp(
    env_id: str,
    *,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8200,
    env_kwargs: dict[str, Any] | None = None,
    seed: int | None = 0,
) -> None:
    """Serve `env_id`'s tools over stdio or streamable HTTP (at ``http://HOST:PORT/mcp``)."""
    server = build_mcp_server(env_id, env_kwargs, seed, single_session=transport == "stdio")
    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async def main() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(main)
    elif transport == "http":
        import uvicorn

        from agentgym.server.run import is_loopback

        if not is_loopback(host):
            log.warning(
                "serving MCP tools on %s without authentication; put it behind an authenticating proxy", host
            )
        uvicorn.run(server.streamable_http_app(host=host), host=host, port=port, log_level="warning")
    else:
        raise ValueError(f"transport must be `stdio` or `http`, got {transport!r}")
