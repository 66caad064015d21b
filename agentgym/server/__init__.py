"""Environments as a service: the HTTP env server, its `RemoteEnv` client, and the MCP server.

`RemoteEnv` needs only httpx (a core dependency); the server needs the `server` extra
(fastapi, uvicorn, mcp), so those modules are imported on first use.
"""

from __future__ import annotations

from typing import Any

from agentgym.server.client import RemoteEnv, RemoteEnvError

__all__ = ["RemoteEnv", "RemoteEnvError", "ServerConfig", "create_app", "serve"]

_LAZY = {
    "ServerConfig": "agentgym.server.app",
    "create_app": "agentgym.server.app",
    "serve": "agentgym.server.run",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentgym.server' has no attribute {name!r}")
