"""PPO with a value head and GAE, multi-turn aware (Schulman et al. 2017; GAE, arXiv 1506.02438).

    δ_k = r_k + γ V(s_{k+1}) − V(s_k);   Â_k = Σ_l (γλ)^l δ_{k+l};   R̂_k = Â_k + V(s_k)     (Eq. 1–2)
    L_V = Agg( max((V−R̂)², (clip(V, V_old±δ) − R̂)²) )                                   (Eq. 3, δ = value_clip)
    L   = L_clip(Â) + c_V·L_V + β·KL − c_H·H                                                (Eq. 4)

Multi-turn: values exist only at policy tokens. `gae_level: token` runs the recursion over the
policy tokens alone (observation tokens between turns are skipped, never bootstrapped as actions);
`gae_level: turn` runs it over turns, one value per turn (the value at the turn's first token), and
broadcasts each turn's advantage and return to its tokens. Rewards sit on each turn's last policy
token. Defaults: verl ppo_trainer.yaml (γ = λ = 1, value clip 0.5, critic lr 1e-5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from agentgym.errors import InvalidConfig
from agentgym.trainers.advantages import gae, masked_whiten
from agentgym.trainers.algorithm import (
    Algorithm,
    AlgorithmConfig,
    Batch,
    LossContext,
    ModelOutput,
    register_algorithm,
)
from agentgym.trainers.losses import value_loss

__all__ = ["PPO", "PPOConfig", "turn_level_gae"]


@dataclass(frozen=True, kw_only=True)
class PPOConfig(AlgorithmConfig):
    """PPO; the shared loss fields are documented on AlgorithmConfig."""

    name: str = "ppo"
    """Algorithm name."""
    gamma: float = 1.0
    """γ, discount (verl 1.0)."""
    lam: float = 1.0
    """λ, GAE parameter (verl 1.0)."""
    gae_level: Literal["token", "turn"] = "token"
    """GAE over policy tokens or over turns."""
    value_clip: float | None = 0.5
    """δ, value clipping around the old value (verl cliprange_value 0.5); null disables."""
    value_coef: float = 0.5
    """c_V, weight of the value loss in the joint objective."""
    critic_lr: float = 1e-5
    """Learning rate of the value model (verl critic lr 1e-5)."""
    whiten: bool = True
    """Whiten advantages over the batch's policy tokens (verl masked_whiten)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            raise InvalidConfig(f"gamma and lam must lie in [0, 1], got {self.gamma}, {self.lam}")


def turn_level_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    turn_index: torch.Tensor,
    mask: torch.Tensor,
    *,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE with one step per turn: V_t at the turn's first token, r_t = the turn's summed rewards."""
    B = rewards.shape[0]
    K = int(turn_index.max().item()) + 1 if turn_index.numel() and turn_index.max() >= 0 else 0
    r_turn = torch.zeros(B, K, dtype=values.dtype)
    v_turn = torch.zeros(B, K, dtype=values.dtype)
    present = torch.zeros(B, K, dtype=values.dtype)
    for b in range(B):
        for k in range(K):
            sel = (turn_index[b] == k) & (mask[b] > 0)
            if sel.any():
                first = int(sel.nonzero()[0])
                r_turn[b, k], v_turn[b, k], present[b, k] = rewards[b][sel].sum(), values[b, first], 1.0
    a_turn, ret_turn = gae(r_turn, v_turn, gamma=gamma, lam=lam, mask=present)
    idx = turn_index.clamp(min=0, max=max(K - 1, 0))
    on = ((turn_index >= 0) & (mask > 0)).to(values.dtype)
    if K == 0:
        return torch.zeros_like(values), torch.zeros_like(values)
    return torch.gather(a_turn, 1, idx) * on, torch.gather(ret_turn, 1, idx) * on


@register_algorithm
class PPO(Algorithm):
    """Clipped policy loss on GAE advantages plus a clipped value loss."""

    name = "ppo"
    config_class = PPOConfig
    uses_critic = True
    cfg: PPOConfig

    def advantages(self, batch: Batch) -> torch.Tensor:
        c, t = self.cfg, batch.tensors
        mask, values = t["loss_mask"], t["values"].double()
        rewards = t["rewards"].double()
        if c.gae_level == "token":
            adv, ret = gae(rewards, values, gamma=c.gamma, lam=c.lam, mask=mask)  # Eq. (1)–(2)
        else:
            adv, ret = turn_level_gae(rewards, values, t["turn_index"], mask, gamma=c.gamma, lam=c.lam)
        t["returns"] = ret.float()
        if c.whiten:
            adv = masked_whiten(adv, mask)
        return adv.float() * mask

    def extra_loss(
        self, out: ModelOutput, mb: dict[str, torch.Tensor], ctx: LossContext
    ) -> tuple[torch.Tensor, dict[str, float]]:
        if out.values is None:
            raise InvalidConfig(
                "PPO needs values: the trainer must build a ValueModel (Algorithm.uses_critic)"
            )
        lv, m = value_loss(
            out.values,
            mb["values"],
            mb["returns"],
            mb["loss_mask"],
            clip=self.cfg.value_clip,
            agg=self.cfg.loss_agg,
            **ctx.agg_kwargs(self.cfg),
        )  # Eq. (3)
        return self.cfg.value_coef * lv, {
            "train/loss/value": float(lv.detach()),
            **{f"train/{k}": v for k, v in m.items()},
        }
