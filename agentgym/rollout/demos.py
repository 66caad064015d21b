"""Oracle demonstrations rendered with the policy's chat format (the SFT warm start data).

A demo is an ordinary `Trajectory` whose actions come from `env.unwrapped.oracle_action()`:
each action is tokenized once, ending with EOS (what the policy must learn to sample), and
the observations use exactly the token layout the collector produces.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from agentgym.llm.chat import ChatFormat
from agentgym.rollout.collector import _env_id, _system_prompt
from agentgym.rollout.trajectory import Trajectory, Turn

__all__ = ["collect_demos", "demo_episode"]

log = logging.getLogger(__name__)


def demo_episode(
    env: Any, seed: int, chat: ChatFormat, *, max_turns: int = 64, env_id: str = ""
) -> Trajectory:
    """Play one oracle episode of `env` from `reset(seed)`."""
    env_id = env_id or _env_id(env)
    obs, info = env.reset(seed=seed)
    system = _system_prompt(env)
    traj = Trajectory(
        task_id=str((info.get("task") or {}).get("id", seed)), group_id=f"{env_id}/{seed}", env_id=env_id,
        prompt_ids=chat.prompt_ids(system, obs), seed=seed, system_prompt=system, first_observation=obs,
        reset_info=dict(info),
    )  # fmt: skip
    for _ in range(max_turns):
        action = env.unwrapped.oracle_action()
        ids = chat.action_ids(action)
        obs, reward, terminated, truncated, info = env.step(action)
        turn = Turn(action, ids, [0.0] * len(ids), obs, [], float(reward), dict(info), None, "stop")
        traj.turns.append(turn)
        traj.info = dict(info)
        if terminated or truncated:
            traj.terminated, traj.truncated = bool(terminated), bool(truncated)
            break
        turn.observation_ids = chat.observation_ids(obs, ids)
    else:
        traj.truncated = True
    return traj


def collect_demos(
    env_id: str,
    seeds: Iterable[int],
    chat: ChatFormat,
    *,
    only_success: bool = True,
    **env_kwargs: Any,
) -> list[Trajectory]:
    """Oracle trajectories for `seeds` (unsuccessful ones dropped unless `only_success=False`)."""
    import agentgym

    env = agentgym.make(env_id, **env_kwargs)
    out, dropped = [], 0
    try:
        for seed in seeds:
            traj = demo_episode(env, int(seed), chat, env_id=env_id)
            if only_success and not traj.success:
                dropped += 1
                continue
            out.append(traj)
    finally:
        env.close()
    if dropped:
        log.warning("%s: dropped %d oracle episodes that did not succeed", env_id, dropped)
    return out
