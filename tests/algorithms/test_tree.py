"""TreeSampler invariants over random configurations, and its branching statistics."""

from __future__ import annotations

import numpy as np
import pytest
from algo_fakes import ScriptedPolicy

import agentgym
from agentgym.errors import InvalidConfig
from agentgym.rollout.tree import TreeBatch, TreeSampler
from agentgym.trainers.advantages import grpo_advantages
from agentgym.trainers.aepo import AEPOBranching
from agentgym.trainers.arpo import ARPOBranching, attribute_turn_advantages

ENV = "GuessNumber-v0"


def _sampler(policy, rule, rng_seed: int, **kw) -> TreeSampler:
    return TreeSampler(policy, rule=rule, rng=np.random.default_rng(rng_seed), num_workers=2, **kw)


def _prefix_len(traj, turns: int) -> int:
    return len(traj.prompt_ids) + sum(len(t.action_ids) + len(t.observation_ids) for t in traj.turns[:turns])


def _check_invariants(batch: TreeBatch, seeds: list[int], n: int) -> None:
    trajs, nodes = batch.trajectories, batch.nodes
    assert len(trajs) == len(nodes) == n * len(seeds)  # exactly n per prompt, no more, no fewer
    assert batch.metrics["tree/unfilled"] == 0
    for q, s in enumerate(seeds):
        group = [t for t, nd in zip(trajs, nodes, strict=True) if nd.prompt_index == q]
        assert len(group) == n and {t.group_id for t in group} == {f"{ENV}/{s}"}
        assert sorted(t.sample_index for t in group) == list(range(n))  # no duplicated samples
    for traj, node in zip(trajs, nodes, strict=True):
        assert traj.done and not traj.failed
        assert len(node.segment_ids) == len(traj.turns)
        # forked env states are independent: each env saw exactly its own path's actions
        assert [h["action"] for h in node.env.unwrapped.history] == [t.action for t in traj.turns]
        # tool-result (observation) tokens are masked out of the loss
        x = traj.to_tensors()
        assert int(x["loss_mask"].sum()) == traj.num_policy_tokens
        pos = len(traj.prompt_ids)
        for t in traj.turns:
            assert x["loss_mask"][pos : pos + len(t.action_ids)].all()
            pos += len(t.action_ids)
            assert not x["loss_mask"][pos : pos + len(t.observation_ids)].any()
            pos += len(t.observation_ids)
        if node.parent is None:
            continue
        parent, pnode = trajs[node.parent], nodes[node.parent]
        assert pnode.prompt_index == node.prompt_index and node.root_entropy == pnode.root_entropy
        k = node.fork_turn
        assert 1 <= k <= len(parent.turns)
        # branches share identical prefix tokens, turns and env observations up to the fork
        cut = _prefix_len(traj, k)
        assert cut == _prefix_len(parent, k)
        assert traj.context_ids()[:cut] == parent.context_ids()[:cut]
        assert [(t.action, t.observation) for t in traj.turns[:k]] == [
            (t.action, t.observation) for t in parent.turns[:k]
        ]
        assert node.segment_ids[:k] == pnode.segment_ids[:k]
        assert all(s == node.index for s in node.segment_ids[k:])


def test_tree_invariants_over_100_random_configurations():
    rng = np.random.default_rng(1234)
    total_forks = total_fills = 0
    for trial in range(100):
        n = int(rng.integers(1, 7))
        seeds = [int(s) for s in rng.integers(0, 10_000, size=int(rng.integers(1, 4)))]
        init = [int(rng.integers(1, n + 1)) for _ in seeds]
        table = rng.normal(0.0, 1.5, size=(1000, 12))
        policy = ScriptedPolicy(
            lambda key, k, t=table: float(abs(t[key, min(k, 11)])), p_answer=float(rng.uniform(0.1, 0.5))
        )
        rule = (ARPOBranching(weight=float(rng.uniform(0, 1))) if rng.random() < 0.5
                else AEPOBranching(weight=float(rng.uniform(0, 1)), penalty=0.05))  # fmt: skip
        sampler = _sampler(policy, rule, trial, beam_size=int(rng.integers(1, 5)), entropy_reduce="mean")
        batch = sampler.sample(ENV, seeds, n=n, initial_rollouts=init, keep_envs=True)
        _check_invariants(batch, seeds, n)
        for d in batch.decisions:
            assert d.probability == pytest.approx(rule.probability(d.delta_h, d.consecutive))
        total_forks += int(batch.metrics["tree/forks"])
        total_fills += int(batch.metrics["tree/fresh_fills"])
    assert total_forks > 50 and total_fills > 50  # both mechanisms were exercised


def test_forked_env_is_independent_of_later_steps():
    policy = ScriptedPolicy(lambda key, k: 0.0 if k == 0 else 5.0, p_answer=0.0)
    batch = _sampler(policy, ARPOBranching(weight=1.0), 0, entropy_reduce="mean").sample(
        ENV, [7], n=4, initial_rollouts=1, keep_envs=True
    )
    kids = [nd for nd in batch.nodes if nd.parent is not None]
    assert kids, "ΔH = 5 with weight 1 must branch"
    for nd in kids:
        env, parent_env = nd.env.unwrapped, batch.nodes[nd.parent].env.unwrapped
        assert env is not parent_env and env.toolset is not parent_env.toolset
        # replaying the shared actions from the seed reproduces the fork's observations
        fresh = agentgym.make(ENV)
        fresh.reset(seed=7)
        for t in batch.trajectories[nd.index].turns[: nd.fork_turn]:
            assert fresh.step(t.action)[0] == t.observation


@pytest.mark.parametrize("delta_h", [-1.5, 0.0, 0.5, 1.5])
def test_branch_frequency_rises_with_delta_h_as_specified(delta_h):
    rule = ARPOBranching(base=0.5, weight=0.2)
    policy = ScriptedPolicy(lambda key, k: 2.0 if k == 0 else 2.0 + delta_h, p_answer=0.05)
    batch = _sampler(policy, rule, 99, beam_size=2, entropy_reduce="mean").sample(
        ENV, list(range(40)), n=3, initial_rollouts=3
    )
    branched = np.array([d.branched for d in batch.decisions])
    assert all(d.delta_h == pytest.approx(delta_h) for d in batch.decisions)
    p = rule.probability(delta_h)
    sigma = np.sqrt(p * (1 - p) / len(branched))
    assert len(branched) > 300
    assert abs(branched.mean() - p) < 4 * sigma + 1e-9, (branched.mean(), p, len(branched))


def test_aepo_consecutive_penalty_is_tracked_per_prompt():
    policy = ScriptedPolicy(lambda key, k: 0.0 if k == 0 else 1.0, p_answer=0.0)
    batch = _sampler(policy, AEPOBranching(weight=1.0, penalty=0.3), 5, entropy_reduce="mean").sample(
        ENV, [1, 2], n=6, initial_rollouts=1
    )
    assert max(d.consecutive for d in batch.decisions) >= 1
    assert any(d.probability < 1.0 for d in batch.decisions if d.consecutive >= 1)


def test_root_entropy_is_per_path_and_inherited():
    policy = ScriptedPolicy(lambda key, k: float(key % 7) if k == 0 else 3.0, p_answer=0.1)
    sampler = _sampler(policy, ARPOBranching(weight=0.5), 3, entropy_reduce="mean")
    for seeds in ([1, 2, 3], [4, 5, 6]):  # a second batch must not reuse the first batch's roots
        batch = sampler.sample(ENV, seeds, n=4, initial_rollouts=2)
        for traj, nd in zip(batch.trajectories, batch.nodes, strict=True):
            key = hash(tuple(traj.prompt_ids)) % 1000
            assert nd.root_entropy == pytest.approx(float(key % 7))


def test_hard_attribution_on_a_sampled_tree_keeps_group_sums():
    policy = ScriptedPolicy(lambda key, k: 0.0 if k == 0 else 4.0, p_answer=0.3)
    batch = _sampler(policy, ARPOBranching(weight=1.0), 11, entropy_reduce="mean").sample(
        ENV, [3], n=6, initial_rollouts=2
    )
    rewards = [t.total_reward for t in batch.trajectories]
    adv = grpo_advantages(rewards, [t.group_id for t in batch.trajectories]).tolist()
    assert sum(adv) == pytest.approx(0.0, abs=1e-6)
    hard = attribute_turn_advantages(adv, [nd.segment_ids for nd in batch.nodes], mode="hard")
    for traj, h in zip(batch.trajectories, hard, strict=True):
        assert len(h) == len(traj.turns)


def test_bad_budget_is_rejected():
    sampler = _sampler(ScriptedPolicy(lambda k, n: 0.0), ARPOBranching(), 0)
    with pytest.raises(InvalidConfig, match="initial_rollouts"):
        sampler.sample(ENV, [0], n=2, initial_rollouts=3)


def test_max_rounds_shortfall_is_reported_not_padded():
    policy = ScriptedPolicy(lambda key, k: 0.0, p_answer=0.0)
    batch = _sampler(policy, ARPOBranching(weight=0.0, base=0.0), 0, max_rounds=2).sample(
        ENV, [0], n=4, initial_rollouts=1
    )
    assert len(batch.trajectories) < 4
    assert batch.metrics["tree/unfilled"] == 4 - len(batch.trajectories)


def test_executed_tool_calls_count_each_env_call_once(monkeypatch):
    """`rollout/tool_calls_executed` on a sampled tree equals the tool calls the envs really ran."""
    from agentgym.rollout.collector import tool_call_metrics

    cls = type(agentgym.make(ENV).unwrapped)
    ran, step = [0], cls.step

    def counting_step(self, action):
        out = step(self, action)
        ran[0] += len(out[4].get("tool_calls") or [])
        return out

    monkeypatch.setattr(cls, "step", counting_step)
    policy = ScriptedPolicy(lambda key, k: 0.0 if k == 0 else 5.0, p_answer=0.2)
    batch = _sampler(policy, ARPOBranching(weight=1.0), 3, beam_size=3, entropy_reduce="mean").sample(
        ENV, [5, 6], n=6, initial_rollouts=1
    )
    m = tool_call_metrics(batch.trajectories)
    assert batch.metrics["tree/forks"] > 0 and ran[0] > 0
    assert m["rollout/tool_calls_executed"] == ran[0]
    assert m["rollout/tool_calls_executed"] < m["rollout/tool_calls/mean"] * len(batch.trajectories)
