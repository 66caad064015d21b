"""Calculator-v0 keeps the env contract: oracle solves, bad input is data, seeds reproduce."""

from __future__ import annotations

import json
import os

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import agentgym
from agentgym.core.checks import GARBAGE_ACTIONS, check_contract, run_oracle
from agentgym.errors import InvalidConfig


@pytest.fixture()
def env() -> gymnasium.Env:
    return gymnasium.make("agentgym/Calculator-v0")


def test_gymnasium_make_and_check_env(env: gymnasium.Env) -> None:
    obs, info = env.reset(seed=0)
    assert isinstance(obs, str) and "How many" in obs
    assert info["tools"][0]["function"]["name"] == "calculator"
    assert "answer" not in info["task"]
    check_env(env.unwrapped, skip_render_check=True)


def test_oracle_solves_200_seeds_at_every_difficulty() -> None:
    env = agentgym.make("agentgym/Calculator-v0", difficulty=(1, 5), distractors=3)
    difficulties = set()
    for seed in range(200):
        steps, info = run_oracle(env, seed)
        assert info["success"] is True, (seed, steps)
        assert steps[-1][2] == 1.0 and info["score"] == 1.0
        difficulties.add(env.unwrapped.task.meta["difficulty"])
    assert difficulties == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("fmt", ["xml", "json", "openai"])
def test_oracle_in_every_action_format(fmt: str) -> None:
    env = agentgym.make("agentgym/Calculator-v0", action_format=fmt)
    for seed in range(20):
        _, info = run_oracle(env, seed)
        assert info["success"] is True


def test_wrong_answer_scores_zero(env: gymnasium.Env) -> None:
    env.reset(seed=3)
    answer = env.unwrapped.task.answer
    _, reward, terminated, truncated, info = env.step(f"<answer>{answer + 1}</answer>")
    assert (reward, terminated, truncated, info["success"]) == (0.0, True, False, False)


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ("", "no tool call and no answer"),
        ("\x00\xff random bytes \x1b", "no tool call and no answer"),
        ("x" * 100_000, "action too long"),
        ("<answer>12", "unbalanced <answer>"),
        ("<calculator>1+1", "unbalanced <calculator>"),
        ("<search>capital of France</search>", "unknown tool `<search>`"),
        ("<calculator>__import__('os')</calculator>", "not allowed"),
        ("<calculator></calculator>", "empty expression"),
    ],
)
def test_malformed_actions_yield_explaining_observations(
    env: gymnasium.Env, action: str, fragment: str
) -> None:
    env.reset(seed=1)
    obs, _reward, terminated, _truncated, info = env.step(action)
    assert fragment in obs, obs
    assert not terminated
    assert info["turn"] == 1


def test_json_format_wrong_tool_and_wrong_types() -> None:
    env = agentgym.make("agentgym/Calculator-v0", action_format="json")
    env.reset(seed=1)
    obs, *_ = env.step('<tool_call>{"name": "calc", "arguments": {"expression": "1"}}</tool_call>')
    assert "unknown tool `calc`" in obs and "Did you mean `calculator`" in obs
    obs, *_ = env.step('<tool_call>{"name": "calculator", "arguments": {"expression": 12}}</tool_call>')
    assert "must be string" in obs
    obs, *_ = env.step('<tool_call>{"name": "calculator", "arguments": {"expr": "1"}}</tool_call>')
    assert "unknown argument `expr`" in obs


def test_every_garbage_action_in_every_format() -> None:
    for fmt in ("xml", "json", "openai"):
        env = agentgym.make("agentgym/Calculator-v0", action_format=fmt)
        for action in [*GARBAGE_ACTIONS, os.urandom(64).decode("latin-1")]:
            env.reset(seed=0)
            obs, reward, _terminated, _truncated, _info = env.step(action)
            assert isinstance(obs, str) and obs
            assert isinstance(reward, float)


def test_format_penalty_applies_to_malformed_actions() -> None:
    env = agentgym.make("agentgym/Calculator-v0", format_penalty=0.1)
    env.reset(seed=0)
    _, reward, *_ = env.step("no tags at all")
    assert reward == pytest.approx(-0.1)


def test_max_turns_truncates_not_terminates() -> None:
    env = agentgym.make("agentgym/Calculator-v0", max_turns=3)
    env.reset(seed=0)
    flags = [env.step("<calculator>1+1</calculator>")[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]
    obs, _reward, terminated, _truncated, _info = env.step("<calculator>1</calculator>")
    assert terminated and "over" in obs


def test_same_seed_same_actions_same_trajectory() -> None:
    def trace(seed: int) -> str:
        env = agentgym.make("agentgym/Calculator-v0", difficulty=(1, 5))
        rng = np.random.default_rng(seed)
        out = [env.reset(seed=seed)]
        for _ in range(3):
            action = (
                env.unwrapped.oracle_action()
                if rng.random() < 0.5
                else f"<calculator>{rng.integers(9)}</calculator>"
            )
            out.append(env.step(action))
        return json.dumps(out, default=str)

    for seed in range(10):
        assert trace(seed) == trace(seed)
    assert trace(1) != trace(2)


def test_fork_is_independent() -> None:
    env = agentgym.make("agentgym/Calculator-v0")
    env.reset(seed=5)
    env.step(env.unwrapped.oracle_action())
    copy = agentgym.fork(env)
    state = json.dumps(env.unwrapped.state_dict(), sort_keys=True)
    _obs, reward, terminated, *_ = copy.step(copy.unwrapped.oracle_action())
    assert terminated and reward == 1.0
    assert json.dumps(env.unwrapped.state_dict(), sort_keys=True) == state
    _, reward2, terminated2, *_ = env.step(env.unwrapped.oracle_action())
    assert terminated2 and reward2 == 1.0


def test_pinned_task_and_invalid_config() -> None:
    env = agentgym.make("agentgym/Calculator-v0")
    env.reset(seed=7)
    task = env.unwrapped.task.to_dict()
    _obs, info = env.reset(seed=99, options={"task": task})
    assert info["task"]["id"] == task["id"]
    for bad in (9, [2], (1, 2, 3), (3, 1), ("1", "2"), (1.5, 2)):
        with pytest.raises(InvalidConfig, match="difficulty"):
            agentgym.make("agentgym/Calculator-v0", difficulty=bad)
    with pytest.raises(InvalidConfig, match="action_format"):
        agentgym.make("agentgym/Calculator-v0", action_format="yaml")


def test_contract_checker_passes() -> None:
    results = check_contract("agentgym/Calculator-v0", seeds=range(3))
    assert all(r.ok for r in results), [(r.name, r.detail) for r in results]
