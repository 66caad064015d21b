"""The collector's numerical contract: token-in/token-out, masks, invariance, failure isolation."""

from __future__ import annotations

import pytest
import torch

import agentgym
from agentgym.llm import SamplingParams
from agentgym.rollout import Collector, EpisodeStart, collect, pad_batch, rollout_metrics

ENVS = [("Calculator-v0", {}), ("ToyReverse-v0", {})]
SAMPLE = SamplingParams(temperature=1.0, max_tokens=24, seed=7)


@pytest.mark.parametrize("env_id,kw", ENVS)
def test_forward_logprobs_reproduce_sampled_logprobs(tiny_policy, env_id, kw):
    trajs = collect(tiny_policy, env_id, seeds=range(4), group_size=2, sampling=SAMPLE, max_turns=3, **kw)
    assert all(not t.failed for t in trajs)
    assert sum(len(t.turns) for t in trajs) > len(trajs)  # multi-turn episodes
    batch = pad_batch([t.to_tensors() for t in trajs], pad_id=tiny_policy.pad_id)
    with torch.no_grad():
        lp, ent = tiny_policy.forward_logprobs(batch)
    m = batch["loss_mask"].bool()
    assert int(m.sum()) == sum(t.num_policy_tokens for t in trajs)
    assert (lp - batch["old_logprobs"])[m].abs().max().item() <= 1e-4
    assert (ent - batch["entropies"])[m].abs().max().item() <= 1e-4
    for t in trajs:  # the unpadded path agrees too
        x = t.to_tensors()
        with torch.no_grad():
            lp1, _ = tiny_policy.forward_logprobs(x)
        assert (lp1 - x["old_logprobs"])[x["loss_mask"].bool()].abs().max().item() <= 1e-4


@pytest.mark.parametrize("env_id,kw", ENVS)
def test_loss_mask_decodes_to_exactly_the_actions(tiny_policy, env_id, kw):
    trajs = collect(tiny_policy, env_id, seeds=range(3), sampling=SAMPLE, max_turns=3, **kw)
    tok = tiny_policy.tokenizer
    for t in trajs:
        x = t.to_tensors()
        assert x["loss_mask"][: len(t.prompt_ids)].sum() == 0
        for k, turn in enumerate(t.turns):
            sel = (x["turn_index"] == k) & (x["loss_mask"] == 1)
            assert x["input_ids"][sel].tolist() == turn.action_ids
            assert tok.decode(x["input_ids"][sel].tolist(), skip_special_tokens=True) == turn.action
        off = x["loss_mask"] == 0
        assert (x["turn_index"][off] == -1).all() and (x["old_logprobs"][off] == 0).all()
        # observation tokens are the env text, tokenized once: the decoded sequence contains each observation
        text = tok.decode(x["input_ids"].tolist(), skip_special_tokens=False)
        for turn in t.turns[:-1]:
            assert turn.observation in text


def test_rewards_sit_on_each_turns_last_policy_token(tiny_policy):
    trajs = collect(
        tiny_policy, "ToyReverse-v0", seeds=range(4), sampling=SAMPLE, max_turns=3, format_penalty=0.1
    )
    for t in trajs:
        x = t.to_tensors()
        assert torch.isclose(x["rewards"].sum(), torch.tensor(t.total_reward))
        for k, turn in enumerate(t.turns):
            pos = (x["turn_index"] == k).nonzero().flatten()
            assert x["rewards"][pos[-1]].item() == pytest.approx(turn.reward)


def test_greedy_batched_equals_one_by_one(tiny_policy):
    greedy = SamplingParams(temperature=0.0, max_tokens=16)
    batched = collect(
        tiny_policy, "Calculator-v0", seeds=range(8), group_size=4, sampling=greedy, max_turns=3
    )
    assert len(batched) == 32
    for t in batched:
        alone = collect(tiny_policy, "Calculator-v0", seeds=[t.seed], sampling=greedy, max_turns=3)[0]
        assert [u.action_ids for u in alone.turns] == [u.action_ids for u in t.turns]
        assert alone.to_tensors()["input_ids"].tolist() == t.to_tensors()["input_ids"].tolist()


def test_max_batch_splits_whole_groups_and_changes_nothing(tiny_policy):
    greedy = SamplingParams(temperature=0.0, max_tokens=16)
    kw = dict(seeds=range(5), group_size=2, sampling=greedy, max_turns=3)
    whole = collect(tiny_policy, "Calculator-v0", **kw)
    split = collect(tiny_policy, "Calculator-v0", max_batch=5, **kw)  # 2 seeds (4 episodes) a batch
    assert [(t.group_id, t.sample_index) for t in split] == [(t.group_id, t.sample_index) for t in whole]
    for a, b in zip(split, whole, strict=True):
        assert a.to_tensors()["input_ids"].tolist() == b.to_tensors()["input_ids"].tolist()
    envs = [agentgym.make("Calculator-v0") for _ in range(10)]
    given = collect(tiny_policy, envs, max_batch=3, **kw)  # 1 seed a batch, on the caller's envs
    assert [t.to_tensors()["input_ids"].tolist() for t in given] == [
        t.to_tensors()["input_ids"].tolist() for t in whole
    ]


class _NoPrefixCache:
    """The same policy seen through an object without `prefix_cache`: every turn prefills in full."""

    def __init__(self, policy):
        self.chat, self.model, self._policy = policy.chat, policy.model, policy

    def generate(self, *args, **kwargs):
        return self._policy.generate(*args, **kwargs)


def test_kv_reuse_across_turns_changes_nothing(tiny_policy):
    kw = dict(seeds=range(4), group_size=2, sampling=SAMPLE, max_turns=3)
    reused = collect(tiny_policy, "Calculator-v0", **kw)
    full = collect(_NoPrefixCache(tiny_policy), "Calculator-v0", **kw)
    assert sum(len(t.turns) for t in reused) > len(reused)  # multi-turn: later turns reused a prefix
    for a, b in zip(reused, full, strict=True):
        assert [u.action_ids for u in a.turns] == [u.action_ids for u in b.turns]
        for u, v in zip(a.turns, b.turns, strict=True):
            assert u.action_logprobs == pytest.approx(v.action_logprobs, abs=1e-4)


def test_sampling_is_deterministic_and_groups_share_the_task(tiny_policy):
    a = collect(tiny_policy, "Calculator-v0", seeds=[3, 4], group_size=3, sampling=SAMPLE, max_turns=2)
    b = collect(tiny_policy, "Calculator-v0", seeds=[3, 4], group_size=3, sampling=SAMPLE, max_turns=2)
    assert [t.to_tensors()["input_ids"].tolist() for t in a] == [
        t.to_tensors()["input_ids"].tolist() for t in b
    ]
    assert len({t.task_id for t in a[:3]}) == 1 and a[0].task_id != a[3].task_id
    assert len({tuple(t.turns[0].action_ids) for t in a[:3]}) > 1  # samples of a group differ
    assert [t.group_id for t in a] == ["Calculator-v0/3"] * 3 + ["Calculator-v0/4"] * 3


class _FlakyBackend:
    """Wraps a policy; any batch containing the poisoned prompt raises."""

    def __init__(self, policy, poison: list[int]):
        self.policy, self.poison, self.chat = policy, poison, policy.chat

    def generate(self, prompts, sampling, *, seeds=None):
        if any(p[: len(self.poison)] == self.poison and len(p) >= len(self.poison) for p in prompts):
            raise RuntimeError("injected backend failure")
        return self.policy.generate(prompts, sampling, seeds=seeds)


def test_backend_failure_marks_only_that_trajectory(tiny_policy):
    envs = [agentgym.make("Calculator-v0") for _ in range(32)]
    obs, _ = envs[5].reset(seed=5)
    poison = tiny_policy.chat.prompt_ids(envs[5].unwrapped.system_prompt, obs)
    flaky = _FlakyBackend(tiny_policy, poison)
    trajs = Collector(flaky, sampling=SAMPLE, max_turns=2).collect(envs, seeds=range(32))
    assert [i for i, t in enumerate(trajs) if t.failed] == [5]
    assert "injected backend failure" in trajs[5].error
    assert all(len(t.turns) >= 1 for i, t in enumerate(trajs) if i != 5)
    assert rollout_metrics(trajs)["rollout/failed"] == 1.0


def test_env_exception_marks_only_that_trajectory(tiny_policy):
    envs = [agentgym.make("Calculator-v0") for _ in range(4)]

    def boom(action):
        raise OSError("tool server down")

    envs[2].step = boom
    trajs = Collector(tiny_policy, sampling=SAMPLE, max_turns=2).collect(envs, seeds=range(4))
    assert [t.failed for t in trajs] == [False, False, True, False]
    assert "tool server down" in trajs[2].error


def test_limits_truncate(tiny_policy):
    t = collect(tiny_policy, "Calculator-v0", seeds=[0], sampling=SAMPLE, max_turns=1)[0]
    assert len(t.turns) == 1 and (t.terminated or t.truncated)
    env = agentgym.make("Calculator-v0")
    obs, _ = env.reset(seed=0)
    cap = len(tiny_policy.chat.prompt_ids(env.unwrapped.system_prompt, obs)) + 30
    t = collect(
        tiny_policy, "Calculator-v0", seeds=[0], sampling=SAMPLE, max_turns=4, max_context_tokens=cap
    )[0]
    assert len(t) <= cap and len(t.to_tensors()["input_ids"]) == len(t)
    assert t.terminated or t.info["truncation"] == "context"


def test_starts_from_a_forked_state(tiny_policy):
    col = Collector(tiny_policy, sampling=SAMPLE, max_turns=3)
    env = agentgym.make("Calculator-v0")
    parent = col.run([EpisodeStart(env, seed=11, env_id="Calculator-v0")])[0]
    # replay the parent's first turn on a fresh env, then branch twice from that state
    base = agentgym.make("Calculator-v0")
    base.reset(seed=11)
    base.step(parent.turns[0].action)
    if base.unwrapped.done:
        pytest.skip("the parent episode ended after one turn")
    starts = [
        EpisodeStart(
            agentgym.fork(base),
            group_id="branch",
            sample_index=j,
            prefix=parent.prefix(1),
            env_id="Calculator-v0",
        )
        for j in range(2)
    ]
    kids = col.run(starts)
    for kid in kids:
        assert kid.turns[0].action_ids == parent.turns[0].action_ids
        assert kid.prompt_ids == parent.prompt_ids and len(kid.turns) >= 2
        assert kid.turns[1].info["turn"] == 2  # the env continued from the forked state
    assert base.unwrapped.turn == 1  # forks never touch the original
