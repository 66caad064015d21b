"""The rollout Collector gives identical trajectories on RayEnvPool proxies and on local envs."""

from __future__ import annotations

import pytest

import agentgym

pytestmark = pytest.mark.slow  # loads the tiny policy and generates on CPU (~30-60 s on 2 busy cores)


def _key(t) -> tuple:
    turns = tuple(
        (u.action, tuple(u.action_ids), u.observation, u.reward, repr(sorted(u.info.items())))
        for u in t.turns
    )
    return (
        t.task_id,
        t.group_id,
        tuple(t.prompt_ids),
        turns,
        t.terminated,
        t.truncated,
        t.failed,
        repr(t.info),
    )


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_collector_on_ray_proxies_equals_in_process(pool, temperature):
    llm = pytest.importorskip("agentgym.llm", reason="needs the `train` extra (torch, transformers)")
    from agentgym.rollout import collect

    policy = llm.load_policy("tiny")
    sampling = llm.SamplingParams(max_tokens=24, temperature=temperature, seed=7)
    seeds = [0, 1, 2, 3]
    local = [agentgym.make("agentgym/Calculator-v0") for _ in seeds]
    proxies = pool.make_envs(len(seeds))
    want = collect(policy, local, seeds=seeds, sampling=sampling, max_turns=3)
    got = collect(policy, proxies, seeds=seeds, sampling=sampling, max_turns=3)
    assert not any(t.failed for t in got)
    assert [_key(t) for t in got] == [_key(t) for t in want]
    for p in proxies:
        p.close()
