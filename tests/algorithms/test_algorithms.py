"""ARPO, AEPO, SPEAR and ArCHer as algorithms: registry, advantages, losses, buffers, critic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from algo_fakes import ScriptedPolicy

from agentgym.errors import InvalidConfig
from agentgym.rollout.tensors import pad_batch
from agentgym.rollout.trajectory import Trajectory, Turn
from agentgym.trainers import archer
from agentgym.trainers.algorithm import Batch, LossContext, ModelOutput, build_algorithm_config, get_algorithm
from agentgym.trainers.losses import policy_loss
from agentgym.trainers.replay import Transition, TransitionBuffer


def _traj(
    group: str, reward: float, n_turns: int = 2, tool_calls: int = 1, seg=None, success=None
) -> Trajectory:
    turns = []
    for k in range(n_turns):
        last = k == n_turns - 1
        info = {"tool_calls": [{"name": "search"}] * (tool_calls if not last else 0)}
        turns.append(Turn(f"a{k}", [5 + k, 6, 7], [-0.5, -0.4, -0.3], "obs", [] if last else [9, 9],
                          reward if last else 0.0, info, [1.0, 2.0, 3.0]))  # fmt: skip
    t = Trajectory("t", group, "X-v0", [1, 2], turns, terminated=True)
    t.info = {"success": bool(reward > 0) if success is None else success, "score": max(reward, 0.0)}
    if seg is not None:
        t.info["tree"] = {"segment_ids": seg}
    return t


def _batch(trajs: list[Trajectory], step: int = 0) -> Batch:
    return Batch(trajs, pad_batch([t.to_tensors() for t in trajs]), [t.group_id for t in trajs], step=step)


def _ctx() -> LossContext:
    return LossContext(num_tokens=1.0, num_seqs=1.0, norm_const=1.0, step=0, total_steps=10)


@pytest.mark.parametrize("name", ["arpo", "aepo", "spear"])
def test_registered_and_configurable(name):
    cls = get_algorithm(name)
    cfg = build_algorithm_config({"name": name})
    assert isinstance(cfg, cls.config_class) and cls(cfg).name == name
    with pytest.raises(InvalidConfig, match="Did you mean `clip_high`"):
        build_algorithm_config({"name": name, "clip_hihg": 0.3})


def test_tree_algorithms_declare_the_tree_sampler():
    assert get_algorithm("arpo").sampler == "tree" and get_algorithm("aepo").sampler == "tree"
    assert get_algorithm("spear").sampler == "flat"


def test_arpo_soft_vs_hard_advantages_on_shared_prefix():
    trajs = [
        _traj("g", 1.0, seg=[0, 0]),
        _traj("g", 0.0, seg=[0, 1]),
        _traj("g", 0.0, seg=[2, 2]),
        _traj("g", 0.0, seg=[3, 3]),
    ]
    b = _batch(trajs)
    soft = get_algorithm("arpo")(build_algorithm_config({"name": "arpo"})).advantages(b)
    hard = get_algorithm("arpo")(build_algorithm_config({"name": "arpo", "attribution": "hard"})).advantages(
        b
    )
    m = b.tensors["loss_mask"].bool()
    assert float(soft[m].sum()) == pytest.approx(float(hard[m].sum()), abs=1e-5)  # same total credit
    first = b.tensors["turn_index"] == 0
    # turn 0 of paths 0 and 1 is one shared segment: both get the mean of their advantages
    assert torch.allclose(hard[0][first[0]], torch.full((3,), (1.5 - 0.5) / 2))
    assert torch.allclose(hard[1][first[1]], torch.full((3,), 0.5))
    assert torch.allclose(soft[0][first[0]], torch.full((3,), 1.5), atol=1e-4)
    assert (hard[~m] == 0).all() and (soft[~m] == 0).all()  # tool-result and prompt tokens get nothing


def test_arpo_hierarchical_reward_penalises_bad_format():
    good, bad = _traj("g", 1.0), _traj("g", 1.0)
    bad.turns[0].info["parse_error"] = "unbalanced tags"
    b = _batch([good, bad])
    adv = get_algorithm("arpo")(
        build_algorithm_config({"name": "arpo", "reward": "hierarchical"})
    ).advantages(b)
    assert adv[0].max() > 0 > adv[1].min()  # R = 1 (F1) vs R = −1 (format)


def _loss_grad(name: str, overrides: dict, logratio: float, adv: float) -> tuple[float, float]:
    algo = get_algorithm(name)(build_algorithm_config({"name": name, **overrides}))
    lp = torch.full((1, 3), logratio, requires_grad=True)
    mb = {
        "loss_mask": torch.ones(1, 3),
        "old_logprobs": torch.zeros(1, 3),
        "advantages": torch.full((1, 3), adv),
    }
    loss, _ = algo.loss(ModelOutput(lp, torch.tensor([[1.0, 2.0, 3.0]])), mb, _ctx())
    loss.backward()
    return float(loss.detach()), float(lp.grad.sum())


def test_aepo_loss_keeps_gradient_in_the_clipped_region():
    # ρ = 1.5 > 1 + ε: PPO (ARPO) gives no gradient, AEPO gives −A(1+ε) per token (times the entropy weight)
    arpo_loss, arpo_grad = _loss_grad("arpo", {}, float(np.log(1.5)), 1.0)
    aepo_loss, aepo_grad = _loss_grad("aepo", {"entropy_advantage": False}, float(np.log(1.5)), 1.0)
    assert arpo_grad == 0.0 and aepo_grad == pytest.approx(-1.2 * 3)
    assert aepo_loss == pytest.approx(arpo_loss)  # same forward value
    _, ent_grad = _loss_grad("aepo", {}, float(np.log(1.5)), 1.0)
    assert ent_grad == pytest.approx(-1.2 * (0.8 + 1.0 + 1.2))  # the entropy-aware advantage is active


def test_spear_bonus_filters_and_clip_cov_run_in_the_loss():
    cfg = build_algorithm_config({"name": "spear", "group_filter_ratio": 1.0, "replay": False})
    algo = get_algorithm("spear")(cfg)
    b = _batch([_traj("g", 1.0, tool_calls=3), _traj("g", 1.0, tool_calls=0)], step=0)
    algo.on_batch(b, None)
    adv = algo.advantages(b)
    assert float(adv[0].max()) == pytest.approx(0.15) and float(adv[1].min()) == pytest.approx(
        -0.15
    )  # Dr.GRPO of 0.3 bonus
    rep = _traj("g", 1.0)
    rep.turns[0].action_ids = [4] * 200
    b2 = _batch([rep, _traj("g", 0.0)])
    algo.on_batch(b2, None)
    assert (
        b2.tensors["loss_mask"][0].sum() == 0 and b2.tensors["loss_mask"][1].sum() > 0
    )  # repetitive: masked


def test_spear_replay_joins_the_batch_with_recalibrated_weighted_advantages():
    cfg = build_algorithm_config(
        {"name": "spear", "buffer_size": 2, "trigger_factor": 0.5, "sil_steps": 10, "group_filter_ratio": 1.0,
         "toolcall_bonus": "none"}
    )  # fmt: skip
    algo = get_algorithm("spear")(cfg)
    algo.on_batch(
        _batch([_traj("g0", 1.0), _traj("g0", 0.0), _traj("g1", 1.0), _traj("g1", 0.0)], step=0), None
    )
    assert len(algo.buffer) == 2  # the two positive-advantage samples
    b = _batch([_traj("g2", 0.0, n_turns=3), _traj("g2", 1.0, n_turns=3)], step=5)
    algo.on_batch(b, None)
    assert len(b) == 4 and b.tensors["input_ids"].shape[0] == 4 and len(b.group_ids) == 4
    assert b.tensors["replay"][2:].sum() > 0 and b.tensors["replay"][:2].sum() == 0
    adv = algo.advantages(b)
    w = 0.5  # sil ramp at step 5 of 10
    assert float(adv[2].max()) == pytest.approx((1.0 - 0.5) * w)  # R − p50([0.5, 0.5])
    mb = {k: v for k, v in b.tensors.items()} | {"advantages": adv}
    loss, m = algo.loss(
        ModelOutput(torch.zeros_like(adv, requires_grad=True), torch.ones_like(adv)), mb, _ctx()
    )
    assert torch.isfinite(loss) and "train/clip_cov_frac" in m


def test_spear_clip_cov_only_detaches_selected_tokens():
    cfg = build_algorithm_config({"name": "spear", "clip_cov_onpolicy": [1.0, 1.0, 5.0]})
    algo = get_algorithm("spear")(cfg)
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    lp = torch.tensor([[-0.1, -3.0, -0.1, -3.0]], requires_grad=True)
    mb = {"loss_mask": torch.ones(1, 4), "old_logprobs": lp.detach().clone(), "advantages": adv}
    loss, m = algo.loss(ModelOutput(lp, torch.ones(1, 4)), mb, _ctx())
    loss.backward()
    assert m["train/clip_cov_frac"] == 0.5
    assert lp.grad[0, 0] == 0 and lp.grad[0, 3] == 0 and lp.grad[0, 1] != 0 and lp.grad[0, 2] != 0


def test_empty_mask_gives_zero_loss_and_no_nan():
    for name in ("arpo", "aepo", "spear"):
        algo = get_algorithm(name)(build_algorithm_config({"name": name}))
        lp = torch.zeros(1, 3, requires_grad=True)
        mb = {
            "loss_mask": torch.zeros(1, 3),
            "old_logprobs": torch.zeros(1, 3),
            "advantages": torch.zeros(1, 3),
        }
        loss, _ = algo.loss(ModelOutput(lp, torch.ones(1, 3)), mb, _ctx())
        assert float(loss.detach()) == 0.0 and torch.isfinite(loss)


def test_arpo_collect_builds_trees_from_the_trainer_envs():
    import agentgym

    algo = get_algorithm("arpo")(build_algorithm_config({"name": "arpo", "initial_rollouts": 2}))
    policy = ScriptedPolicy(lambda key, k: 0.0 if k == 0 else 10.0, p_answer=0.2)
    envs = [agentgym.make("GuessNumber-v0") for _ in range(2)]
    trajs = algo.collect(policy, envs, [1, 2], 4, None)
    assert len(trajs) == 8 and all("tree" in t.info for t in trajs)
    b = _batch(trajs)
    algo.on_batch(b, None)
    assert b.extras["metrics"]["tree/forks"] > 0  # the tree's own metrics reach the step's record
    assert policy_loss  # the shared surrogate is what the tree batch trains


# ---------------------------------------------------------------- ArCHer


def test_transition_buffer_ring_and_mc_returns():
    buf = TransitionBuffer(capacity=3)
    eps = [Transition("s0", "a", 0.0, "s1", False), Transition("s1", "a", 1.0, "s2", True)]
    buf.add_episode(eps, gamma=0.5)
    assert [t.mc_return for t in eps] == [0.5, 1.0]
    for i in range(4):
        buf.add(Transition(f"x{i}", "a", 0.0, "y", False))
    assert len(buf) == 3 and {t.observation for t in buf._data} == {"x1", "x2", "x3"}
    assert len(buf.sample(10, np.random.default_rng(0))) == 10


def test_episode_transitions_bootstrap_on_truncation():
    t = _traj("g", 1.0, n_turns=2)
    tr = archer.episode_transitions(t)
    assert [x.done for x in tr] == [False, True] and tr[0].next_observation == tr[1].observation
    t.terminated, t.truncated = False, True
    assert not archer.episode_transitions(t)[-1].done
    assert tr[1].extra["context_ids"] == [1, 2, 5, 6, 7, 9, 9]


@pytest.fixture(scope="module")
def tiny_policy():
    from agentgym.llm import load_policy

    return load_policy("tiny", device="cpu")


@pytest.mark.parametrize(
    ("encoder", "lr", "joint"), [("hashing", 1e-2, False), ("policy", 3e-3, False), ("policy", 3e-3, True)]
)
def test_critic_learns_td_targets_and_target_starts_as_copy(encoder, lr, joint, request):
    torch.manual_seed(0)
    if encoder == "hashing":
        enc = archer.HashingEncoder(dim=16, buckets=512)
    else:
        enc = archer.ArcherConfig(encoder="policy").make_encoder(request.getfixturevalue("tiny_policy"))
    critic = archer.DoubleCritic(enc, hidden=32, joint=joint)
    target = critic.target_copy()
    assert all(
        torch.equal(a, b)
        for a, b in zip(critic.state_dict().values(), target.state_dict().values(), strict=True)
    )
    assert not any(p.requires_grad for p in target.parameters())
    opt = torch.optim.Adam(critic.parameters(), lr=lr)
    states, actions = ["win state", "lose state"], ["good move", "bad move"]
    r, d = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])
    first = None
    for _ in range(200):
        loss, m = archer.critic_losses(critic, target, states, actions, r, d, ["end", "end"], actions, 0.95)
        opt.zero_grad()
        loss.backward()
        opt.step()
        archer.soft_update(target, critic, 0.1)
        first = first if first is not None else m["train/critic/q_loss"]
    with torch.no_grad():
        q1, q2, v1, v2 = critic(states, actions)
    assert m["train/critic/q_loss"] < 0.01 * first
    assert float(torch.minimum(q1, q2)[0]) == pytest.approx(1.0, abs=0.1) and float(
        torch.minimum(q1, q2)[1]
    ) == pytest.approx(0.0, abs=0.1)
    assert float(archer.advantage(q1, q2, v1, v2)[0]) == pytest.approx(
        0.0, abs=0.15
    )  # V → Q̄(s, a_π) with a_π = a


def test_joint_critic_encodes_the_action_in_its_context_and_v_never_sees_the_action():
    class Recorder(torch.nn.Module):
        dim = 4

        def __init__(self):
            super().__init__()
            self.seen: list[list[str]] = []

        def forward(self, texts):
            self.seen.append(list(texts))
            return torch.ones(len(texts), self.dim)

    enc = Recorder()
    critic = archer.DoubleCritic(enc, hidden=8, joint=True)
    assert critic.q1[0].in_features == 4 and critic.v1[0].in_features == 4
    critic(["7 is correct."], ["<answer>7</answer>"])
    assert enc.seen == [["7 is correct."], ["7 is correct.\n<answer>7</answer>"]]
    enc.seen.clear()
    critic.values(["s'"])
    assert enc.seen == [["s'"]]
    separate = archer.DoubleCritic(Recorder(), hidden=8)
    assert separate.q1[0].in_features == 8
    separate(["s"], ["a"])
    assert separate.encoder.seen == [["s"], ["a"]]


def test_actor_loss_sends_no_gradient_into_the_critic():
    critic = archer.DoubleCritic(archer.HashingEncoder(dim=8, buckets=64), hidden=8)
    q1, q2, v1, v2 = critic(["s"], ["a"])
    logp = torch.tensor([-2.0], requires_grad=True)
    archer.actor_loss(logp, archer.advantage(q1, q2, v1, v2)).backward()
    assert logp.grad is not None and all(p.grad is None for p in critic.parameters())


def test_token_baseline_losses_reduce_to_the_plain_actor_loss_and_keep_gradients_apart():
    torch.manual_seed(0)
    lp = torch.randn(3, 5, requires_grad=True)
    base = torch.randn(3, 5, requires_grad=True)
    mask = torch.tensor([[0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [1, 1, 0, 0, 0]])
    adv = torch.tensor([0.5, -1.0, 2.0])
    actor, _ = archer.token_baseline_losses(lp, mask, adv, torch.zeros(3, 5))
    plain = archer.actor_loss((lp * mask).sum(-1), adv).detach()
    assert float(actor.detach()) == pytest.approx(float(plain), abs=1e-6)
    # hand case: A − b = (0.5 − b_i) over row 0's tokens 1..3 only
    actor, b_loss = archer.token_baseline_losses(lp, mask, adv, base)
    m = mask.float()
    want_actor = -(((adv[:, None] - base) * lp * m).sum(-1)).mean()
    want_b = (((base - adv[:, None]) ** 2) * m).sum() / m.sum()
    assert float(actor.detach()) == pytest.approx(float(want_actor.detach()), abs=1e-6)
    assert float(b_loss.detach()) == pytest.approx(float(want_b.detach()), abs=1e-6)
    # values under the mask's zeros never matter
    lp2, base2 = lp.detach().clone(), base.detach().clone()
    lp2[mask == 0], base2[mask == 0] = 99.0, -99.0
    a2, b2 = archer.token_baseline_losses(lp2, mask, adv, base2)
    assert float(a2) == pytest.approx(float(actor.detach()), abs=1e-5)
    assert float(b2) == pytest.approx(float(b_loss.detach()), abs=1e-5)
    actor.backward()
    assert lp.grad is not None and base.grad is None  # the actor loss does not train the baseline
    lp.grad = None
    b_loss.backward()
    assert lp.grad is None and base.grad is not None  # nor the baseline loss the actor
    zero_a, zero_b = archer.token_baseline_losses(lp, torch.zeros(3, 5), adv, base)
    assert float(zero_a.detach()) == 0.0 and float(zero_b.detach()) == 0.0


@pytest.mark.parametrize("token_baseline", [False, True])
def test_archer_trainer_warms_up_the_critic_before_moving_the_actor(token_baseline):
    from agentgym.llm import SamplingParams, load_policy

    torch.manual_seed(0)
    policy = load_policy("tiny", device="cpu")
    cfg = archer.ArcherConfig(
        encoder="hashing", batch_size=8, critic_epochs=2, actor_epochs=2, warmup_iters=1,
        critic_lr=1e-3, actor_lr=1e-3, token_baseline=token_baseline, baseline_lr=1e-2,
    )  # fmt: skip
    tr = archer.ArcherTrainer(policy, "GuessNumber-v0", cfg, sampling=SamplingParams(max_tokens=8, seed=0),
                              rollout_size=4, seed=0, env_kwargs={"high": 4, "max_turns": 3})  # fmt: skip
    before = [p.detach().clone() for p in policy.model.parameters()]
    m0 = tr.train_iteration()
    assert len(tr.buffer) >= 4 and "train/critic/q_loss" in m0 and "train/actor/loss" not in m0
    assert all(torch.equal(a, b) for a, b in zip(policy.model.parameters(), before, strict=True))
    m1 = tr.train_iteration()
    tr.close()
    assert all(np.isfinite(v) for v in m1.values())
    assert any(not torch.equal(a, b) for a, b in zip(policy.model.parameters(), before, strict=True))
    assert ("train/actor/baseline_loss" in m1) is token_baseline
    if token_baseline:  # the baseline is its own copy: the policy's trunk is not shared with it
        assert tr.baseline is not None
        assert all(
            p.data_ptr() != q.data_ptr() for p in tr.baseline.parameters() for q in policy.model.parameters()
        )


def test_mc_critic_losses_regress_every_head_onto_the_return():
    torch.manual_seed(0)
    critic = archer.DoubleCritic(archer.HashingEncoder(dim=8, buckets=64), hidden=8)
    states, actions, g = ["s1", "s2"], ["a1", "a2"], torch.tensor([1.0, 0.0])
    loss, m = archer.mc_critic_losses(critic, states, actions, g)
    q1, q2, v1, v2 = critic(states, actions)
    by_hand = sum(((x - g) ** 2).mean() for x in (q1, q2, v1, v2))
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-6)
    q_by_hand = ((q1 - g) ** 2).mean() + ((q2 - g) ** 2).mean()
    assert m["train/critic/q_loss"] == pytest.approx(q_by_hand.item(), rel=1e-6)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-2)
    for _ in range(200):
        opt.zero_grad()
        archer.mc_critic_losses(critic, states, actions, g)[0].backward()
        opt.step()
    q1, _, v1, _ = critic(states, actions)
    assert q1.tolist() == pytest.approx([1.0, 0.0], abs=0.05)
    assert v1.tolist() == pytest.approx([1.0, 0.0], abs=0.05)


def test_archer_mc_warmup_fits_returns_without_generating_then_switches_to_td(monkeypatch):
    from agentgym.llm import SamplingParams, load_policy

    torch.manual_seed(0)
    policy = load_policy("tiny", device="cpu")
    cfg = archer.ArcherConfig(
        encoder="hashing", batch_size=8, critic_epochs=2, warmup_critic_epochs=5, actor_epochs=1,
        warmup_iters=1, warmup_target="mc", critic_lr=1e-3, actor_lr=1e-3,
    )  # fmt: skip
    tr = archer.ArcherTrainer(policy, "GuessNumber-v0", cfg, sampling=SamplingParams(max_tokens=8, seed=0),
                              rollout_size=4, seed=0, env_kwargs={"high": 4, "max_turns": 3})  # fmt: skip
    calls = {"fresh": 0, "mc": 0, "td": 0}
    fresh, mc, td = tr._fresh_actions, tr.mc_critic_step, tr.critic_step

    def counted(name, fn):
        def wrapper(*a, **k):
            calls[name] += 1
            return fn(*a, **k)

        return wrapper

    monkeypatch.setattr(tr, "_fresh_actions", counted("fresh", fresh))
    monkeypatch.setattr(tr, "mc_critic_step", counted("mc", mc))
    monkeypatch.setattr(tr, "critic_step", counted("td", td))
    critic_before = [p.detach().clone() for p in tr.critic.parameters()]
    tr.train_iteration()  # warm-up: 5 Monte-Carlo steps, no generation beyond the rollouts
    assert calls == {"fresh": 0, "mc": 5, "td": 0}
    assert any(not torch.equal(a, b) for a, b in zip(tr.critic.parameters(), critic_before, strict=True))
    m = tr.train_iteration()  # after it: ArCHer's TD steps with fresh a_π, then the actor
    tr.close()
    assert calls["mc"] == 5 and calls["td"] == 2 and calls["fresh"] == 2 + 1
    assert "train/actor/loss" in m and all(np.isfinite(v) for v in m.values())


@pytest.mark.parametrize("token_baseline", [False, True])
def test_archer_actor_micro_batches_accumulate_to_the_full_batch_update(token_baseline):
    import copy

    from agentgym.llm import SamplingParams, load_policy

    torch.manual_seed(0)
    base_policy = load_policy("tiny", device="cpu")
    steps = []
    for micro in (None, 3):  # 8 transitions in one pass, then in chunks of 3, 3 and 2
        cfg = archer.ArcherConfig(encoder="hashing", batch_size=8, micro_batch_size=micro, warmup_iters=0,
                                  token_baseline=token_baseline)  # fmt: skip
        torch.manual_seed(1)  # the same critic and baseline heads in both trainers
        tr = archer.ArcherTrainer(copy.deepcopy(base_policy), "GuessNumber-v0", cfg,
                                  sampling=SamplingParams(max_tokens=8, seed=0), rollout_size=4, seed=0,
                                  env_kwargs={"high": 4, "max_turns": 3})  # fmt: skip
        tr.collect()
        tr.actor_opt = torch.optim.SGD(tr.policy.model.parameters(), lr=1.0)  # the update is −clipped grad
        if tr.baseline is not None:
            tr.baseline_opt = torch.optim.SGD(tr.baseline.parameters(), lr=1.0)
        before = [q.detach().clone() for q in tr.policy.model.parameters()]
        m = tr.actor_step()
        tr.close()
        delta = [q.detach() - b for q, b in zip(tr.policy.model.parameters(), before, strict=True)]
        head = [] if tr.baseline is None else [q.detach().clone() for q in tr.baseline.parameters()]
        steps.append((m, delta, head))
    (m_full, d_full, h_full), (m_micro, d_micro, h_micro) = steps
    assert any(d.abs().max() > 0 for d in d_full)
    for a, b in zip(d_full, d_micro, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
    for a, b in zip(h_full, h_micro, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
    assert m_micro.keys() == m_full.keys()
    for k in m_full:
        assert m_micro[k] == pytest.approx(m_full[k], rel=1e-4, abs=1e-6)


def test_policy_trunk_encoder_is_a_trainable_copy_of_the_policy(tiny_policy):
    policy = tiny_policy
    before = [p.detach().clone() for p in policy.model.parameters()]
    with pytest.raises(InvalidConfig, match="needs the policy"):
        archer.ArcherConfig(encoder="policy").make_encoder()
    enc = archer.ArcherConfig(encoder="policy").make_encoder(policy)
    h = enc(["The secret is higher than 8.", "", "x" * 5000])
    assert h.shape == (3, policy.model.config.hidden_size) and torch.isfinite(h).all()
    # a text's embedding is its last token's state: left padding in a batch does not change it
    assert torch.allclose(enc(["a b c d e f", "hi"])[1], enc(["hi"])[0], atol=1e-5)
    h.sum().backward()
    torch.optim.SGD(enc.parameters(), lr=1.0).step()
    assert all(torch.equal(a, b) for a, b in zip(policy.model.parameters(), before, strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(enc.model.parameters(), before, strict=True))


def test_archer_config_checks():
    with pytest.raises(InvalidConfig, match="encoder"):
        archer.ArcherConfig(encoder="roberta")
    with pytest.raises(InvalidConfig, match="tau"):
        archer.ArcherConfig(tau=0.0)
    with pytest.raises(InvalidConfig, match="critic_input"):
        archer.ArcherConfig(critic_input="concat")
    with pytest.raises(InvalidConfig, match="warmup_target"):
        archer.ArcherConfig(warmup_target="gae")
    with pytest.raises(InvalidConfig, match="micro_batch_size"):
        archer.ArcherConfig(micro_batch_size=0)
    with pytest.raises(InvalidConfig, match="warmup_critic_epochs"):
        archer.ArcherConfig(warmup_critic_epochs=0)


@pytest.mark.parametrize("name", ["arpo_search", "aepo_search", "spear_calculator"])
def test_presets_load(name):
    from pathlib import Path

    from agentgym.trainers.run_config import load_run_config

    path = Path(__file__).resolve().parents[2] / "examples" / "configs" / f"{name}.yaml"
    cfg = load_run_config(path)
    assert cfg.algorithm.name == name.split("_")[0]
    assert load_run_config(path, quick=True).trainer.steps == 3


def test_archer_preset_builds_its_config():
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "examples" / "configs" / "archer_guess.yaml"
    data = yaml.safe_load(path.read_text())
    cfg = archer.ArcherConfig(**data["algorithm"])
    assert cfg.gamma == 0.95 and cfg.tau == 0.1


def test_aepo_dynamic_rollouts_use_probe_entropies():
    import agentgym

    cfg = build_algorithm_config({"name": "aepo", "dynamic_rollouts": True, "entropy_reduce": "mean"})
    algo = get_algorithm("aepo")(cfg)
    policy = ScriptedPolicy(lambda key, k: 3.0 if k == 0 else 1.0, p_answer=0.0)
    trajs = algo.collect(policy, [agentgym.make("GuessNumber-v0", high=8)], [4], 8, None)
    b = _batch(trajs)
    algo.on_batch(b, None)
    assert len(trajs) == 8
    assert b.extras["metrics"]["tree/initial_rollouts/mean"] == 6  # ⌊8·σ(0.5·(3 − 1))⌋ + 1


def test_arpo_branch_rng_survives_resume():
    a = get_algorithm("arpo")(build_algorithm_config({"name": "arpo"}))
    a.rng.random(5)
    b = get_algorithm("arpo")(build_algorithm_config({"name": "arpo"}))
    b.load_state_dict(a.state_dict())
    assert a.rng.random() == b.rng.random()
