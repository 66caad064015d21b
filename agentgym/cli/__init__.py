"""The `agentgym` command line.

One typer app; each command group lives in its own module and registers itself on `app`
when imported below. Commands are thin: parse, build a config, call a library function.
Exit codes: 0 ok, 1 runtime failure, 2 usage error.
"""

from __future__ import annotations

import logging
import sys

import typer

app = typer.Typer(
    name="agentgym",
    help="Multi-turn tool environments for LLM agents, and an RL trainer for them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def json_object(text: str | None, option: str = "--env-kwargs") -> dict:
    """Parse a JSON-object option value ({} when absent); a usage error (exit 2) otherwise."""
    if not text:
        return {}
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{option} must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter(f"{option} must be a JSON object")
    return value


# Command modules: each adds its commands to `app` (or a sub-app) on import.
from agentgym.cli import envs as _envs  # noqa: E402,F401
from agentgym.cli import eval as _eval  # noqa: E402,F401
from agentgym.cli import policy as _policy  # noqa: E402,F401
from agentgym.cli import search as _search  # noqa: E402,F401
from agentgym.cli import serve as _serve  # noqa: E402,F401
from agentgym.cli import simulator as _simulator  # noqa: E402,F401
from agentgym.cli import train as _train  # noqa: E402,F401


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from agentgym.errors import AgentGymError

    try:
        app()
    except AgentGymError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(1)


if __name__ == "__main__":
    main()
