"""Sampling for the trainer: env pools, per-step task seeds, held-out evaluation.

Kept apart from the update loop so both stay one screen each. Seeds are pure functions of
(config seed, step), so a resumed run samples exactly what an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.trainers.run_config import EnvEntry, TrainerConfig

__all__ = ["EnvPool", "allocate", "step_seeds"]


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` prompts across envs in proportion to `weights` (largest remainder, ≥ 1 each)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out))[: total - int(out.sum())]:
        out[i] += 1
    out = np.maximum(out, 1)
    return [int(x) for x in out]


def step_seeds(seed: int, step: int, env_index: int, n: int, high: int) -> list[int]:
    """Task seeds of one env at one training step (deterministic, below the eval offset)."""
    rng = np.random.default_rng([seed, step, env_index])
    return [int(x) for x in rng.integers(0, high, size=n)]


@dataclass
class EnvPool:
    """Pre-built envs for one entry: `n_prompts × group_size` for training, `eval_n` for evaluation."""

    entry: EnvEntry
    n_prompts: int
    train_envs: list[Any]
    eval_envs: list[Any]

    @classmethod
    def build(
        cls, entry: EnvEntry, n_prompts: int, cfg: TrainerConfig, *, rank: int = 0, world: int = 1
    ) -> EnvPool:
        import agentgym

        local = math.ceil(n_prompts / world)
        if cfg.env_workers > 0:  # env work in Ray actors; the collector cannot tell the proxies apart
            from agentgym.distributed import make_envs

            train = make_envs(
                entry.id,
                local * cfg.group_size,
                env_workers=cfg.env_workers,
                ray_address=cfg.ray_address,
                num_cpus_per_worker=cfg.env_worker_cpus,
                **entry.kwargs,
            )
        else:
            train = [agentgym.make(entry.id, **entry.kwargs) for _ in range(local * cfg.group_size)]
        ekw = entry.kwargs if entry.eval_kwargs is None else {**entry.kwargs, **entry.eval_kwargs}
        n_eval = len(range(rank, cfg.eval_episodes, world)) if cfg.eval_every > 0 else 0
        evals = [agentgym.make(entry.id, **ekw) for _ in range(n_eval)]
        return cls(entry, n_prompts, train, evals)

    def close(self) -> None:
        for e in (*self.train_envs, *self.eval_envs):
            e.close()
