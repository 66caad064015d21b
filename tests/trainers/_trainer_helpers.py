"""Shared builders for trainer tests (imported by test modules; not a fixture file)."""

from __future__ import annotations


def small_run(**trainer):
    from agentgym.trainers.run_config import RunConfig

    base = {
        "steps": 2, "prompts_per_step": 2, "group_size": 2, "max_new_tokens": 12, "max_turns": 2,
        "eval_every": 0, "lr": 1e-3, "progress": False, "micro_batch_size": 4, "save_every": 0,
    }  # fmt: skip
    base.update(trainer)
    algo = base.pop("algorithm", {"name": "grpo", "entropy_coef": 0.01})
    return RunConfig.from_dict(
        {
            "model": {"spec": "tiny"},
            "envs": [{"id": "Calculator-v0", "kwargs": {"difficulty": 1}}],
            "trainer": base,
            "algorithm": algo,
        }
    )
