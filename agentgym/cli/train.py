"""`agentgym train`: run a training job from a YAML preset (SFT warm start, then RL)."""

from __future__ import annotations

import os
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from agentgym.cli import app

console = Console()


@app.command("train")
def train_cmd(
    config: Path = typer.Option(
        ..., "--config", "-c", help="YAML preset, e.g. examples/configs/search_small.yaml"
    ),
    set_: list[str] = typer.Option([], "--set", help="override a field: section.field=value (repeatable)"),
    out: Path = typer.Option(None, "--out", help="run directory (default runs/<config name>[-quick])"),
    quick: bool = typer.Option(False, "--quick", help="apply the preset's `quick` overrides (a short run)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the newest checkpoint in --out"),
    env_workers: int = typer.Option(0, "--env-workers", help="run the training envs in N Ray actors"),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster address (default: local Ray)"),
) -> None:
    """Train an agent: prints the resolved config, writes metrics, checkpoints, summary.json and curve.png."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from agentgym.errors import InvalidConfig
    from agentgym.trainers.job import run_training
    from agentgym.trainers.run_config import load_run_config

    try:
        if env_workers:
            set_ = [*set_, f"trainer.env_workers={env_workers}"]
        if ray_address:
            set_ = [*set_, f"trainer.ray_address={ray_address}"]
        cfg = load_run_config(config, set_, quick=quick)
    except InvalidConfig as exc:
        typer.secho(f"invalid config: {exc}", err=True, fg="red")
        raise typer.Exit(2) from exc
    out = out or Path("runs") / (config.stem + ("-quick" if quick else ""))
    accelerator = None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # launched by `accelerate launch` / torchrun
        from accelerate import Accelerator

        accelerator = Accelerator()
    if accelerator is None or accelerator.is_main_process:
        console.rule(f"agentgym train → {out}")
        console.print(yaml.safe_dump(cfg.to_dict(), sort_keys=False), markup=False, highlight=False)
    summary = run_training(cfg, out, resume=resume, accelerator=accelerator)
    if summary:
        table = Table("metric", "value", title=f"summary ({out / 'summary.json'})")
        for k, v in summary.items():
            table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
        console.print(table)
        console.print(f"curve: {out / 'curve.png'}")
