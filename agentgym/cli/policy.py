"""`agentgym sft`: supervised warm start of a policy on oracle demonstrations."""

from __future__ import annotations

import json
import logging

import typer

from agentgym.cli import app

log = logging.getLogger(__name__)


@app.command("sft")
def sft_cmd(
    env: str = typer.Option(..., "--env", help="env id, e.g. Calculator-v0"),
    model: str = typer.Option("small", help="tiny|small|base|PATH|HUB_NAME"),
    episodes: int = typer.Option(2000, help="oracle demonstrations (seeds 0..N-1)"),
    out: str = typer.Option(..., help="run dir: metrics.jsonl, checkpoint/, final/"),
    steps: int = typer.Option(1000, help="optimizer steps"),
    batch_size: int = typer.Option(16, help="trajectories per micro-batch"),
    grad_accum: int = typer.Option(1, help="micro-batches per step"),
    context_loss_weight: float = typer.Option(
        0.0, help="weight of the next-token loss on prompt/observation tokens (helps from-scratch models)"
    ),
    lr: float = typer.Option(1e-3, help="peak learning rate"),
    eval_episodes: int = typer.Option(100, help="held-out episodes per evaluation (seeds from 1,000,000)"),
    eval_every: int = typer.Option(0, help="steps between evaluations (0: only at the end)"),
    env_kwargs: str = typer.Option(None, help="JSON object of env kwargs"),
    save_every: int = typer.Option(100, help="steps between checkpoints"),
    seed: int = typer.Option(0, help="data order and model init seed"),
    device: str = typer.Option(None, help="cpu|cuda (default: cuda if available)"),
) -> None:
    """Train MODEL on ENV's oracle demonstrations; resumes from OUT/checkpoint if present."""
    from agentgym.cli import json_object
    from agentgym.llm import load_policy
    from agentgym.llm.tiny import SIZES
    from agentgym.rollout.demos import collect_demos
    from agentgym.trainers.sft import SFTConfig, SFTTrainer, evaluate_success

    kwargs = json_object(env_kwargs)
    policy = load_policy(model, device=device, **({"seed": seed} if model in SIZES else {}))
    demos = collect_demos(env, range(episodes), policy.chat, **kwargs)
    typer.echo(
        f"{len(demos)} demonstrations from {env}; {sum(d.num_policy_tokens for d in demos)} policy tokens"
    )
    held_out = range(1_000_000, 1_000_000 + eval_episodes)
    cfg = SFTConfig(
        lr=lr, batch_size=batch_size, grad_accum=grad_accum, max_steps=steps, seed=seed, eval_every=eval_every,
        context_loss_weight=context_loss_weight,
        save_every=save_every, out_dir=out,
    )  # fmt: skip
    typer.echo(
        json.dumps({"env": env, "model": model, "episodes": episodes, "env_kwargs": kwargs, **cfg.__dict__})
    )
    trainer = SFTTrainer(policy, demos, cfg, eval_fn=lambda p: evaluate_success(p, env, held_out, **kwargs))
    history = trainer.train()
    final = history[-1] if history else {}
    typer.echo(json.dumps({k: v for k, v in final.items()}))
