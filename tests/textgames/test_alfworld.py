"""ALFWorld-v0 on locally generated ALFWorld-format games (the real game files are a download)."""

from __future__ import annotations

import json

import pytest

import agentgym
from agentgym.core.checks import check_contract
from agentgym.envs.textgames.household import TASK_TYPES, generate_household
from agentgym.envs.textgames.pddl import demangle_ids
from agentgym.errors import EnvNotAvailable, InvalidConfig

pytest.importorskip(
    "fast_downward", reason="ALFWorld-format games need textworld[pddl] (fast-downward-textworld)"
)


def test_missing_data_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    with pytest.raises(EnvNotAvailable, match="alfworld-download") as err:
        agentgym.make("agentgym/ALFWorld-v0")
    assert "ALFWORLD_DATA" in str(err.value) and "data_dir" in str(err.value)
    with pytest.raises(EnvNotAvailable, match=r"json_2\.1\.1"):
        agentgym.make("agentgym/ALFWorld-v0", data_dir=str(tmp_path / "nowhere"))
    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path))
    with pytest.raises(EnvNotAvailable, match="no solvable ALFWorld games"):
        agentgym.make("agentgym/ALFWorld-v0")


def test_bad_arguments_are_config_errors(alfworld_data):
    with pytest.raises(InvalidConfig, match="valid_seen"):
        agentgym.make("agentgym/ALFWorld-v0", data_dir=str(alfworld_data), split="validation")
    with pytest.raises(InvalidConfig, match="pick_and_place_simple"):
        agentgym.make("agentgym/ALFWorld-v0", data_dir=str(alfworld_data), task_types=["pick_and_place"])


def play(env, task_id, policy="oracle", limit=60):
    obs, _ = env.reset(options={"task": task_id})
    rewards, last = [], {}
    for _ in range(limit):
        if policy == "oracle":
            action = env.unwrapped.oracle_action()
        else:
            action = f"<action>{last.get('admissible_commands', ['look'])[0]}</action>"
        obs, r, term, trunc, last = env.step(action)
        rewards.append(r)
        if term or trunc:
            break
    return obs, rewards, last


@pytest.mark.parametrize("split", ["train", "valid_unseen"])
def test_every_task_type_is_played_to_a_win(alfworld_data, split):
    """Train games carry walkthroughs; valid_unseen ones do not, so the expert replans."""
    env = agentgym.make("agentgym/ALFWorld-v0", data_dir=str(alfworld_data), split=split)
    games = env.unwrapped.games
    assert sorted(t for _, t in games) == sorted(TASK_TYPES)
    for game, task_type in games:
        task = env.unwrapped._task([g for g, _ in games].index(game))
        _, info = env.reset(options={"task": task.id})
        assert info["task"]["task_type"] == task_type
        _, rewards, last = play(env, task.id)
        assert last["won"] is True and last["success"] is True, task_type
        assert rewards[-1] == 1.0 and sum(rewards) == 1.0


def test_observations_follow_alfworld_conventions(alfworld_data):
    env = agentgym.make("agentgym/ALFWorld-v0", data_dir=str(alfworld_data), task_types=[3])
    obs, info = env.reset(seed=0)
    assert obs.startswith("-= Welcome to TextWorld, ALFRED! =-")
    assert "You are in the middle of a room. Looking quickly around you, you see" in obs
    assert "Your task is to: put a clean" in obs
    assert "sinkbasin 1" in obs  # ALFWorld's sink ids demangle to `sinkbasin`
    assert info["task"]["task_type"] == "pick_clean_then_place_in_recep"
    assert any(c.startswith("go to ") for c in env.unwrapped._game.admissible)


def test_a_policy_that_never_finishes_gets_no_reward(alfworld_data):
    env = agentgym.make("agentgym/ALFWorld-v0", data_dir=str(alfworld_data), max_turns=15)
    task_id = env.unwrapped._task(0).id
    _, rewards, last = play(env, task_id, policy="first-admissible")
    assert last["won"] is False and last["success"] is False and sum(rewards) == 0.0


def test_alfworld_contract(alfworld_data):
    failed = [
        r
        for r in check_contract("agentgym/ALFWorld-v0", seeds=(0, 3), data_dir=str(alfworld_data))
        if not r.ok
    ]
    assert not failed, failed


def test_demangling_follows_alfworld_numbering():
    ids = [
        "mug_bar__plus_01_dot_00_bar__plus_00_dot_90_bar__minus_01_dot_00",
        "mug_bar__minus_00_dot_50_bar__plus_00_dot_90_bar__minus_01_dot_00",
        "sink_bar__minus_01_dot_99_bar__plus_00_dot_05_bar__minus_01_dot_30_bar_sinkbasin",
        "agent1",
        "MugType",
    ]
    names = demangle_ids(ids)
    assert names["agent1"] == "agent1" and names["MugType"] == "MugType"
    assert names[ids[2]] == "sinkbasin 1"
    # sorted ids: "_minus_" < "_plus_"; ALFWorld gives the first sorted id the highest number
    assert names[ids[1]] == "mug 2" and names[ids[0]] == "mug 1"


def test_household_generation_is_deterministic_and_valid():
    a, b = generate_household(5, 3), generate_household(5, 3)
    assert a == b and generate_household(6, 3) != a
    with pytest.raises(InvalidConfig):
        generate_household(0, 4)
    for task_type in TASK_TYPES:
        spec = generate_household(0, 2, task_type)
        assert spec.task_type == task_type and spec.goal in spec.grammar
        json.dumps(spec.pddl_params)


@pytest.mark.slow
def test_fuzz_two_thousand_random_actions(alfworld_data, fuzz):
    assert fuzz(agentgym.make("agentgym/ALFWorld-v0", data_dir=str(alfworld_data)), 2000) == 2000
