"""Advantage estimators: pure functions from rewards (and values) to advantages.

Every algorithm composes these; none of them knows about envs, tokenizers or models. Equations
and numeric oracles: ALGORITHMS.md §1.2 (GRPO), §2.2 (GAE), §3.2 (GiGPO), §4.2 (IGPO).

>>> grpo_advantages([1.0, 0.0, 0.0, 0.0], [0, 0, 0, 0]).round(decimals=4).tolist()
[1.5, -0.5, -0.5, -0.5]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import torch

from agentgym.errors import InvalidConfig

__all__ = [
    "broadcast_to_tokens",
    "discounted_sum",
    "gae",
    "gigpo_advantages",
    "group_normalize",
    "grpo_advantages",
    "igpo_turn_advantages",
    "masked_whiten",
]

StdKind = Literal["unbiased", "population"] | None


def _as_tensor(values: Sequence[float] | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(values)
    return t if t.is_floating_point() else t.to(torch.get_default_dtype())


def _group_index(group_ids: Sequence[Hashable] | torch.Tensor, n: int) -> torch.Tensor:
    """Map arbitrary hashable group ids to dense ints 0..G-1 (order of first appearance)."""
    ids = group_ids.tolist() if isinstance(group_ids, torch.Tensor) else list(group_ids)
    if len(ids) != n:
        raise InvalidConfig(f"group_ids must have one id per value: expected {n}, got {len(ids)}")
    dense: dict[Hashable, int] = {}
    return torch.tensor([dense.setdefault(g, len(dense)) for g in ids], dtype=torch.long)


def group_normalize(
    values: Sequence[float] | torch.Tensor,
    group_ids: Sequence[Hashable] | torch.Tensor,
    *,
    std: StdKind = "unbiased",
    eps: float = 1e-6,
    eps_in_sqrt: float = 0.0,
    singleton: Literal["keep", "zero"] = "keep",
) -> torch.Tensor:
    """Subtract the group mean and (optionally) divide by the group std plus `eps`.

    Args:
        values: 1-D rewards, one per sample.
        group_ids: one hashable id per sample; samples with equal ids form a group.
        std: "unbiased" (N−1, verl's GRPO), "population" (N, IGPO) or None (mean-only, Dr.GRPO).
        eps: added to the std in the denominator.
        eps_in_sqrt: added to the variance under the square root (IGPO uses 1e-8).
        singleton: a group of one sample has no statistics; "keep" gives it mean 0 and std 1
            (so A = value, verl's GRPO), "zero" gives mean = value (A = 0, GiGPO step groups).

    Returns:
        A tensor shaped like `values`. All-equal groups give exactly zero, never NaN.
    """
    x = _as_tensor(values)
    idx = _group_index(group_ids, x.numel())
    n_groups = int(idx.max()) + 1 if x.numel() else 0
    count = torch.zeros(n_groups, dtype=x.dtype).index_add_(0, idx, torch.ones_like(x))
    mean = torch.zeros(n_groups, dtype=x.dtype).index_add_(0, idx, x) / count
    centred = x - mean[idx]
    sq = torch.zeros(n_groups, dtype=x.dtype).index_add_(0, idx, centred**2)
    if std == "unbiased":
        var = sq / (count - 1).clamp(min=1)
    elif std == "population":
        var = sq / count
    elif std is None:
        var = None
    else:
        raise InvalidConfig(f"std must be 'unbiased', 'population' or None, got {std!r}")
    single = count[idx] == 1
    if var is None:
        out = centred
    else:
        out = centred / ((var + eps_in_sqrt).sqrt()[idx] + eps)
    if singleton == "keep":
        return torch.where(single, x, out)
    if singleton == "zero":
        return torch.where(single, torch.zeros_like(x), out)
    raise InvalidConfig(f"singleton must be 'keep' or 'zero', got {singleton!r}")


def grpo_advantages(
    rewards: Sequence[float] | torch.Tensor,
    group_ids: Sequence[Hashable] | torch.Tensor,
    *,
    scale_by_std: bool = True,
    eps: float = 1e-6,
) -> torch.Tensor:
    """GRPO outcome advantages (ALGORITHMS.md §1.2): z-score within each prompt group.

    `scale_by_std=False` is Dr.GRPO (mean-only). A group of one gets A = R, as in verl.
    """
    return group_normalize(rewards, group_ids, std="unbiased" if scale_by_std else None, eps=eps)


def discounted_sum(turn_values: Sequence[float] | torch.Tensor, gamma: float) -> torch.Tensor:
    """Reverse discounted cumulative sum: out[t] = Σ_{k≥t} γ^{k−t} x[k] (1-D)."""
    x = _as_tensor(turn_values)
    out = torch.empty_like(x)
    running = torch.zeros((), dtype=x.dtype)
    for t in range(x.numel() - 1, -1, -1):
        running = x[t] + gamma * running
        out[t] = running
    return out


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    *,
    gamma: float,
    lam: float,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over the last dim (ALGORITHMS.md §2.2).

    With `mask`, the recursion runs only over positions where mask = 1: a masked position
    (observation, prompt or padding token) is skipped as if absent, so env tokens between turns
    are a transition with no reward and no value step, never bootstrapped as actions. Masked
    positions get advantage and return 0. The value beyond the last valid position is 0.

    Args:
        rewards, values: (..., T) tensors.
        gamma, lam: discount γ and GAE λ.
        mask: optional (..., T) 0/1 tensor.

    Returns:
        (advantages Â, returns R̂ = Â + V), both (..., T), not whitened (see `masked_whiten`).
    """
    r = rewards.to(values.dtype)
    m = torch.ones_like(values) if mask is None else mask.to(values.dtype)
    T = values.shape[-1]
    adv = torch.zeros_like(values)
    next_value = torch.zeros_like(values[..., 0])
    next_adv = torch.zeros_like(values[..., 0])
    for k in range(T - 1, -1, -1):
        mk = m[..., k]
        delta = r[..., k] + gamma * next_value - values[..., k]  # Eq. δ_k
        a_k = delta + gamma * lam * next_adv  # Eq. Â_k
        adv[..., k] = a_k * mk
        # Masked positions carry the running quantities through unchanged.
        next_value = torch.where(mk > 0, values[..., k], next_value)
        next_adv = torch.where(mk > 0, a_k, next_adv)
    returns = (adv + values) * m
    return adv, returns


def masked_whiten(
    x: torch.Tensor, mask: torch.Tensor, *, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Whiten `x` over positions where mask = 1 (Bessel-corrected variance, as verl)."""
    m = mask.to(x.dtype)
    n = m.sum()
    if n < 1:
        return torch.zeros_like(x)
    mean = (x * m).sum() / n
    var = ((x - mean) ** 2 * m).sum() / (n - 1).clamp(min=1)
    out = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out * m


def broadcast_to_tokens(
    turn_values: torch.Tensor, turn_index: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Spread per-turn values (B, K) onto tokens (B, T) using `turn_index` (−1 = no turn)."""
    idx = turn_index.clamp(min=0).long()
    if turn_values.shape[-1] == 0:
        return torch.zeros(turn_index.shape, dtype=turn_values.dtype)
    idx = idx.clamp(max=turn_values.shape[-1] - 1)
    out = torch.gather(turn_values, -1, idx)
    return out * ((turn_index >= 0) & (mask > 0)).to(out.dtype)


def igpo_turn_advantages(
    turn_rewards: Sequence[Sequence[float]],
    group_ids: Sequence[Hashable],
    *,
    gamma: float = 1.0,
    norm: Literal["joint", "separate"] = "joint",
    eps: float = 1e-6,
) -> list[torch.Tensor]:
    """IGPO turn advantages (ALGORITHMS.md §4.2, paper Eq. 6–7): normalise, then discount.

    Args:
        turn_rewards: per rollout, its information-gain rewards (one per tool turn) followed by
            its outcome reward (last element).
        group_ids: one id per rollout.
        gamma: turn discount γ.
        norm: "joint" pools IG and outcome rewards of a group (paper); "separate" normalises
            the outcome rewards and the IG rewards each among themselves (official train.sh).

    Returns:
        One 1-D tensor per rollout: A_{i,t} = Σ_{k≥t} γ^{k−t} Ã_{i,k}.

    Statistics use the population std √(var + 1e-8) + eps; a one-sample pool gets std 1
    (official code). Unlike the official code, an IG reward of exactly 0 stays in the pool.
    """
    flat, gids, kinds, owner = [], [], [], []
    for i, (rs, g) in enumerate(zip(turn_rewards, group_ids, strict=True)):
        if len(rs) == 0:
            raise InvalidConfig(
                f"rollout {i} has no turn rewards; expected IG rewards then an outcome reward"
            )
        for t, r in enumerate(rs):
            flat.append(float(r))
            is_outcome = t == len(rs) - 1
            gids.append((g, "all" if norm == "joint" else ("outcome" if is_outcome else "ig")))
            kinds.append(is_outcome)
            owner.append(i)
    if norm not in ("joint", "separate"):
        raise InvalidConfig(f"norm must be 'joint' or 'separate', got {norm!r}")
    x = torch.tensor(flat, dtype=torch.float64)
    normed = group_normalize(x, gids, std="population", eps=eps, eps_in_sqrt=1e-8, singleton="zero")
    # verl's IGPO: a pool of one keeps mean subtraction (→ 0) with std 1.
    out, pos = [], 0
    for rs in turn_rewards:
        out.append(discounted_sum(normed[pos : pos + len(rs)], gamma))
        pos += len(rs)
    return out


def gigpo_advantages(
    step_rewards: Sequence[Sequence[float]],
    anchors: Sequence[Sequence[Hashable]],
    group_ids: Sequence[Hashable],
    *,
    episode_rewards: Sequence[float] | None = None,
    gamma: float = 0.95,
    omega: float = 1.0,
    mode: Literal["mean_norm", "mean_std_norm"] = "mean_norm",
    episode_stats: Literal["rows", "trajectories"] = "rows",
    eps: float = 1e-6,
) -> list[torch.Tensor]:
    """GiGPO per-step advantages A = A^E + ω·A^S (ALGORITHMS.md §3.2).

    Args:
        step_rewards: per trajectory, its per-step rewards.
        anchors: per trajectory, one hashable anchor state per step (exact-match grouping).
        group_ids: one prompt-group id per trajectory.
        episode_rewards: R(τ_i); defaults to the sum of the step rewards.
        gamma: step discount γ for the step-level returns.
        omega: weight ω of the step-level advantage.
        mode: "mean_norm" (F = 1) or "mean_std_norm" (F = unbiased std + eps).
        episode_stats: "rows" counts every step as a sample (verl-agent code); "trajectories"
            counts each trajectory once (paper).

    Returns:
        One 1-D tensor of per-step advantages per trajectory.
    """
    if mode not in ("mean_norm", "mean_std_norm"):
        raise InvalidConfig(f"mode must be 'mean_norm' or 'mean_std_norm', got {mode!r}")
    if episode_stats not in ("rows", "trajectories"):
        raise InvalidConfig(f"episode_stats must be 'rows' or 'trajectories', got {episode_stats!r}")
    std: StdKind = "unbiased" if mode == "mean_std_norm" else None
    ep_r = (
        [float(sum(r)) for r in step_rewards]
        if episode_rewards is None
        else [float(r) for r in episode_rewards]
    )
    lengths = [len(r) for r in step_rewards]
    # Episode level.
    if episode_stats == "rows":
        rows = [ep_r[i] for i, n in enumerate(lengths) for _ in range(n)]
        row_groups = [group_ids[i] for i, n in enumerate(lengths) for _ in range(n)]
        a_rows = group_normalize(rows, row_groups, std=std, eps=eps, singleton="zero")
        a_ep = list(torch.split(a_rows, lengths))
    else:
        a_traj = group_normalize(ep_r, group_ids, std=std, eps=eps, singleton="zero")
        a_ep = [a_traj[i].expand(n) for i, n in enumerate(lengths)]
    # Step level: discounted returns grouped by (prompt group, anchor state).
    returns = torch.cat([discounted_sum(r, gamma) for r in step_rewards]) if lengths else torch.zeros(0)
    step_groups = [(group_ids[i], a) for i, anc in enumerate(anchors) for a in anc]
    a_step = list(
        torch.split(group_normalize(returns, step_groups, std=std, eps=eps, singleton="zero"), lengths)
    )
    return [e.to(torch.float64) + omega * s.to(torch.float64) for e, s in zip(a_ep, a_step, strict=True)]
