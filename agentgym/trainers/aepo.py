"""AEPO: Agentic Entropy-Balanced Policy Optimization (arXiv 2510.14545).

AEPO extends ARPO (`agentgym.trainers.arpo`) at rollout and at update time.

Rollout (entropy-balanced, `TreeSampler` with `AEPOBranching`):

    m = clamp(⌊n·σ(β_pre·(H_root − H̄_tool))⌋ + 1, 1, n)      β_pre = `beta` (0.5)       (Eq. 1)
    P(branch) = clip(1 − α/(1 − λ·c_q) + w·ΔH, 0, 1)           α=`base`, λ=`penalty`, w=`weight` (Eq. 2)

where c_q counts the consecutive rounds in which prompt q created at least one new path.

Update (entropy-balanced policy optimisation):

    upper_k = (1+ε_h)·ρ_k / sg(ρ_k)            forward value 1+ε_h, gradient of ρ kept      (Eq. 3)
    ℓ_k = max(−A ρ_k, −A·clamp(ρ_k, 1−ε_l, upper_k)),  dual-clip for A < 0                 (Eq. 4)
    Ĥ_k = (H_k − mean_m H)/std_m H,  A_k ← A_k·(1 + w_H·sg(Ĥ_k))                         (Eq. 5)

Code-vs-paper notes: the official code computes H only when `entropy_coeff ≠ 0`, and its released
config sets entropy_coeff = 0, so Eq. 5 is silently inactive there. Here Eq. 5 always computes H
when enabled. The official code writes Eq. 2 as clip((U + w·ΔH)·max(0, 1 − λc), 0, 1) ≥ α with
U ~ U(0, 1) (`should_branch`); `branch_probability` is its closed form.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "AEPOBranching",
    "branch_probability",
    "entropy_aware_advantages",
    "entropy_balanced_token_loss",
    "initial_rollouts",
    "should_branch",
]


def branch_probability(
    delta_h: float, consecutive: int, *, base: float = 0.5, weight: float = 0.2, penalty: float = 0.05
) -> float:
    """P(branch) with the consecutive-branch penalty (Eq. 2); equals ARPO's at `consecutive = 0`.

    >>> round(branch_probability(0.3, 2), 4), branch_probability(0.0, 10), round(branch_probability(0.3, 10), 4)
    (0.5044, 0.0, 0.06)
    """
    factor = max(0.0, 1.0 - penalty * consecutive)
    if factor == 0.0:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - base / factor + weight * delta_h)))


def should_branch(
    delta_h: float, consecutive: int, u: float, *, base: float = 0.5, weight: float = 0.2, penalty: float = 0.05
) -> bool:
    """The official decision: branch iff clip((U + w·ΔH)·max(0, 1 − λc), 0, 1) ≥ base (oracle of Eq. 2)."""
    p = (u + weight * delta_h) * max(0.0, 1.0 - penalty * consecutive)
    return min(1.0, max(0.0, p)) >= base


class AEPOBranching:
    """Branch rule for `TreeSampler` with AEPO's consecutive-branch penalty."""

    def __init__(self, base: float = 0.5, weight: float = 0.2, penalty: float = 0.05):
        self.base, self.weight, self.penalty = base, weight, penalty

    def probability(self, delta_h: float, consecutive: int = 0) -> float:
        return branch_probability(delta_h, consecutive, base=self.base, weight=self.weight, penalty=self.penalty)


def initial_rollouts(n: int, h_root: float, h_tool: float, *, beta: float = 0.5) -> int:
    """Entropy pre-monitoring (Eq. 1): how many of the `n` paths start as full rollouts.

    >>> initial_rollouts(12, 1.0, 1.0), initial_rollouts(12, 3.0, 1.0), initial_rollouts(12, 1.0, 3.0)
    (7, 9, 4)
    """
    if n < 1:
        raise ValueError(f"the rollout budget n must be >= 1, got {n}")
    share = 1.0 / (1.0 + math.exp(-beta * (h_root - h_tool)))
    return int(min(n, max(1, math.floor(n * share) + 1)))


def entropy_aware_advantages(
    advantages: torch.Tensor, entropies: torch.Tensor, mask: torch.Tensor, *, weight: float = 0.2
) -> torch.Tensor:
    """A·(1 + w·sg(Ĥ)) with Ĥ the entropy z-scored over valid tokens (Eq. 5).

    Args:
        advantages: (B, T) token advantages.
        entropies: (B, T) full-vocabulary token entropies (detached here).
        mask: (B, T) loss mask; statistics use only tokens with mask 1; masked tokens get 0.
        weight: w_H, 0.2 in the paper.

    >>> entropy_aware_advantages(torch.ones(1, 3), torch.tensor([[1.0, 2.0, 3.0]]), torch.ones(1, 3)).tolist()
    [[0.8, 1.0, 1.2000000476837158]]
    """
    m = mask.to(entropies.dtype)
    h = entropies.detach()
    count = m.sum()
    if count == 0:
        return advantages * m
    mean = (h * m).sum() / count
    var = ((h - mean) ** 2 * m).sum() / (count - 1) if count > 1 else torch.zeros((), dtype=h.dtype)
    std = var.sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    h_hat = (h - mean) / std
    return advantages * (1.0 + weight * h_hat) * m


def entropy_balanced_token_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    clip_c: float | None = 3.0,
    stop_grad_upper: bool = True,
) -> torch.Tensor:
    """Per-token clipped surrogate (Eqs. 3–4); `stop_grad_upper=False` is plain PPO-clip.

    For A > 0 and ρ > 1+ε_h PPO's gradient is 0; with the stop-gradient upper bound it is
    −A(1+ε_h)·∇log π: the clipped token still teaches, at a bounded rate.
    """
    ratio = torch.exp(logp - old_logp)
    if stop_grad_upper:
        upper = (1.0 + clip_high) * ratio / ratio.detach()
    else:
        upper = torch.full_like(ratio, 1.0 + clip_high)
    clipped = torch.minimum(torch.clamp(ratio, min=1.0 - clip_low), upper)
    loss = torch.maximum(-advantages * ratio, -advantages * clipped)
    if clip_c is not None:
        loss = torch.where(advantages < 0, torch.minimum(loss, -advantages * clip_c), loss)
    return loss
