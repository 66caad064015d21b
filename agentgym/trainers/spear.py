"""SPEAR: Self-imitation with Progressive Exploration for Agentic RL (arXiv 2509.22601).

On-policy part: GRPO/GiGPO with the Dr.BoT switches (clip-higher ε_h = 0.28, no KL, no std
normalisation, response filters, group filter by reward std) and a curriculum tool-call bonus:

    r_tool(k) = min(1, 0.1·L_i)·(cos(πk/K_tool) + 1)/2  for k ≤ K_tool, else 0               (Eq. 1)

Off-policy part: one self-imitation (SIL) pass over replayed positive trajectories with their
stored behaviour log-probs, weighted by a ramp, with advantages recalibrated against a history of
group-mean rewards (`agentgym.trainers.replay.TrajectoryReplayBuffer`):

    w_SIL(k) = c_SIL·(1 − cos(πk/K_SIL))/2  for k ≤ K_SIL, else c_SIL                         (Eq. 2)
    Â = R − p50(group-mean history)  [÷ p50(std history) if norm_by_std];  drop Â < 0          (Eq. 3)

Both passes use Clip-Cov (`clip_cov_mask`): a random `ratio` share of tokens whose covariance
(A − mean A)(log π − mean log π) lies in (low, high) have their loss detached.

Code-vs-paper notes: `trajectory_score_threshold` is documented upstream but unused, so it is not
here; K_SIL defaults to 200 (the script's 100 is never passed to the trainer).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "clip_cov_mask",
    "group_std_filter",
    "is_repetitive",
    "recalibrate",
    "sil_weight",
    "toolcall_bonus",
    "toolcall_coefficient",
]


def toolcall_coefficient(step: int, total: int, *, mode: str = "cosine") -> float:
    """The curriculum factor of Eq. 1: (cos(πk/K)+1)/2 for k ≤ K, else 0 ("constant": 1 for k ≤ K).

    >>> [round(toolcall_coefficient(k, 200), 4) for k in (0, 50, 100, 150, 200, 250)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """
    if total <= 0 or step > total:
        return 0.0
    if mode == "constant":
        return 1.0
    if mode != "cosine":
        raise ValueError(f"tool-call bonus mode must be 'cosine' or 'constant', got {mode!r}")
    return 0.5 * (math.cos(math.pi * step / total) + 1.0)


def toolcall_bonus(step: int, total: int, num_tool_calls: int, *, mode: str = "cosine") -> float:
    """r_tool(k) = min(1, 0.1·L)·coefficient(k) (Eq. 1); L is the number of tool calls of the episode.

    >>> toolcall_bonus(100, 200, 3)
    0.15000000000000002
    """
    return min(1.0, 0.1 * num_tool_calls) * toolcall_coefficient(step, total, mode=mode)


def sil_weight(step: int, total: int, *, coef: float = 1.0) -> float:
    """w_SIL(k) = c·(1 − cos(πk/K))/2 for k ≤ K, else c (Eq. 2).

    >>> [round(sil_weight(k, 200), 4) for k in (0, 50, 100, 150, 200, 250)]
    [0.0, 0.1464, 0.5, 0.8536, 1.0, 1.0]
    """
    if total <= 0 or step >= total:
        return coef
    return coef * 0.5 * (1.0 - math.cos(math.pi * step / total))


def recalibrate(
    returns: Sequence[float] | np.ndarray,
    baseline_history: Sequence[float] | np.ndarray,
    *,
    std_history: Sequence[float] | np.ndarray | None = None,
    norm_by_std: bool = False,
) -> np.ndarray:
    """Â = R − p50(group-mean history), optionally ÷ p50(std history) (Eq. 3).

    The caller drops entries with Â < 0. p50 is numpy's linear-interpolation median.

    >>> recalibrate([1.0, 0.4], [0.2, 0.4, 0.6, 0.8]).round(6).tolist()
    [0.5, -0.1]
    """
    r = np.asarray(returns, dtype=np.float64)
    if len(baseline_history) == 0:
        raise ValueError("recalibration needs a non-empty baseline history of group-mean rewards")
    adv = r - float(np.percentile(np.asarray(baseline_history, dtype=np.float64), 50))
    if norm_by_std:
        if std_history is None or len(std_history) == 0:
            raise ValueError("norm_by_std=True needs a non-empty std_history")
        adv = adv / (float(np.percentile(np.asarray(std_history, dtype=np.float64), 50)) + 1e-6)
    return adv


def clip_cov_mask(
    advantages: torch.Tensor,
    logp: torch.Tensor,
    mask: torch.Tensor,
    *,
    ratio: float,
    low: float,
    high: float,
    rng: torch.Generator | None = None,
    clipped: torch.Tensor | None = None,
) -> torch.Tensor:
    """Clip-Cov token selection: True where a token's policy loss is to be detached.

    cov_k = (A_k − mean_m A)(log π_k − mean_m sg(log π)); eligible tokens have m = 1, are not
    already PPO-clipped and have low < cov < high; max(⌊ratio·Σm⌋, 1) of them are chosen uniformly
    with `rng` (all of them when fewer are eligible).

    >>> A = torch.tensor([[1.0, 1.0, -1.0, -1.0]]); lp = torch.tensor([[-0.1, -3.0, -0.1, -3.0]])
    >>> clip_cov_mask(A, lp, torch.ones(1, 4), ratio=1.0, low=1.0, high=5.0).tolist()
    [[True, False, False, True]]
    """
    m = mask.bool()
    lp = logp.detach()
    if not m.any():
        return torch.zeros_like(m)
    cov = (advantages - advantages[m].mean()) * (lp - lp[m].mean())
    eligible = m & (cov > low) & (cov < high)
    if clipped is not None:
        eligible &= ~clipped.bool()
    idx = eligible.flatten().nonzero().squeeze(-1)
    k = min(max(int(ratio * int(m.sum())), 1), idx.numel())
    chosen = idx[torch.randperm(idx.numel(), generator=rng)[:k]]
    out = torch.zeros(m.numel(), dtype=torch.bool)
    out[chosen] = True
    return out.view_as(m)


def is_repetitive(token_ids: Sequence[int], *, n: int = 20, times: int = 10) -> bool:
    """Dr.BoT's repetition filter: some n-gram occurs at least `times` times.

    >>> is_repetitive([1, 2] * 30, n=4, times=10), is_repetitive(list(range(60)), n=4, times=2)
    (True, False)
    """
    counts: dict[tuple[int, ...], int] = {}
    for i in range(len(token_ids) - n + 1):
        g = tuple(token_ids[i : i + n])
        counts[g] = counts.get(g, 0) + 1
        if counts[g] >= times:
            return True
    return False


def group_std_filter(rewards: Sequence[float], group_ids: Sequence[object], *, keep_ratio: float = 0.75) -> np.ndarray:
    """Keep the `keep_ratio` share of prompt groups with the highest reward std (ties: first seen).

    Returns a boolean keep-mask over the samples; dropped groups stay out of the loss.

    >>> group_std_filter([1, 0, 1, 1, 0, 1, 0.5, 0.5], ["a", "a", "b", "b", "c", "c", "d", "d"], keep_ratio=0.5).tolist()
    [True, True, False, False, True, True, False, False]
    """
    if not 0 < keep_ratio <= 1:
        raise ValueError(f"keep_ratio must be in (0, 1], got {keep_ratio}")
    r = np.asarray(rewards, dtype=np.float64)
    order: list[object] = list(dict.fromkeys(group_ids))
    gid = np.array([order.index(g) for g in group_ids])
    stds = np.array([r[gid == j].std(ddof=1) if (gid == j).sum() > 1 else 0.0 for j in range(len(order))])
    keep_n = max(1, math.ceil(keep_ratio * len(order)))
    ranked = sorted(range(len(order)), key=lambda j: (-stds[j], j))[:keep_n]
    return np.isin(gid, ranked)
