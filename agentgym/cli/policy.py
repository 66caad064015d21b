"""`agentgym sft`: supervised warm start of a policy on oracle demonstrations."""

from __future__ import annotations

import json
import logging

import typer

from agentgym.cli import app

log = logging.getLogger(__name__)


@app.command("sft")
def sft_cmd(
    env: list[str] = typer.Option(..., "--env", help="env id, e.g. Calculator-v0; repeat to mix envs"),
    model: str = typer.Option("small", help="tiny|small|base|PATH|HUB_NAME"),
    episodes: int = typer.Option(2000, help="oracle demonstrations per env (seeds 0..N-1)"),
    out: str = typer.Option(..., help="run dir: metrics.jsonl, checkpoint/, final/"),
    steps: int = typer.Option(1000, help="optimizer steps"),
    stop_at: int = typer.Option(
        None,
        help="end this call at that step with a checkpoint; the schedule still spans --steps (rerun to go on)",
    ),
    batch_size: int = typer.Option(16, help="trajectories per micro-batch"),
    grad_accum: int = typer.Option(1, help="micro-batches per step"),
    context_loss_weight: float = typer.Option(
        0.0, help="weight of the next-token loss on prompt/observation tokens (helps from-scratch models)"
    ),
    lr: float = typer.Option(1e-3, help="peak learning rate"),
    eval_episodes: int = typer.Option(100, help="held-out episodes per evaluation (seeds from 1,000,000)"),
    eval_every: int = typer.Option(0, help="steps between evaluations (0: only at the end)"),
    env_kwargs: str = typer.Option(
        None, help='JSON object of env kwargs; with several --env, keyed by env id: {"SearchQA-v0": {...}}'
    ),
    eval_env_kwargs: str = typer.Option(
        None,
        help='JSON kwargs laid over --env-kwargs for evaluation only, e.g. {"split": "test"} (same shape)',
    ),
    save_every: int = typer.Option(100, help="steps between checkpoints"),
    seed: int = typer.Option(0, help="data order and model init seed"),
    device: str = typer.Option(None, help="cpu|cuda (default: cuda if available)"),
) -> None:
    """Train MODEL on ENV's oracle demonstrations; resumes from OUT/checkpoint if present."""
    import agentgym
    from agentgym.cli import json_object
    from agentgym.errors import InvalidConfig
    from agentgym.llm import load_policy
    from agentgym.llm.tiny import SIZES
    from agentgym.rollout.demos import collect_demos
    from agentgym.trainers.sft import SFTConfig, SFTTrainer

    if stop_at is not None and stop_at < 1:
        raise typer.BadParameter(f"--stop-at must be a step ≥ 1, got {stop_at}")
    per_env = _per_env_kwargs(env, json_object(env_kwargs))
    eval_over = _per_env_kwargs(env, json_object(eval_env_kwargs, "--eval-env-kwargs"), "--eval-env-kwargs")
    eval_env = {e: {**per_env[e], **eval_over[e]} for e in env}
    for env_id, kwargs in eval_env.items():  # a bad evaluation kwarg fails now, not after training
        try:
            agentgym.make(env_id, **kwargs).close()
        except InvalidConfig as exc:
            raise typer.BadParameter(f"--eval-env-kwargs for {env_id}: {exc}") from exc
    policy = load_policy(model, device=device, **({"seed": seed} if model in SIZES else {}))
    demos = []
    for env_id, kwargs in per_env.items():
        got = collect_demos(env_id, range(episodes), policy.chat, **kwargs)
        demos += got
        typer.echo(
            f"{len(got)} demonstrations from {env_id}; {sum(d.num_policy_tokens for d in got)} policy tokens"
        )
    held_out = range(1_000_000, 1_000_000 + eval_episodes)
    cfg = SFTConfig(
        lr=lr, batch_size=batch_size, grad_accum=grad_accum, max_steps=steps, seed=seed, eval_every=eval_every,
        context_loss_weight=context_loss_weight,
        save_every=save_every, out_dir=out,
    )  # fmt: skip
    typer.echo(
        json.dumps(
            {
                "env": env,
                "model": model,
                "episodes": episodes,
                "env_kwargs": per_env,
                "eval_env_kwargs": eval_env,
                **cfg.__dict__,
            }
        )
    )
    trainer = SFTTrainer(policy, demos, cfg, eval_fn=lambda p: _evaluate_envs(p, eval_env, held_out))
    history = trainer.train(stop_at=stop_at)
    final = history[-1] if history else {}
    typer.echo(json.dumps({k: v for k, v in final.items()}))


def _per_env_kwargs(envs: list[str], kwargs: dict, option: str = "--env-kwargs") -> dict[str, dict]:
    """One env: `kwargs` are its kwargs. Several: `kwargs` maps env id → kwargs (absent → none)."""
    if len(set(envs)) != len(envs):
        raise typer.BadParameter(f"--env repeats an env id: {envs}")
    if len(envs) == 1:
        return {envs[0]: kwargs}
    if not set(kwargs) <= set(envs) or not all(isinstance(v, dict) for v in kwargs.values()):
        raise typer.BadParameter(
            f"with several --env, {option} maps env ids to objects, e.g. "
            f'{{"{envs[0]}": {{...}}}}; got keys {sorted(kwargs)} for envs {envs}'
        )
    return {e: kwargs.get(e, {}) for e in envs}


def _evaluate_envs(policy: object, per_env: dict[str, dict], seeds: range) -> dict[str, float]:
    """Held-out greedy success per env; with several envs `eval/success/mean` is their mean."""
    from agentgym.trainers.sft import evaluate_success

    if len(per_env) == 1:
        ((env_id, kwargs),) = per_env.items()
        return evaluate_success(policy, env_id, seeds, **kwargs)
    out: dict[str, float] = {}
    for env_id, kwargs in per_env.items():
        for key, value in evaluate_success(policy, env_id, seeds, **kwargs).items():
            out[key.replace("eval/", f"eval/{env_id}/", 1)] = value
    for key in ("success/mean", "reward/mean"):
        out[f"eval/{key}"] = sum(out[f"eval/{e}/{key}"] for e in per_env) / len(per_env)
    out["eval/failed"] = sum(out[f"eval/{e}/failed"] for e in per_env)
    return out
