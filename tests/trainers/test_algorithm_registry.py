"""Algorithm modules on hand-built batches: IGPO beliefs → rewards, GiGPO anchors, PPO turn GAE, EPO terms."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from agentgym.errors import InvalidConfig
from agentgym.trainers.advantages import gae
from agentgym.trainers.algorithm import Batch, LossContext, ModelOutput
from agentgym.trainers.epo import EPO, EPOConfig
from agentgym.trainers.gigpo import GiGPO, GiGPOConfig, anchors_of
from agentgym.trainers.grpo import GRPO, GRPOConfig
from agentgym.trainers.igpo import IGPO, IGPOConfig, information_gain
from agentgym.trainers.ppo import PPO, PPOConfig, turn_level_gae


def _traj(turn_rewards, observations=None, first="q"):
    observations = observations or [f"o{i}" for i in range(len(turn_rewards))]
    turns = [
        SimpleNamespace(reward=r, observation=o, info={}, action_ids=[1, 2], observation_ids=[3])
        for r, o in zip(turn_rewards, observations, strict=True)
    ]
    return SimpleNamespace(
        turns=turns,
        total_reward=float(sum(turn_rewards)),
        first_observation=first,
        reset_info={},
        prompt_ids=[0],
    )


def _tensors(trajs):
    """Layout: prompt token, then per turn 2 action tokens + 1 observation token."""
    rows = []
    for t in trajs:
        ti, lm = [-1], [0]
        for k, _ in enumerate(t.turns):
            ti += [k, k, -1]
            lm += [1, 1, 0]
        rows.append((ti, lm))
    T = max(len(r[0]) for r in rows) + 2  # extra padding columns
    turn_index = torch.full((len(rows), T), -1)
    loss_mask = torch.zeros(len(rows), T, dtype=torch.long)
    for i, (ti, lm) in enumerate(rows):
        turn_index[i, : len(ti)] = torch.tensor(ti)
        loss_mask[i, : len(lm)] = torch.tensor(lm)
    return {"turn_index": turn_index, "loss_mask": loss_mask, "attention_mask": (turn_index > -2).long()}


def test_information_gain_oracles_and_telescoping():
    a = information_gain([0.10, 0.30, 0.60])
    assert a == pytest.approx([0.2, 0.3])
    assert sum(a) == pytest.approx(0.5)  # π̄_{T−1} − π̄_0
    b = information_gain([0.10, 0.05])
    assert b == pytest.approx([-0.05])
    lp = information_gain([0.10, 0.30, 0.60], "log_prob_diff")
    assert lp == pytest.approx([1.098612, 0.693147], abs=1e-6)
    assert sum(lp) == pytest.approx(math.log(6), abs=1e-6)
    with pytest.raises(InvalidConfig, match="prob_diff"):
        information_gain([0.1], "diff")  # type: ignore[arg-type]


def test_igpo_batch_advantages_match_oracle_and_skip_env_tokens():
    trajs = [_traj([0, 0, 1.0]), _traj([0, 0.0])]
    batch = Batch(trajs, _tensors(trajs), ["g", "g"], extras={"beliefs": [[0.10, 0.30, 0.60], [0.10, 0.05]]})
    algo = IGPO(IGPOConfig())
    assert algo.turn_rewards(batch)[0] == pytest.approx([0.2, 0.3, 1.0])
    adv = algo.advantages(batch)
    lm = batch.tensors["loss_mask"].bool()
    assert adv[0][lm[0]].tolist() == pytest.approx([1.6695, 1.6695, 1.9080, 1.9080, 1.8815, 1.8815], abs=1e-4)
    assert adv[1][lm[1]].tolist() == pytest.approx([-1.6695, -1.6695, -0.7685, -0.7685], abs=1e-4)
    assert torch.all(adv[~lm] == 0)  # observation, prompt and padding tokens get no advantage


def test_igpo_beliefs_score_context_after_each_tool_turn():
    calls = {}

    class FakePolicy:
        chat = SimpleNamespace(encode=lambda s: [ord(c) for c in s])

        def score(self, contexts, continuations):
            calls["contexts"], calls["cont"] = contexts, continuations
            return [math.log(p) for p in (0.1, 0.3, 0.6)]

    traj = _traj([0, 0, 1.0])
    b = IGPO(IGPOConfig(answer_template="<a>{answer}</a>")).beliefs(FakePolicy(), traj, "42")
    assert b == pytest.approx([0.1, 0.3, 0.6])
    prefix = [ord(c) for c in "<a>"]
    assert calls["contexts"] == [[0, *prefix], [0, 1, 2, 3, *prefix], [0, 1, 2, 3, 1, 2, 3, *prefix]]
    assert calls["cont"] == [[ord("4"), ord("2")]] * 3


def test_gigpo_anchors_default_to_observations_and_match_oracle():
    a = _traj([0.0, 1.0], ["Y", "end"], first="X")
    b = _traj([0.0, 0.0, 0.0], ["X", "W", "end"], first="X")
    assert anchors_of(a) == ["X", "Y"] and anchors_of(b) == ["X", "X", "W"]
    a.turns[0].info["anchor"] = "Y-state"
    assert anchors_of(a) == ["X", "Y-state"]
    a.turns[0].info.clear()
    batch = Batch([a, b], _tensors([a, b]), ["g", "g"])
    adv = GiGPO(GiGPOConfig(mode="mean_norm")).advantages(batch)
    assert adv[0, 1].item() == pytest.approx(0.6 + 0.63333, abs=1e-4)
    assert adv[1, 7].item() == pytest.approx(-0.4, abs=1e-4)  # turn 2 of B: singleton anchor W


def test_ppo_turn_gae_equals_gae_over_turns():
    g = torch.Generator().manual_seed(0)
    trajs = [_traj([0.0, 0.0, 1.0]), _traj([0.0, 0.5])]
    t = _tensors(trajs)
    values = torch.rand(t["loss_mask"].shape, generator=g, dtype=torch.float64)
    rewards = torch.zeros_like(values)
    rewards[0, 8], rewards[1, 5] = 1.0, 0.5  # on the last policy token of the last turn
    adv, _ret = turn_level_gae(rewards, values, t["turn_index"], t["loss_mask"], gamma=0.9, lam=0.8)
    ref, _ = gae(torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), values[0, [1, 4, 7]], gamma=0.9, lam=0.8)
    assert adv[0, [1, 2, 4, 5, 7, 8]].tolist() == pytest.approx(ref.repeat_interleave(2).tolist())
    assert adv[0, 3] == 0 and torch.all(adv[t["loss_mask"] == 0] == 0)
    batch = Batch(trajs, {**t, "values": values.float(), "rewards": rewards.float()}, ["g", "g"])
    a_tok = PPO(PPOConfig(whiten=False)).advantages(batch)
    assert torch.all(a_tok[t["loss_mask"] == 0] == 0) and "returns" in batch.tensors


def _ctx(mask):
    return LossContext(
        num_tokens=float(mask.sum()),
        num_seqs=float(mask.shape[0]),
        norm_const=float(mask.shape[1]),
        step=0,
        total_steps=10,
    )


def test_epo_band_penalty_carries_gradient_and_history_window():
    algo = EPO(EPOConfig(window=2, kappa_low=0.5, kappa_high=1.5, entropy_coef=1.0))
    mask = torch.ones(1, 4, dtype=torch.long)
    for h in (1.0, 3.0, 5.0):
        algo.on_batch(Batch([None], {"entropies": torch.full((1, 4), h), "loss_mask": mask}, ["g"]), None)
    assert algo.h_bar == pytest.approx(2.0)  # window of 2: mean(1, 3), measured before adding 5
    assert list(algo.history) == [3.0, 5.0]
    ent = torch.tensor([[0.5, 2.0, 4.0, 2.0]], requires_grad=True)
    loss, m = algo.entropy_loss(ModelOutput(torch.zeros(1, 4), ent), {"loss_mask": mask}, _ctx(mask))
    loss.backward()
    assert m["train/loss/smooth_penalty"] > 0
    g = ent.grad[0]
    assert g[1] == pytest.approx(g[3]) and g[0] < g[1] < g[2]  # band pushes low entropy up, high down


@pytest.mark.parametrize("algo", [GRPO(GRPOConfig(kl_coef=0.1, entropy_coef=0.01)), EPO(EPOConfig())])
def test_shared_loss_all_equal_rewards_and_empty_mask(algo):
    trajs = [_traj([1.0]), _traj([1.0])]
    t = _tensors(trajs)
    adv = GRPO(GRPOConfig()).advantages(Batch(trajs, t, ["g", "g"]))
    assert torch.all(adv == 0) and torch.isfinite(adv).all()
    empty = torch.zeros_like(t["loss_mask"])
    lp = torch.randn(empty.shape, requires_grad=True)
    mb = {
        "loss_mask": empty,
        "old_logprobs": torch.randn(empty.shape),
        "advantages": torch.randn(empty.shape),
        "ref_logprobs": torch.randn(empty.shape),
    }
    loss, metrics = algo.loss(ModelOutput(lp, torch.rand(empty.shape)), mb, _ctx(empty))
    assert float(loss.detach()) == 0.0 and all(math.isfinite(v) for v in metrics.values())
