"""`trainer.env_workers` / `--env-workers`: the trainer's training envs live in Ray actors."""

from __future__ import annotations

import pytest

from agentgym.core.checks import run_oracle
from agentgym.errors import InvalidConfig
from agentgym.trainers.rollouts import EnvPool
from agentgym.trainers.run_config import EnvEntry, TrainerConfig


def test_env_pool_builds_ray_proxies_that_play_like_local_envs(pool) -> None:
    from agentgym.distributed import EnvProxy

    cfg = TrainerConfig(prompts_per_step=2, group_size=2, env_workers=2, env_worker_cpus=0, eval_every=0)
    built = EnvPool.build(EnvEntry(id="Calculator-v0"), 2, cfg)
    try:
        assert len(built.train_envs) == 4
        assert all(isinstance(e, EnvProxy) for e in built.train_envs)
        local = EnvPool.build(
            EnvEntry(id="Calculator-v0"), 2, TrainerConfig(prompts_per_step=2, group_size=2, eval_every=0)
        )
        for seed, (remote, here) in enumerate(zip(built.train_envs, local.train_envs, strict=True)):
            steps_r, info_r = run_oracle(remote, seed)
            steps_l, info_l = run_oracle(here, seed)
            assert [s[:3] for s in steps_r] == [s[:3] for s in steps_l]
            assert info_r["success"] is True and info_l["success"] is True
    finally:
        built.close()


def test_negative_env_workers_is_invalid() -> None:
    with pytest.raises(InvalidConfig, match="env_workers"):
        TrainerConfig(env_workers=-1)
