"""EPO: Entropy-regularized Policy Optimization for LLM agents (arXiv 2509.22576).

    H(τ)    = mean over the turns and tokens of trajectory τ of the token entropy      (Eq. 2)
    H̄       = mean batch entropy over the last `window` training steps                 (Eq. 3)
    L_smooth = Agg( relu(κ_l·H̄ − H)² + relu(H − κ_r·H̄)² )                           (Eq. 4, made differentiable)
    β_k     = phase weight: 1 − 0.2(1 − e^{−2k/h}) for k ≤ h, then 0.8·e^{−3(k−h)/h}   (Eq. 5)
    L       = L_GRPO − c_H·[ mean_τ H(τ) − c_s·β_k·L_smooth ]                          (Eq. 6)

Advantages are GRPO's (EPO changes only the entropy terms). The official code builds its band
penalty from constants (`torch.where(cond, 0, p_out)`), so it has no gradient and the update is
plain GRPO + c_H·H; here the penalty is the quadratic band of ALGORITHMS.md §5.2, which pulls the
entropy back into [κ_l·H̄, κ_r·H̄]. H̄ has a configurable window (the code averages all history)
and is measured from the rollout's own token entropies. The code's turn-index gating (apply only
past turn max_step//2) is not reproduced. Defaults: examples/general_running_server.sh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import torch

from agentgym.errors import InvalidConfig
from agentgym.trainers.algorithm import Batch, LossContext, ModelOutput, register_algorithm
from agentgym.trainers.grpo import GRPO, GRPOConfig
from agentgym.trainers.losses import aggregate, entropy_band_penalty, masked_mean
from agentgym.trainers.schedules import epo_phase_weight

__all__ = ["EPO", "EPOConfig"]


@dataclass(frozen=True, kw_only=True)
class EPOConfig(GRPOConfig):
    """EPO on GRPO advantages; `entropy_coef` is c_H (official script 0.001)."""

    name: str = "epo"
    """Algorithm name."""
    entropy_coef: float = 0.001
    """c_H, weight of the trajectory-level entropy term (official 0.001)."""
    smooth_coef: float = 1.0
    """c_s, weight of the smoothing penalty inside the bracket (entropy_smooth_coeff, official 1.0)."""
    kappa_low: float = 0.5
    """κ_l, lower band factor (official 0.5; README runs 0)."""
    kappa_high: float = 1.5
    """κ_r, upper band factor (official 1.5; README runs 2.0)."""
    window: int = 0
    """Steps of history in H̄; 0 = all past steps (official code)."""
    phase_weight: bool = True
    """Multiply the penalty by β_k (enable_smooth_weights)."""
    phase_epochs: int | None = None
    """Horizon of β_k in steps; null = the run's total steps (official code hard-codes 150 epochs)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.kappa_low <= self.kappa_high:
            raise InvalidConfig(f"need 0 <= kappa_low <= kappa_high, got {self.kappa_low}, {self.kappa_high}")
        if self.window < 0:
            raise InvalidConfig(f"window must be >= 0 (0 = all history), got {self.window}")


@register_algorithm
class EPO(GRPO):
    """GRPO with a trajectory-level entropy bonus and a differentiable entropy-smoothing band."""

    name = "epo"
    config_class = EPOConfig
    cfg: EPOConfig

    def __init__(self, cfg: EPOConfig, *, total_steps: int = 1):
        super().__init__(cfg, total_steps=total_steps)
        self.history: deque[float] = deque(maxlen=cfg.window or None)
        self.h_bar = 0.0
        self.step = 0

    def on_batch(self, batch: Batch, ctx: Any) -> None:
        current = float(masked_mean(batch.tensors["entropies"].float(), batch.tensors["loss_mask"]))
        self.h_bar = sum(self.history) / len(self.history) if self.history else current  # Eq. (3)
        self.history.append(current)
        self.step = batch.step
        batch.extras["metrics"] = {"epo/h_bar": self.h_bar, "epo/rollout_entropy": current}

    def phase(self) -> float:
        if not self.cfg.phase_weight:
            return 1.0
        return epo_phase_weight(self.step, max(2, self.cfg.phase_epochs or self.total_steps))  # Eq. (5)

    def entropy_loss(
        self, out: ModelOutput, mb: dict[str, torch.Tensor], ctx: LossContext
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c, mask, agg = self.cfg, mb["loss_mask"], ctx.agg_kwargs(self.cfg)
        h_traj = aggregate(out.entropies, mask, "seq-mean-token-mean", num_seqs=ctx.num_seqs)  # Eq. (2)
        pen = aggregate(
            entropy_band_penalty(out.entropies, self.h_bar, c.kappa_low, c.kappa_high),
            mask,
            c.loss_agg,
            **agg,
        )  # Eq. (4)
        beta = self.phase()
        loss = -c.entropy_coef * (h_traj - c.smooth_coef * beta * pen)  # Eq. (6)
        return loss, {
            "train/entropy": float(masked_mean(out.entropies.detach(), mask)),
            "train/loss/entropy_traj": float(h_traj.detach()),
            "train/loss/smooth_penalty": float(pen.detach()),
            "epo/phase_weight": beta,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"history": list(self.history), "h_bar": self.h_bar}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = deque(state.get("history", []), maxlen=self.cfg.window or None)
        self.h_bar = float(state.get("h_bar", 0.0))
