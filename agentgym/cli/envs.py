"""`agentgym list | info | check | play`: inspect, validate and play environments."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from agentgym.cli import app, json_object

console = Console()


@app.command("list")
def list_cmd() -> None:
    """List registered environments with a one-line description and their tools."""
    import agentgym

    table = Table("id", "description", "tools")
    for info in agentgym.list_envs():
        table.add_row(info.id, info.description, ", ".join(info.tools))
    console.print(table)


@app.command("info")
def info_cmd(env_id: str, env_kwargs: str = typer.Option(None, help="JSON object of env kwargs")) -> None:
    """Show an env's system prompt, tool schemas and action format."""
    import agentgym

    env = agentgym.make(env_id, **json_object(env_kwargs))
    _, info = env.reset(seed=0)
    u = env.unwrapped
    console.rule(env.spec.id if env.spec else env_id)
    console.print(f"[bold]action format:[/bold] {getattr(u, 'action_format', 'text')}")
    console.print("[bold]system prompt:[/bold]")
    console.print(u.system_prompt, markup=False)
    console.print("[bold]tools:[/bold]")
    console.print_json(json.dumps(info.get("tools", [])))


@app.command("check")
def check_cmd(
    env_id: str,
    seeds: int = typer.Option(5, help="number of seeds for the oracle and reproducibility checks"),
    env_kwargs: str = typer.Option(None, help="JSON object of env kwargs"),
) -> None:
    """Run Gymnasium's check_env plus agentgym's contract checks; exit 1 if any fails."""
    from agentgym.core.checks import check_contract

    results = check_contract(env_id, seeds=range(seeds), **json_object(env_kwargs))
    for r in results:
        mark = "[green]PASS[/green]" if r.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {r.name}" + (f": {r.detail}" if r.detail else ""))
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command("play")
def play_cmd(
    env_id: str,
    seed: int = typer.Option(None, help="reset seed (picks the task)"),
    env_kwargs: str = typer.Option(None, help="JSON object of env kwargs"),
) -> None:
    """Play an env in the terminal: type actions, see observations.

    One action per line (use `\\n` for a newline inside an action); `/oracle` plays the expert's
    move, `/quit` stops. Works with piped stdin.
    """
    import agentgym

    env = agentgym.make(env_id, **json_object(env_kwargs))
    obs, info = env.reset(seed=seed)
    console.print(env.unwrapped.system_prompt, style="dim", markup=False)
    console.print(obs, markup=False)
    interactive = sys.stdin.isatty()
    total = 0.0
    while True:
        if interactive:
            console.print("[bold cyan]> [/bold cyan]", end="")
        line = sys.stdin.readline()
        if not line:
            break
        action = line.rstrip("\n").replace("\\n", "\n")
        if action.strip() == "/quit":
            break
        if action.strip() == "/oracle":
            action = env.unwrapped.oracle_action()
            console.print(f"[dim]oracle: {action}[/dim]", markup=True, highlight=False)
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        console.print(obs, markup=False)
        console.print(f"[dim]reward {reward:+.3f} (total {total:+.3f}) turn {info.get('turn')}[/dim]")
        if terminated or truncated:
            status = "success" if info.get("success") else "done"
            console.print(
                f"[bold]episode over ({'truncated' if truncated else status}); score {info.get('score')}[/bold]"
            )
            break
