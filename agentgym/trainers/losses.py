"""Loss terms: the clipped policy surrogate, KL estimators, aggregation, value and entropy terms.

Per-token terms are computed first, then reduced by `aggregate` — two independent choices, as
in TRL and verl. Equations and oracles: ALGORITHMS.md §1.1, §1.4, §2.1, §5.2.

>>> import torch
>>> loss, m = policy_loss(torch.log(torch.tensor([[1.5]])), torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1))
>>> round(loss.item(), 4)
-1.2
"""

from __future__ import annotations

from typing import Literal

import torch

from agentgym.errors import InvalidConfig

__all__ = [
    "AGG_MODES",
    "aggregate",
    "clip_cov_mask",
    "entropy_band_penalty",
    "kl_estimate",
    "masked_mean",
    "policy_loss",
    "value_loss",
]

AggMode = Literal["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"]
AGG_MODES: tuple[str, ...] = (
    "token-mean",
    "seq-mean-token-sum",
    "seq-mean-token-mean",
    "seq-mean-token-sum-norm",
)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `x` over mask = 1 (0 for an empty mask, never NaN)."""
    m = mask.to(x.dtype)
    return (x * m).sum() / m.sum().clamp(min=1)


def kl_estimate(
    logp: torch.Tensor, ref_logp: torch.Tensor, kind: Literal["k1", "k2", "k3"] = "k3"
) -> torch.Tensor:
    """Per-token KL(π ‖ π_ref) estimate from sampled-token log-probs (ALGORITHMS.md §1.1).

    k1 = logπ − logπ_ref; k2 = ½(logπ − logπ_ref)²; k3 ("low_var_kl") = e^d − d − 1 with
    d = logπ_ref − logπ, clamped to [−10, 10] as in verl.
    """
    if kind == "k1":
        return logp - ref_logp
    if kind == "k2":
        return 0.5 * (logp - ref_logp) ** 2
    if kind == "k3":
        d = (ref_logp - logp).clamp(-20.0, 20.0)
        return (d.exp() - d - 1.0).clamp(-10.0, 10.0)
    raise InvalidConfig(f"kl kind must be 'k1', 'k2' or 'k3', got {kind!r}")


def aggregate(
    token_losses: torch.Tensor,
    mask: torch.Tensor,
    mode: AggMode = "token-mean",
    *,
    num_tokens: float | None = None,
    num_seqs: float | None = None,
    norm_const: float | None = None,
) -> torch.Tensor:
    """Reduce (B, T) per-token losses to a scalar over mask = 1.

    token-mean: Σℓm / Σm; seq-mean-token-sum: mean_i Σ_k ℓm; seq-mean-token-mean:
    mean_i (Σ_k ℓm / Σ_k m); seq-mean-token-sum-norm: Σℓm / L (L = padded length T unless
    `norm_const`, verl's Dr.GRPO variant).

    The optional denominators are the *global* batch's (total policy tokens, number of
    sequences, L): with them, the losses of micro-batches sum to the loss of the whole batch,
    which is how gradient accumulation equals one large batch. An empty mask gives 0.
    """
    m = mask.to(token_losses.dtype)
    lm = token_losses * m
    if mode == "token-mean":
        denom = m.sum().clamp(min=1) if num_tokens is None else max(float(num_tokens), 1.0)
        return lm.sum() / denom
    n_seq = float(token_losses.shape[0]) if num_seqs is None else float(num_seqs)
    if mode == "seq-mean-token-sum":
        return lm.sum() / max(n_seq, 1.0)
    if mode == "seq-mean-token-mean":
        per_seq = lm.sum(-1) / m.sum(-1).clamp(min=1)
        return per_seq.sum() / max(n_seq, 1.0)
    if mode == "seq-mean-token-sum-norm":
        L = float(token_losses.shape[-1]) if norm_const is None else float(norm_const)
        return lm.sum() / L
    raise InvalidConfig(f"aggregation mode must be one of {AGG_MODES}, got {mode!r}")


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = 3.0,
    stop_grad_upper: bool = False,
    agg: AggMode = "token-mean",
    **agg_kwargs: float | None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """PPO clipped surrogate with asymmetric clip and dual-clip (ALGORITHMS.md §1.1).

    ℓ = max(−Aρ, −A·clip(ρ, 1−ε_l, 1+ε_h)); where A < 0, ℓ = min(ℓ, −A·c).

    Returns:
        (loss, metrics) with `clip_frac` (tokens where the clipped term is active),
        `dual_clip_frac`, and `approx_kl` = mean(logπ_old − logπ) over mask.
    """
    if clip_low < 0 or clip_high < 0:
        raise InvalidConfig(f"clip ranges must be >= 0, got clip_low={clip_low}, clip_high={clip_high}")
    if dual_clip is not None and dual_clip <= 1.0:
        raise InvalidConfig(f"dual_clip must be > 1 (verl uses 3.0) or None, got {dual_clip}")
    log_ratio = (logp - old_logp).clamp(-20.0, 20.0)
    ratio = log_ratio.exp()
    l1 = -advantages * ratio
    if stop_grad_upper:  # AEPO (ALGORITHMS.md §7.2): upper bound's forward value 1+ε_h, ρ's gradient kept
        l2 = -advantages * torch.minimum(
            ratio.clamp(min=1.0 - clip_low), (1.0 + clip_high) * ratio / ratio.detach()
        )
    else:
        l2 = -advantages * ratio.clamp(1.0 - clip_low, 1.0 + clip_high)
    loss_tok = torch.maximum(l1, l2)
    clipped = l2 > l1
    dual_active = torch.zeros_like(clipped)
    if dual_clip is not None:
        l3 = -advantages * dual_clip
        dual_active = (advantages < 0) & (loss_tok > l3)
        loss_tok = torch.where(advantages < 0, torch.minimum(loss_tok, l3), loss_tok)
    loss = aggregate(loss_tok, mask, agg, **agg_kwargs)
    with torch.no_grad():
        metrics = {
            "clip_frac": float(masked_mean(clipped.to(logp.dtype), mask)),
            "dual_clip_frac": float(masked_mean(dual_active.to(logp.dtype), mask)),
            "approx_kl": float(masked_mean(-log_ratio, mask)),
            "ratio_mean": float(masked_mean(ratio, mask)),
        }
    return loss, metrics


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip: float | None = 0.5,
    agg: AggMode = "token-mean",
    **agg_kwargs: float | None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped value loss max((V−R̂)², (clip(V, V_old±δ)−R̂)²) (ALGORITHMS.md §2.1, no ½)."""
    unclipped = (values - returns) ** 2
    if clip is None:
        tok = unclipped
        frac = torch.zeros_like(values)
    else:
        v_clip = old_values + (values - old_values).clamp(-clip, clip)
        clipped = (v_clip - returns) ** 2
        tok = torch.maximum(unclipped, clipped)
        frac = (clipped > unclipped).to(values.dtype)
    loss = aggregate(tok, mask, agg, **agg_kwargs)
    return loss, {"value_clip_frac": float(masked_mean(frac.detach(), mask))}


def entropy_band_penalty(
    entropy: torch.Tensor, mean_entropy: float | torch.Tensor, kappa_low: float, kappa_high: float
) -> torch.Tensor:
    """Differentiable EPO smoothing penalty (ALGORITHMS.md §5.2, the paper's intent).

    relu(κ_l·H̄ − H)² + relu(H − κ_r·H̄)²: zero inside the band [κ_l·H̄, κ_r·H̄], quadratic
    outside, so its gradient pulls the entropy back into the band (the official code's
    constant penalty has no gradient).
    """
    if kappa_low > kappa_high:
        raise InvalidConfig(f"kappa_low must be <= kappa_high, got {kappa_low} > {kappa_high}")
    h_bar = torch.as_tensor(mean_entropy, dtype=entropy.dtype)
    return torch.relu(kappa_low * h_bar - entropy) ** 2 + torch.relu(entropy - kappa_high * h_bar) ** 2


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
    """Clip-Cov token selection (ALGORITHMS.md §8.2): True where a token's policy loss is detached.

    cov_k = (A_k − mean_m A)(log π_k − mean_m sg(log π)); eligible tokens have m = 1, are not
    already PPO-clipped (`clipped`) and have low < cov < high; max(⌊ratio·Σm⌋, 1) of them are
    chosen uniformly with `rng` (all of them when fewer are eligible).

    >>> A = torch.tensor([[1.0, 1.0, -1.0, -1.0]]); lp = torch.tensor([[-0.1, -3.0, -0.1, -3.0]])
    >>> clip_cov_mask(A, lp, torch.ones(1, 4), ratio=1.0, low=1.0, high=5.0).tolist()
    [[True, False, False, True]]
    """
    m = mask.bool()
    if not m.any():
        return torch.zeros_like(m)
    lp = logp.detach()
    cov = (advantages - advantages[m].mean()) * (lp - lp[m].mean())
    eligible = m & (cov > low) & (cov < high)
    if clipped is not None:
        eligible &= ~clipped.bool()
    idx = eligible.flatten().nonzero().squeeze(-1)
    k = min(max(int(ratio * int(m.sum())), 1), idx.numel())
    # The generator may live on the CPU while the tokens sit on a GPU.
    chosen = idx[torch.randperm(idx.numel(), generator=rng)[:k].to(idx.device)]
    out = torch.zeros(m.numel(), dtype=torch.bool, device=m.device)
    out[chosen] = True
    return out.view_as(m)
