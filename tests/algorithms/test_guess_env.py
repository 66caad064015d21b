"""GuessNumber-v0 and TwentyQuestions-v0: the env contract, the experts, sparse rewards, forking."""

from __future__ import annotations

import math

import numpy as np
import pytest

import agentgym
from agentgym.core.checks import check_contract, run_oracle
from agentgym.core.env import fork
from agentgym.errors import InvalidConfig


@pytest.mark.parametrize("env_id", ["GuessNumber-v0", "TwentyQuestions-v0"])
def test_contract(env_id):
    results = check_contract(env_id, seeds=range(6))
    assert all(r.ok for r in results), [r for r in results if not r.ok]


@pytest.mark.parametrize(("low", "high"), [(1, 100), (1, 16), (-5, 5), (0, 1)])
def test_binary_search_expert_is_optimal_and_always_wins(low, high):
    env = agentgym.make("GuessNumber-v0", low=low, high=high)
    bound = math.ceil(math.log2(high - low + 1))
    for seed in range(40):
        steps, info = run_oracle(env, seed)
        assert info["success"] and steps[-1][2] == 1.0
        assert info["guesses"] <= bound  # ⌈log₂ N⌉ guesses at most, then the answer
        assert all(r == 0.0 for _, _, r, _ in steps[:-1])  # sparse: nothing before the answer


def test_feedback_and_sparse_reward():
    env = agentgym.make("GuessNumber-v0", high=100)
    env.reset(seed=3)
    secret = int(env.unwrapped.task.answer)
    obs, r, term, _, _ = env.step(f"<guess>{secret - 1 if secret > 1 else secret + 1}</guess>")
    assert ("higher" in obs) == (secret > 1) and r == 0.0 and not term
    obs, *_ = env.step("<guess>500</guess>")
    assert "between 1 and 100" in obs  # out-of-range guess is an error observation
    obs, r, term, *_ = env.step(f"<answer>{secret}</answer>")
    assert r == 1.0 and term
    assert str(secret) not in env.unwrapped.system_prompt  # ground truth never in the prompt


def test_random_guessing_rarely_wins():
    env = agentgym.make("GuessNumber-v0", high=100)
    rng = np.random.default_rng(0)
    wins = 0
    for seed in range(100):
        env.reset(seed=seed)
        for _ in range(env.unwrapped.max_turns):
            _, r, term, trunc, _ = env.step(f"<answer>{int(rng.integers(1, 101))}</answer>")
            wins += r > 0
            if term or trunc:
                break
    assert wins < 10


def test_fork_rebinds_the_game_tool():
    env = agentgym.make("GuessNumber-v0")
    env.reset(seed=1)
    child = fork(env)
    secret = int(env.unwrapped.task.answer)
    env.reset(seed=2)  # the original moves on to another secret
    obs, *_ = child.step(f"<guess>{secret}</guess>")
    assert obs.endswith(f"{secret} is correct.</information>")  # the fork still plays its own game


def test_twenty_questions_answers_and_narrows():
    env = agentgym.make("TwentyQuestions-v0", num_candidates=8)
    obs, info = env.reset(seed=5)
    u = env.unwrapped
    secret = u.world.entity(u.task.private["entity"])
    assert secret.name in obs and len(info["task"]["candidates"]) == 8
    obs, *_ = env.step(f"<ask>type = {secret.type}</ask>")
    assert "Yes." in obs
    obs, *_ = env.step("<ask>type = not-a-type</ask>")
    assert "No." in obs
    obs, *_ = env.step("<ask>what is it?</ask>")
    assert "feature = value" in obs  # malformed question: an error observation
    assert secret.id in u.state_dict()["extra"]["remaining"]
    _, r, term, *_ = env.step(f"<answer>{secret.name}</answer>")
    assert r == 1.0 and term


def test_bad_arguments():
    with pytest.raises(InvalidConfig, match="low < high"):
        agentgym.make("GuessNumber-v0", low=5, high=5)
    with pytest.raises(InvalidConfig, match="num_candidates"):
        agentgym.make("TwentyQuestions-v0", num_candidates=1)
