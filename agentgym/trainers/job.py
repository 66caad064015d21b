"""The end-to-end training job behind `agentgym train`: policy → SFT warm start → RL → summary.

The run dir receives `config.yaml` (the resolved config), `sft/` (warm start), `metrics.jsonl`,
`ckpt-*/`, `final/` (the trained policy), `summary.json` and `curve.png`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import yaml

from agentgym.trainers.run_config import RunConfig

__all__ = ["build_policy", "plot_curve", "run_training", "summarize", "warm_start"]

log = logging.getLogger(__name__)


def build_policy(cfg: RunConfig) -> Any:
    """The base policy of the run (`model.spec`)."""
    from agentgym.llm import load_policy

    m = cfg.model
    kw: dict[str, Any] = {"dtype": m.dtype}
    if m.device:
        kw["device"] = m.device
    if m.spec in ("tiny", "small", "base"):
        kw["seed"] = m.seed
    return load_policy(m.spec, **kw)


def warm_start(cfg: RunConfig, policy: Any, out: Path) -> Any:
    """SFT on oracle demonstrations (or load `warm_start.checkpoint`); returns the policy to RL-train."""
    from agentgym.llm.hf import HFPolicy

    ws = cfg.warm_start
    if ws.checkpoint:
        return HFPolicy.from_pretrained(
            ws.checkpoint, dtype=cfg.model.dtype, **({"device": cfg.model.device} if cfg.model.device else {})
        )
    if ws.episodes == 0:
        return policy
    final = out / "sft" / "final"
    if (final / "config.json").exists():  # resumed run: the warm start is already done
        log.info("reusing warm start %s", final)
        return HFPolicy.from_pretrained(
            final, dtype=cfg.model.dtype, **({"device": cfg.model.device} if cfg.model.device else {})
        )
    from agentgym.rollout import collect_demos
    from agentgym.trainers.sft import SFTConfig, SFTTrainer

    demos = []
    for entry in cfg.envs:
        demos += collect_demos(entry.id, range(ws.episodes), policy.chat, **entry.kwargs)
    log.info("warm start: %d oracle demonstrations", len(demos))
    sft_cfg = SFTConfig(
        lr=ws.lr, batch_size=ws.batch_size, max_steps=ws.steps, warmup_steps=max(1, ws.steps // 10),
        seed=cfg.trainer.seed, out_dir=str(out / "sft"), progress=cfg.trainer.progress, log_every=max(1, ws.steps // 10),
    )  # fmt: skip
    SFTTrainer(policy, demos, sft_cfg).train()
    return policy


def summarize(records: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """Start/end/best held-out success and the last training metrics."""
    evals = [r for r in records if "eval/success/mean" in r]
    train = [r for r in records if "rollout/reward/mean" in r]
    out: dict[str, Any] = {"steps": max((r["step"] for r in records), default=0), "wall_s": round(wall_s, 1)}
    if evals:
        out["eval_success_start"] = evals[0]["eval/success/mean"]
        out["eval_success_end"] = evals[-1]["eval/success/mean"]
        out["eval_success_best"] = max(r["eval/success/mean"] for r in evals)
        out["eval_score_end"] = evals[-1].get("eval/score/mean")
    if train:
        k = max(1, len(train) // 5)
        out["train_reward_first"] = sum(r["rollout/reward/mean"] for r in train[:k]) / k
        out["train_reward_last"] = sum(r["rollout/reward/mean"] for r in train[-k:]) / k
    return out


def plot_curve(records: list[dict[str, Any]], path: Path, title: str) -> None:
    """Reward / success curve PNG (training rollouts and held-out evaluation)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (
        ("rollout/reward/mean", "train reward"),
        ("rollout/success/mean", "train success"),
        ("eval/success/mean", "held-out success"),
    ):
        pts = [(r["step"], r[key]) for r in records if r.get(key) is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker="o" if key.startswith("eval") else None, label=label)
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_training(
    cfg: RunConfig, out_dir: str | Path, *, resume: bool = False, accelerator: Any = None
) -> dict[str, Any]:
    """Run the whole job; returns the summary (also written to summary.json)."""
    from agentgym.trainers.logger import read_metrics
    from agentgym.trainers.trainer import Trainer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rank0 = accelerator is None or accelerator.is_main_process
    if rank0:
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    t0 = time.perf_counter()
    policy = warm_start(cfg, build_policy(cfg), out)
    trainer = Trainer(cfg, policy, out, accelerator=accelerator)
    trainer.fit(resume=resume)
    if not rank0:
        return {}
    policy.save_pretrained(out / "final")
    records = read_metrics(out / "metrics.jsonl")
    summary = {
        "algorithm": cfg.algorithm.name,
        "envs": [e.id for e in cfg.envs],
        **summarize(records, time.perf_counter() - t0 + trainer.elapsed_before),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_curve(records, out / "curve.png", f"{cfg.algorithm.name} on {', '.join(e.id for e in cfg.envs)}")
    return summary
