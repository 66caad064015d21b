"""Golden tests: the ALGORITHMS.md §6–9 oracles (Appendix A), recomputed by agentgym's code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agentgym.trainers import aepo, archer, arpo, spear
from agentgym.trainers.losses import clip_cov_mask, policy_loss
from agentgym.trainers.replay import TrajectoryReplayBuffer, replay_batch_size

# ---------------------------------------------------------------- ARPO §6.5


@pytest.mark.parametrize(("dh", "want"), [(-0.5, 0.40), (0.0, 0.50), (0.3, 0.56)])
def test_arpo_branch_probability(dh, want):
    assert arpo.branch_probability(dh, base=0.5, weight=0.2) == pytest.approx(want, abs=1e-12)


def test_arpo_branch_probability_monte_carlo_matches_official_rule():
    rng = np.random.default_rng(0)
    u = rng.random(200_000)
    freq = np.mean([arpo.should_branch(0.3, x) for x in u])
    assert freq == pytest.approx(0.56, abs=0.005)  # the spec's MC run gave 0.5615


def test_arpo_normalised_topk_entropy():
    h = arpo.normalized_topk_entropy([[math.log(0.5), math.log(0.5)]], 151646)
    assert h == pytest.approx(0.05810, abs=5e-6)


def test_arpo_hierarchical_reward_table():
    assert arpo.hierarchical_reward(0.8, format_ok=False, used_tools={"search", "python"}) == -1.0
    assert arpo.hierarchical_reward(0.8, format_ok=True, used_tools={"search"}) == pytest.approx(0.8)
    assert arpo.hierarchical_reward(0.8, format_ok=True, used_tools={"search", "python"}) == pytest.approx(
        0.9
    )
    assert arpo.hierarchical_reward(0.0, format_ok=True, used_tools={"search", "python"}) == 0.0


def test_arpo_hard_attribution_is_mean_over_branches_through_a_turn():
    # root path 0 sampled turns 0-1; path 1 forked after turn 0; path 2 forked from 1 after turn 1
    seg = [[0, 0, 0], [0, 1, 1], [0, 1, 2]]
    adv = [0.9, -0.3, 0.3]
    hard = arpo.attribute_turn_advantages(adv, seg, mode="hard")
    assert hard[0].tolist() == pytest.approx([0.3, 0.9, 0.9])
    assert hard[1].tolist() == pytest.approx([0.3, 0.0, -0.3])
    assert hard[2].tolist() == pytest.approx([0.3, 0.0, 0.3])
    soft = arpo.attribute_turn_advantages(adv, seg, mode="soft")
    assert [s.tolist() for s in soft] == [[0.9] * 3, [-0.3] * 3, [0.3] * 3]
    # the summed advantage on a shared turn is the same in both modes (soft == hard while unclipped)
    assert sum(h[0] for h in hard) == pytest.approx(sum(s[0] for s in soft))


# ---------------------------------------------------------------- AEPO §7.4


@pytest.mark.parametrize(
    ("dh", "c", "want"),
    [(-0.5, 0, 0.40), (0.0, 0, 0.50), (0.3, 0, 0.56), (-0.5, 2, 0.3444), (0.0, 2, 0.4444), (0.3, 2, 0.5044),
     (-0.5, 10, 0.0), (0.0, 10, 0.0), (0.3, 10, 0.06)],
)  # fmt: skip
def test_aepo_branch_probability_table(dh, c, want):
    assert aepo.branch_probability(dh, c, base=0.5, weight=0.2, penalty=0.05) == pytest.approx(want, abs=1e-4)


def test_aepo_equals_arpo_without_consecutive_branches():
    for dh in np.linspace(-3, 3, 25):
        assert aepo.branch_probability(float(dh), 0) == pytest.approx(arpo.branch_probability(float(dh)))


@pytest.mark.parametrize(("dh", "c"), [(0.3, 2), (-0.5, 2), (0.3, 10), (1.0, 5)])
def test_aepo_closed_form_matches_official_rule_monte_carlo(dh, c):
    u = np.random.default_rng(1).random(200_000)
    freq = np.mean([aepo.should_branch(dh, c, x) for x in u])
    assert freq == pytest.approx(aepo.branch_probability(dh, c), abs=0.005)  # spec MC (c=2, ΔH=0.3): 0.5027


def test_aepo_dynamic_initial_rollouts():
    assert aepo.initial_rollouts(12, 1.0, 1.0) == 7
    assert aepo.initial_rollouts(12, 3.0, 1.0) == 9
    assert aepo.initial_rollouts(12, 1.0, 3.0) == 4
    assert aepo.initial_rollouts(12, 100.0, 0.0) == 12  # clamped to n
    assert aepo.initial_rollouts(1, -100.0, 0.0) == 1  # and to 1


def _loss_and_grad(adv: float, ratio: float, *, stop_grad_upper: bool) -> tuple[float, float]:
    logp = torch.tensor([[math.log(ratio)]], dtype=torch.float64, requires_grad=True)
    loss, _ = policy_loss(
        logp, torch.zeros(1, 1, dtype=torch.float64), torch.full((1, 1), adv, dtype=torch.float64),
        torch.ones(1, 1), clip_low=0.2, clip_high=0.2, dual_clip=3.0, stop_grad_upper=stop_grad_upper,
    )  # fmt: skip
    loss.backward()
    return float(loss.detach()), float(logp.grad)


@pytest.mark.parametrize(
    ("adv", "ratio", "ppo", "aepo_"),
    [(1.0, 1.5, (-1.2, 0.0), (-1.2, -1.2)), (1.0, 1.0, (-1.0, -1.0), (-1.0, -1.0)),
     (-1.0, 0.5, (0.8, 0.0), (0.8, 0.0))],
)  # fmt: skip
def test_aepo_stop_gradient_clip_oracle(adv, ratio, ppo, aepo_):
    assert _loss_and_grad(adv, ratio, stop_grad_upper=False) == pytest.approx(ppo)
    assert _loss_and_grad(adv, ratio, stop_grad_upper=True) == pytest.approx(aepo_)


@pytest.mark.parametrize("ratio", [1.21, 1.5, 3.0, 10.0])
@pytest.mark.parametrize("adv", [0.3, 1.0, 2.5])
def test_aepo_clipped_region_gradient_is_minus_a_times_one_plus_eps(adv, ratio):
    _, grad = _loss_and_grad(adv, ratio, stop_grad_upper=True)
    assert grad == pytest.approx(-adv * 1.2)
    assert _loss_and_grad(adv, ratio, stop_grad_upper=False)[1] == 0.0


def test_aepo_entropy_aware_advantage_oracle():
    out = aepo.entropy_aware_advantages(torch.ones(1, 3), torch.tensor([[1.0, 2.0, 3.0]]), torch.ones(1, 3))
    assert out.tolist()[0] == pytest.approx([0.8, 1.0, 1.2])


def test_aepo_entropy_aware_advantage_ignores_masked_tokens_and_stops_gradient():
    ent = torch.tensor([[1.0, 2.0, 3.0, 99.0]], requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0]])
    out = aepo.entropy_aware_advantages(torch.ones(1, 4), ent, mask)
    assert out.tolist()[0] == pytest.approx([0.8, 1.0, 1.2, 0.0])
    assert not out.requires_grad
    same = aepo.entropy_aware_advantages(torch.ones(1, 3), torch.full((1, 3), 5.0), torch.ones(1, 3))
    assert same.tolist()[0] == [1.0, 1.0, 1.0]  # zero std: std := 1, no NaN
    empty = aepo.entropy_aware_advantages(torch.ones(1, 3), torch.ones(1, 3), torch.zeros(1, 3))
    assert empty.tolist()[0] == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------- SPEAR §8.5

STEPS = (0, 50, 100, 150, 200, 250)


def test_spear_tool_call_coefficient_and_bonus():
    got = [spear.toolcall_coefficient(k, 200) for k in STEPS]
    assert got == pytest.approx([1, 0.853553, 0.5, 0.146447, 0, 0], abs=1e-6)
    assert spear.toolcall_bonus(50, 200, 3) == pytest.approx(0.3 * 0.853553, abs=1e-6)
    assert spear.toolcall_bonus(50, 200, 25) == pytest.approx(0.853553, abs=1e-6)  # min(1, 0.1 L)
    assert spear.toolcall_bonus(0, 200, 0) == 0.0
    assert spear.toolcall_coefficient(150, 200, mode="constant") == 1.0


def test_spear_sil_ramp():
    assert [spear.sil_weight(k, 200) for k in STEPS] == pytest.approx(
        [0, 0.146447, 0.5, 0.853553, 1, 1], abs=1e-6
    )
    assert spear.sil_weight(100, 200, coef=2.0) == pytest.approx(1.0)


def test_spear_recalibration():
    adv = spear.recalibrate([1.0, 0.4], [0.2, 0.4, 0.6, 0.8])
    assert adv.tolist() == pytest.approx([0.5, -0.1])
    scaled = spear.recalibrate([1.0], [0.2, 0.4, 0.6, 0.8], std_history=[0.25, 0.25], norm_by_std=True)
    assert scaled[0] == pytest.approx(2.0, rel=1e-5)


def test_spear_replay_trigger_and_power_of_two_batch():
    buf: TrajectoryReplayBuffer[int] = TrajectoryReplayBuffer(capacity=2048, tolerate_steps=5)
    buf.update_baseline([0.2, 0.4, 0.6, 0.8])
    buf.add(list(range(3072)), [1.0] * 3072, [0.5] * 3072, step=0)
    assert not buf.ready()  # 3072 is not > 1.5 × 2048
    buf.add(list(range(3072, 3100)), [1.0] * 28, [0.5] * 28, step=1)
    assert len(buf) == 3100 and buf.ready()
    batch = buf.sample(np.random.default_rng(0))
    assert len(batch.items) == 2048 and batch.eligible == 3100
    assert len(set(batch.items)) == 2048  # sampled without replacement
    assert batch.advantages == pytest.approx(np.full(2048, 0.5))
    assert len(buf) == 0  # cleared after a replay
    assert [replay_batch_size(n, 2048) for n in (1, 2, 3, 1000, 3100, 10**6)] == [1, 2, 2, 512, 2048, 2048]


def test_spear_buffer_admission_staleness_and_negative_drop():
    buf: TrajectoryReplayBuffer[str] = TrajectoryReplayBuffer(
        capacity=4, tolerate_steps=5, trigger_factor=0.1
    )
    assert buf.add(["pos", "neg", "zero"], [1.0, 0.0, 1.0], [0.5, -0.5, 0.0], step=0) == 1
    buf.add(["late-low"], [0.4], [0.1], step=3)
    assert [e.item for e in buf.entries] == ["pos", "late-low"]
    buf.add([], [], [], step=6)  # "pos" is 6 steps behind: evicted
    assert [e.item for e in buf.entries] == ["late-low"]
    buf.update_baseline([0.2, 0.4, 0.6, 0.8])
    batch = buf.sample(np.random.default_rng(0))
    assert batch.items == [] and batch.eligible == 0  # R=0.4 recalibrates to -0.1: dropped


def test_clip_cov_oracle_and_rng():
    A = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    lp = torch.tensor([[-0.1, -3.0, -0.1, -3.0]])
    full = clip_cov_mask(A, lp, torch.ones(1, 4), ratio=1.0, low=1.0, high=5.0)
    assert full.tolist() == [[True, False, False, True]]  # cov = [1.45, −1.45, −1.45, 1.45]
    picks = [clip_cov_mask(A, lp, torch.ones(1, 4), ratio=0.0, low=1.0, high=5.0,
                           rng=torch.Generator().manual_seed(s)).nonzero()[:, 1].tolist() for s in range(40)]  # fmt: skip
    assert all(len(p) == 1 and p[0] in (0, 3) for p in picks)  # max(⌊0·4⌋, 1) = 1 token
    assert {p[0] for p in picks} == {0, 3}  # uniformly among the eligible
    again = clip_cov_mask(
        A, lp, torch.ones(1, 4), ratio=0.0, low=1.0, high=5.0, rng=torch.Generator().manual_seed(3)
    )
    assert again.nonzero()[:, 1].tolist() == picks[3]  # injectable RNG: reproducible
    clipped = torch.tensor([[True, False, False, False]])
    assert clip_cov_mask(A, lp, torch.ones(1, 4), ratio=1.0, low=1.0, high=5.0, clipped=clipped).tolist() == [
        [False, False, False, True]
    ]
    masked = clip_cov_mask(A, lp, torch.tensor([[1, 1, 1, 0]]), ratio=1.0, low=1.0, high=5.0)
    assert not masked[0, 3]
    assert not clip_cov_mask(A, lp, torch.zeros(1, 4), ratio=1.0, low=1.0, high=5.0).any()


def test_drbot_filters():
    assert spear.is_repetitive(list(range(20)) * 10)
    assert not spear.is_repetitive(list(range(20)) * 9)
    keep = spear.group_std_filter([1, 0, 1, 1, 0, 1, 0.5, 0.5], list("aabbccdd"), keep_ratio=0.75)
    assert keep.tolist() == [True, True, True, True, True, True, False, False]


# ---------------------------------------------------------------- ArCHer §9.5


def test_archer_targets_and_advantage():
    assert float(archer.advantage(0.7, 0.6, 0.5, 0.55)) == pytest.approx(0.1, abs=1e-6)
    assert float(archer.q_target(0.0, 0.0, 0.8, 0.95)) == pytest.approx(0.76, abs=1e-6)
    assert float(archer.q_target(0.3, 1.0, 0.8, 0.95)) == pytest.approx(0.3, abs=1e-6)


def test_archer_soft_update():
    src, tgt = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        for p in src.parameters():
            p.fill_(1.0)
        for p in tgt.parameters():
            p.fill_(0.0)
    archer.soft_update(tgt, src, 0.1)
    assert all(torch.allclose(p, torch.full_like(p, 0.1)) for p in tgt.parameters())
    archer.soft_update(tgt, src, 0.1)
    assert all(torch.allclose(p, torch.full_like(p, 0.19)) for p in tgt.parameters())
