"""Start the env server under uvicorn, refusing an open bind without a token."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os

from agentgym.errors import InvalidConfig
from agentgym.server.app import ServerConfig, create_app

__all__ = ["TOKEN_ENV", "check_bind", "is_loopback", "serve"]

log = logging.getLogger(__name__)

TOKEN_ENV = "AGENTGYM_SERVER_TOKEN"
"""Environment variable read when no token is passed (keeps it out of `ps` output)."""


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose sessions to the network without authentication."""
    if not is_loopback(host) and not token:
        raise InvalidConfig(
            f"refusing to bind to {host} without a token: anyone who can reach this address could create "
            f"sessions and run the env's tools. Pass --token T (or set {TOKEN_ENV}), and send "
            "`Authorization: Bearer T` from clients; or bind to 127.0.0.1 for local use."
        )


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 8100, log_level: str = "info") -> None:
    """Run the server until interrupted."""
    import uvicorn

    token = config.token or os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    if token != config.token:
        config = dataclasses.replace(config, token=token)
    app = create_app(config)
    log.info(
        "serving %s on http://%s:%d (auth: %s)",
        ", ".join(config.env_ids),
        host,
        port,
        "on" if token else "off",
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
