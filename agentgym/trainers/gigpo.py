"""GiGPO: Group-in-Group Policy Optimization for LLM agent training (arXiv 2505.10978).

    A^E(τ_i) = (R(τ_i) − mean_g R) / F                                 (Eq. 3, episode level)
    R_t^(i)  = Σ_{l≥0} γ^l r_{t+l}^(i)                                   (Eq. 4, step returns)
    A^S(s_t) = (R_t − mean_{anchor group} R) / F                         (Eq. 5, step level)
    A        = A^E + ω·A^S, broadcast to the tokens of step t            (Eq. 6)

F = std (`mode: mean_std_norm`) or 1 (`mean_norm`). Step groups are the steps of a prompt group
whose *anchor state* is identical: the env's `info["anchor"]` of the step that produced the state
if it sets one, else the observation text the policy acted on (the first observation for step 0).
Episode statistics count step rows by default, as verl-agent's code does (`episode_stats`).
Defaults: examples/gigpo_trainer/run_alfworld.sh (ALGORITHMS.md §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from agentgym.errors import InvalidConfig
from agentgym.trainers.advantages import gigpo_advantages
from agentgym.trainers.algorithm import Algorithm, AlgorithmConfig, Batch, register_algorithm

__all__ = ["GiGPO", "GiGPOConfig", "anchors_of"]


@dataclass(frozen=True, kw_only=True)
class GiGPOConfig(AlgorithmConfig):
    """GiGPO; the shared loss fields are documented on AlgorithmConfig."""

    name: str = "gigpo"
    """Algorithm name."""
    gamma: float = 0.95
    """γ, discount of the step-level returns (paper 0.95)."""
    omega: float = 1.0
    """ω, weight of the step-level advantage (step_advantage_w, paper 1.0)."""
    mode: Literal["mean_norm", "mean_std_norm"] = "mean_std_norm"
    """F = 1 (mean_norm) or the std (mean_std_norm, the ALFWorld script)."""
    episode_stats: Literal["rows", "trajectories"] = "rows"
    """Episode statistics over step rows (verl-agent code) or trajectories (paper text)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.gamma <= 1.0:
            raise InvalidConfig(f"gamma must lie in [0, 1], got {self.gamma}")


def anchors_of(traj: Any) -> list[str]:
    """The anchor state of each step: what the policy saw before acting (exact-match key)."""
    out, state = [], traj.reset_info.get("anchor", traj.first_observation)
    for turn in traj.turns:
        out.append(str(state))
        state = turn.info.get("anchor", turn.observation)
    return out


@register_algorithm
class GiGPO(Algorithm):
    """Episode-level plus anchor-state step-level group advantages."""

    name = "gigpo"
    config_class = GiGPOConfig
    cfg: GiGPOConfig

    def advantages(self, batch: Batch) -> torch.Tensor:
        c = self.cfg
        per_step = gigpo_advantages(  # Eq. (3)–(6)
            batch.turn_rewards(),
            [anchors_of(t) for t in batch.trajectories],
            batch.group_ids,
            gamma=c.gamma, omega=c.omega, mode=c.mode, episode_stats=c.episode_stats,
        )  # fmt: skip
        return batch.broadcast_turns(per_step)
