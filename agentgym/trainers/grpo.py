"""GRPO: Group Relative Policy Optimization (DeepSeekMath, arXiv 2402.03300).

    A_i = (R_i − mean_{j∈g} R_j) / (std_{j∈g} R_j + ε)          (Eq. 1, unbiased std; `scale_by_std`)
    A_i = R_i − mean_{j∈g} R_j                                   (Eq. 1', Dr.GRPO: scale_by_std=false)
    L   = Agg(max(−Aρ, −A·clip(ρ, 1−ε_l, 1+ε_h))) + β·Agg(KL) − c_H·Agg(H)   (Eq. 2, shared objective)

R_i is the total env reward of rollout i, broadcast to every policy token (env tokens get 0).
Clip-higher (DAPO) is `clip_high` > `clip_low`; Dr.GRPO pairs `scale_by_std: false` with
`loss_agg: seq-mean-token-sum-norm`. Defaults: verl's ppo_trainer.yaml (ALGORITHMS.md §1.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agentgym.trainers.advantages import grpo_advantages
from agentgym.trainers.algorithm import Algorithm, AlgorithmConfig, Batch, register_algorithm

__all__ = ["GRPO", "GRPOConfig"]


@dataclass(frozen=True, kw_only=True)
class GRPOConfig(AlgorithmConfig):
    """GRPO; the shared loss fields are documented on AlgorithmConfig."""

    name: str = "grpo"
    """Algorithm name."""
    scale_by_std: bool = True
    """Divide by the group std (verl norm_adv_by_std_in_grpo=True); false = Dr.GRPO."""
    eps: float = 1e-6
    """ε added to the group std (verl 1e-6)."""


@register_algorithm
class GRPO(Algorithm):
    """Outcome-level group-relative advantages on the shared clipped objective."""

    name = "grpo"
    config_class = GRPOConfig
    cfg: GRPOConfig

    def advantages(self, batch: Batch) -> torch.Tensor:
        a = grpo_advantages(
            batch.outcome_rewards(), batch.group_ids, scale_by_std=self.cfg.scale_by_std, eps=self.cfg.eps
        )  # Eq. (1)
        return batch.broadcast(a)
