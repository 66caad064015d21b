"""Golden tests for advantage estimators (ALGORITHMS.md Appendix A) and their invariants."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.errors import InvalidConfig
from agentgym.trainers.advantages import (
    broadcast_to_tokens,
    discounted_sum,
    gae,
    gigpo_advantages,
    group_normalize,
    grpo_advantages,
    igpo_turn_advantages,
    masked_whiten,
)

approx = lambda xs, tol=1e-4: pytest.approx(xs, abs=tol)  # noqa: E731


# ---------------------------------------------------------------- GRPO
def test_grpo_oracles():
    assert grpo_advantages(torch.tensor([1.0, 0, 0, 0], dtype=torch.float64), [0] * 4).tolist() == approx(
        [1.499997000006, -0.499999000002, -0.499999000002, -0.499999000002], 1e-9
    )
    assert grpo_advantages(torch.tensor([1.0, 1, 0, 0], dtype=torch.float64), [0] * 4).tolist() == approx(
        [0.8660239037870368] * 2 + [-0.8660239037870368] * 2, 1e-9
    )
    assert grpo_advantages([1.0, 0, 0, 0], [0] * 4, scale_by_std=False).tolist() == approx(
        [0.75, -0.25, -0.25, -0.25], 1e-12
    )
    pop = group_normalize(torch.tensor([1.0, 0, 0, 0], dtype=torch.float64), [0] * 4, std="population")
    assert pop[:2].tolist() == approx([1.7320468425750732, -0.5773489475250244], 1e-6)


def test_grpo_all_equal_zero_and_no_nan():
    a = grpo_advantages([1.0, 1, 1, 1, 0, 0], ["a"] * 4 + ["b"] * 2)
    assert torch.equal(a, torch.zeros(6))
    assert grpo_advantages([0.3], ["x"]).tolist() == approx([0.3])  # group of one: A = R (verl)


def test_grpo_invariants_sum_zero_and_affine():
    g = torch.Generator().manual_seed(0)
    r = torch.rand(24, generator=g, dtype=torch.float64)
    ids = [i // 6 for i in range(24)]
    a = grpo_advantages(r, ids)
    for k in range(4):
        assert abs(float(a[k * 6 : (k + 1) * 6].sum())) < 1e-9
    b = grpo_advantages(3.0 * r + 7.0, ids)
    assert torch.allclose(a, b, atol=1e-4)


def test_group_normalize_loop_vs_vectorised():
    g = torch.Generator().manual_seed(1)
    r = torch.randn(30, generator=g, dtype=torch.float64)
    ids = [int(x) for x in torch.randint(0, 5, (30,), generator=g)]
    fast = group_normalize(r, ids)
    for i in range(30):
        members = torch.tensor([float(r[j]) for j in range(30) if ids[j] == ids[i]], dtype=torch.float64)
        expect = (
            float(r[i])
            if len(members) == 1
            else (float(r[i]) - members.mean().item()) / (members.std().item() + 1e-6)
        )
        assert float(fast[i]) == pytest.approx(expect, abs=1e-9)


def test_group_normalize_bad_args():
    with pytest.raises(InvalidConfig, match="one id per value"):
        group_normalize([1.0, 2.0], [0])
    with pytest.raises(InvalidConfig, match="std must be"):
        group_normalize([1.0, 2.0], [0, 0], std="bessel")  # type: ignore[arg-type]


# ---------------------------------------------------------------- GAE
def test_gae_oracles():
    r = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    v = torch.full((3,), 0.5, dtype=torch.float64)
    a, ret = gae(r, v, gamma=1.0, lam=1.0)
    assert a.tolist() == approx([0.5, 0.5, 0.5], 1e-12) and ret.tolist() == approx([1.0, 1.0, 1.0], 1e-12)
    a, ret = gae(r, v, gamma=0.9, lam=0.95)
    assert a.tolist() == approx([0.2727625, 0.3775, 0.5], 1e-9)
    assert ret.tolist() == approx([0.7727625, 0.8775, 1.0], 1e-9)


def test_gae_lambda_one_is_monte_carlo():
    g = torch.Generator().manual_seed(2)
    r, v = torch.rand(7, generator=g, dtype=torch.float64), torch.rand(7, generator=g, dtype=torch.float64)
    _, ret = gae(r, v, gamma=0.9, lam=1.0)
    assert torch.allclose(ret, discounted_sum(r, 0.9))


def test_gae_masked_skips_observation_tokens():
    """Env tokens between turns are skipped: same result as GAE over the policy tokens alone."""
    g = torch.Generator().manual_seed(3)
    r, v = (
        torch.rand(2, 9, generator=g, dtype=torch.float64),
        torch.rand(2, 9, generator=g, dtype=torch.float64),
    )
    mask = torch.tensor([[0, 1, 1, 0, 0, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0, 1, 0, 0]])
    a, ret = gae(r, v, gamma=0.97, lam=0.9, mask=mask)
    for b in range(2):
        keep = mask[b].bool()
        a_ref, ret_ref = gae(r[b][keep], v[b][keep], gamma=0.97, lam=0.9)
        assert torch.allclose(a[b][keep], a_ref) and torch.allclose(ret[b][keep], ret_ref)
        assert torch.all(a[b][~keep] == 0)
    # Junk in masked positions never changes the result.
    r2, v2 = r.clone(), v.clone()
    r2[mask == 0], v2[mask == 0] = 99.0, -42.0
    a2, _ = gae(r2, v2, gamma=0.97, lam=0.9, mask=mask)
    assert torch.allclose(a, a2)


def test_masked_whiten():
    x = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    m = torch.tensor([[1, 1, 1, 0]])
    w = masked_whiten(x, m)
    assert w[0, :3].tolist() == approx([-1.0, 0.0, 1.0], 1e-5) and w[0, 3] == 0
    assert torch.equal(masked_whiten(x, torch.zeros_like(m)), torch.zeros_like(x))


def test_broadcast_to_tokens():
    turn = torch.tensor([[10.0, 20.0]])
    ti = torch.tensor([[-1, 0, 0, -1, 1, 1, -1]])
    m = (ti >= 0).long()
    assert broadcast_to_tokens(turn, ti, m).tolist() == [[0, 10, 10, 0, 20, 20, 0]]


# ---------------------------------------------------------------- IGPO
def test_igpo_prob_diff_joint_and_separate():
    rewards = [[0.2, 0.3, 1.0], [-0.05, 0.0]]
    joint = igpo_turn_advantages(rewards, ["g", "g"], gamma=1.0, norm="joint")
    assert joint[0].tolist() == approx([1.6695, 1.9080, 1.8815])
    assert joint[1].tolist() == approx([-1.6695, -0.7685])
    sep = igpo_turn_advantages(rewards, ["g", "g"], gamma=1.0, norm="separate")
    assert sep[0].tolist() == approx([2.3587, 2.0190, 1.0])
    assert sep[1].tolist() == approx([-2.3587, -1.0])


def test_igpo_log_prob_diff_joint():
    rewards = [[math.log(3), math.log(2), 1.0], [math.log(0.5), 0.0]]
    adv = igpo_turn_advantages(rewards, [0, 0], norm="joint")
    assert adv[0].tolist() == approx([2.2661, 1.2623, 0.8580])
    assert adv[1].tolist() == approx([-2.2661, -0.6206])


def test_igpo_invariants():
    g = torch.Generator().manual_seed(4)
    rewards = [torch.rand(int(n), generator=g).tolist() for n in torch.randint(1, 5, (6,), generator=g)]
    ids = [0, 0, 0, 1, 1, 1]
    adv = igpo_turn_advantages(rewards, ids, gamma=1.0)
    # A_{i,1} = sum of the rollout's normalised rewards; normalised rewards of a group sum to 0.
    for grp in (0, 1):
        total = sum(float(adv[i][0]) for i in range(6) if ids[i] == grp)
        assert abs(total) < 1e-6
    same = igpo_turn_advantages([[0.5, 1.0], [0.5, 1.0]], [0, 0], norm="joint")
    assert all(torch.isfinite(a).all() for a in same)


# ---------------------------------------------------------------- GiGPO
def _gigpo_case(mode):
    return gigpo_advantages(
        [[0.0, 1.0], [0.0, 0.0, 0.0]],
        [["X", "Y"], ["X", "X", "W"]],
        ["g", "g"],
        gamma=0.95,
        omega=1.0,
        mode=mode,
    )


def test_gigpo_oracles():
    ep_only = gigpo_advantages(
        [[0.0, 1.0], [0.0, 0.0, 0.0]], [["P", "Q"], ["R", "S", "T"]], ["g", "g"], omega=1.0
    )
    assert ep_only[0].tolist() == approx([0.6, 0.6]) and ep_only[1].tolist() == approx([-0.4] * 3)
    a = _gigpo_case("mean_norm")
    # A0: episode 0.6 + step 0.63333; A1 (Y singleton): 0.6 + 0; B0,B1: -0.4 - 0.31667; B2 (W): -0.4
    assert a[0].tolist() == approx([0.6 + 0.63333, 0.6])
    assert a[1].tolist() == approx([-0.4 - 0.31667, -0.4 - 0.31667, -0.4])
    s = _gigpo_case("mean_std_norm")
    assert s[0].tolist() == approx([1.0954 + 1.1547, 1.0954])
    assert s[1].tolist() == approx([-0.7303 - 0.5774, -0.7303 - 0.5774, -0.7303])


def test_gigpo_omega_zero_is_row_weighted_grpo():
    a = gigpo_advantages(
        [[0.0, 1.0], [0.0, 0.0, 0.0]],
        [["X", "Y"], ["X", "X", "W"]],
        ["g", "g"],
        omega=0.0,
        mode="mean_std_norm",
    )
    rows = grpo_advantages([1.0, 1.0, 0.0, 0.0, 0.0], ["g"] * 5)
    assert torch.cat(a).tolist() == approx(rows.tolist())
    traj = gigpo_advantages(
        [[0.0, 1.0], [0.0, 0.0, 0.0]],
        [["X", "Y"], ["X", "X", "W"]],
        ["g", "g"],
        omega=0.0,
        episode_stats="trajectories",
    )
    assert traj[0].tolist() == approx([0.5, 0.5])


def test_gigpo_all_equal_zero():
    a = gigpo_advantages([[1.0], [1.0]], [["s"], ["s"]], [0, 0], mode="mean_std_norm")
    assert torch.cat(a).abs().max() == 0
