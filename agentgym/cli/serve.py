"""`agentgym serve` (HTTP env server) and `agentgym mcp` (an env's tools over MCP)."""

from __future__ import annotations

from typing import Any

import typer

from agentgym.cli import app, json_object
from agentgym.errors import InvalidConfig


def _env_kwargs(text: str | None, env_ids: list[str]) -> dict[str, dict[str, Any]]:
    """`--env-kwargs` is either {"kw": value} for every env or {"Env-v0": {"kw": value}, ...}."""
    value = json_object(text)
    if value and all(k in env_ids for k in value):
        return {k: dict(v) for k, v in value.items()}
    return {e: dict(value) for e in env_ids}


@app.command("serve")
def serve_cmd(
    env_ids: list[str] = typer.Argument(
        ..., help="registered env ids to serve, e.g. Calculator-v0 SearchQA-v0"
    ),
    host: str = typer.Option("127.0.0.1", help="bind address; anything but loopback requires --token"),
    port: int = typer.Option(8100, help="TCP port"),
    token: str = typer.Option(None, help="bearer token clients must send (or set AGENTGYM_SERVER_TOKEN)"),
    max_sessions: int = typer.Option(256, help="cap on live sessions; one more gets HTTP 429"),
    idle_timeout: float = typer.Option(600.0, help="seconds without a call before a session is closed"),
    max_body_bytes: int = typer.Option(1 << 20, help="largest accepted request body"),
    env_kwargs: str = typer.Option(None, help='JSON constructor kwargs: {"kw": v} or {"Env-v0": {"kw": v}}'),
    expose_oracle: bool = typer.Option(
        False, help="serve the expert's actions (reveals answers; trusted trainers only)"
    ),
) -> None:
    """Serve environments over HTTP: sessions, reset/step, tool schemas and direct tool calls."""
    from agentgym.server.app import ServerConfig
    from agentgym.server.run import serve

    config = ServerConfig(
        env_ids=tuple(env_ids),
        env_kwargs=_env_kwargs(env_kwargs, env_ids),
        token=token,
        max_sessions=max_sessions,
        idle_timeout=idle_timeout,
        max_body_bytes=max_body_bytes,
        expose_oracle=expose_oracle,
    )
    try:
        serve(config, host=host, port=port)
    except InvalidConfig as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None


@app.command("mcp")
def mcp_cmd(
    env_id: str = typer.Argument(..., help="registered env id whose tools to serve"),
    transport: str = typer.Option(
        "stdio", help="`stdio` (desktop agents) or `http` (streamable HTTP at /mcp)"
    ),
    host: str = typer.Option("127.0.0.1", help="bind address for --transport http"),
    port: int = typer.Option(8200, help="TCP port for --transport http"),
    seed: int = typer.Option(0, help="reset seed of each session's env"),
    env_kwargs: str = typer.Option(None, help="JSON object of env constructor kwargs"),
) -> None:
    """Serve an env's tools over the Model Context Protocol, one env per MCP session."""
    from agentgym.server.mcp_server import run_mcp

    if transport not in ("stdio", "http"):
        raise typer.BadParameter(f"--transport must be stdio or http, got {transport!r}")
    kwargs = _env_kwargs(env_kwargs, [env_id]).get(env_id, {})
    run_mcp(env_id, transport=transport, host=host, port=port, env_kwargs=kwargs, seed=seed)
