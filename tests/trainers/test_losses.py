"""Golden tests for loss terms (ALGORITHMS.md Appendix A): KL, PPO clip/dual-clip, aggregation."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.errors import InvalidConfig
from agentgym.trainers.losses import (
    AGG_MODES,
    aggregate,
    entropy_band_penalty,
    kl_estimate,
    policy_loss,
    value_loss,
)


def test_kl_oracles():
    lp, ref = torch.tensor(math.log(0.5)), torch.tensor(math.log(0.25))
    assert float(kl_estimate(lp, ref, "k1")) == pytest.approx(0.693147, abs=1e-6)
    assert float(kl_estimate(lp, ref, "k2")) == pytest.approx(0.240227, abs=1e-6)
    assert float(kl_estimate(lp, ref, "k3")) == pytest.approx(0.193147, abs=1e-6)
    assert float(kl_estimate(lp, lp, "k3")) == 0.0
    with pytest.raises(InvalidConfig, match="k1"):
        kl_estimate(lp, ref, "k4")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("adv", "ratio", "expect"),
    [(1, 1.5, -1.2), (1, 0.5, -0.5), (-1, 0.5, 0.8), (-1, 5.0, 3.0), (-1, 1.1, 1.1)],
)
def test_ppo_token_loss_oracles(adv, ratio, expect):
    logp = torch.tensor([[math.log(ratio)]], dtype=torch.float64)
    loss, _ = policy_loss(
        logp, torch.zeros_like(logp), torch.tensor([[float(adv)]]), torch.ones(1, 1), dual_clip=3.0
    )
    assert float(loss.detach()) == pytest.approx(expect, abs=1e-9)


def test_ppo_metrics():
    logp = torch.log(torch.tensor([[1.5, 0.5, 5.0, 1.0]]))
    adv = torch.tensor([[1.0, 1.0, -1.0, 1.0]])
    _, m = policy_loss(logp, torch.zeros_like(logp), adv, torch.ones(1, 4))
    assert m["clip_frac"] == pytest.approx(0.25)  # only token 0: A > 0 and ρ > 1 + ε
    assert m["dual_clip_frac"] == pytest.approx(0.25)


def test_aggregation_oracles():
    loss = torch.tensor([[1.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    got = {mode: float(aggregate(loss, mask, mode)) for mode in AGG_MODES}
    assert got == pytest.approx(
        {
            "token-mean": 4 / 3,
            "seq-mean-token-sum": 2.0,
            "seq-mean-token-mean": 1.5,
            "seq-mean-token-sum-norm": 4 / 3,
        },
        abs=1e-6,
    )
    with pytest.raises(InvalidConfig, match="aggregation mode"):
        aggregate(loss, mask, "sum")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", AGG_MODES)
def test_empty_mask_gives_zero_loss(mode):
    logp = torch.randn(3, 5, requires_grad=True)
    loss, m = policy_loss(logp, torch.randn(3, 5), torch.randn(3, 5), torch.zeros(3, 5), agg=mode)
    assert float(loss.detach()) == 0.0 and all(math.isfinite(v) for v in m.values())
    loss.backward()
    assert torch.all(logp.grad == 0)


@pytest.mark.parametrize("mode", AGG_MODES)
def test_padding_and_masked_tokens_never_change_the_loss(mode):
    g = torch.Generator().manual_seed(0)
    B, T = 4, 6
    logp, old, adv = (torch.randn(B, T, generator=g) * 0.3 for _ in range(3))
    mask = (torch.rand(B, T, generator=g) > 0.3).long()
    kw = {"norm_const": 10.0} if mode == "seq-mean-token-sum-norm" else {}
    base, _ = policy_loss(logp, old, adv, mask, agg=mode, **kw)
    # Junk on masked tokens.
    junk = mask == 0
    l2, o2, a2 = logp.clone(), old.clone(), adv.clone()
    l2[junk], o2[junk], a2[junk] = 50.0, -50.0, 1e6
    changed, _ = policy_loss(l2, o2, a2, mask, agg=mode, **kw)
    # Extra right padding.
    pad = lambda x, v: torch.cat([x, torch.full((B, 3), v, dtype=x.dtype)], dim=1)  # noqa: E731
    padded, _ = policy_loss(pad(logp, 7.0), pad(old, -3.0), pad(adv, 9.0), pad(mask, 0), agg=mode, **kw)
    assert float(changed) == pytest.approx(float(base), abs=1e-6)
    assert float(padded) == pytest.approx(float(base), abs=1e-6)


@pytest.mark.parametrize("mode", AGG_MODES)
def test_micro_batch_accumulation_equals_full_batch(mode):
    """1×8 accumulation with global denominators equals one batch of 8 (value and gradient)."""
    g = torch.Generator().manual_seed(1)
    B, T = 8, 5
    w = torch.randn(B, T, generator=g, requires_grad=True)
    old, adv = torch.randn(B, T, generator=g) * 0.1, torch.randn(B, T, generator=g)
    mask = (torch.rand(B, T, generator=g) > 0.4).long()
    glob = {"num_tokens": float(mask.sum()), "num_seqs": float(B), "norm_const": float(T)}
    full, _ = policy_loss(w, old, adv, mask, agg=mode, **glob)
    (g_full,) = torch.autograd.grad(full, w)
    total = 0.0
    grads = torch.zeros_like(w)
    for i in range(B):
        part, _ = policy_loss(w[i : i + 1], old[i : i + 1], adv[i : i + 1], mask[i : i + 1], agg=mode, **glob)
        (gi,) = torch.autograd.grad(part, w)
        grads += gi
        total += float(part.detach())
    assert total == pytest.approx(float(full.detach()), abs=1e-6)
    assert torch.allclose(grads, g_full, atol=1e-6)


def test_value_loss_clipping():
    v = torch.tensor([[1.0, 0.0]])
    old = torch.tensor([[0.0, 0.0]])
    ret = torch.tensor([[2.0, 0.0]])
    loss, m = value_loss(v, old, ret, torch.tensor([[1, 0]]), clip=0.5)
    # unclipped (1-2)^2 = 1, clipped (0.5-2)^2 = 2.25 -> max 2.25
    assert float(loss.detach()) == pytest.approx(2.25) and m["value_clip_frac"] == 1.0


def test_entropy_band_penalty_has_gradient_outside_band_only():
    h = torch.tensor([0.3, 1.0, 1.6], requires_grad=True)
    pen = entropy_band_penalty(h, 1.0, 0.5, 1.5)
    assert pen.tolist() == pytest.approx([0.04, 0.0, 0.01], abs=1e-6)
    pen.sum().backward()
    assert h.grad.tolist() == pytest.approx([-0.4, 0.0, 0.2], abs=1e-6)
