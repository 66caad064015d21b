"""TextGameEnv behaviour shared by every text game: formats, rewards, info, history, forking."""

from __future__ import annotations

import json

import pytest

import agentgym
from agentgym.core.env import fork
from agentgym.envs.textgames.base import normalize_command

INFO_KEYS = {"admissible_commands", "score", "max_score", "won", "lost", "moves", "anchor"}


def make(tw_cache, game="household", **kw):
    return agentgym.make("agentgym/TextWorld-v0", game=game, difficulty=1, cache_dir=str(tw_cache), **kw)


def play_oracle(env, seed=0, limit=100):
    env.reset(seed=seed)
    rewards, info = [], {}
    for _ in range(limit):
        _, r, term, trunc, info = env.step(env.unwrapped.oracle_action())
        rewards.append(r)
        if term or trunc:
            break
    return rewards, info


def command_of(env, command: str) -> str:
    from agentgym.tools.base import ToolCall

    return env.unwrapped.parser.format_call(ToolCall("action", {"command": command}, id="call_0"))


@pytest.mark.parametrize("game", ["household", "coin_collector"])
def test_oracle_wins_with_rewards_summing_to_one(tw_cache, game):
    env = make(tw_cache, game)
    rewards, info = play_oracle(env)
    assert info["success"] is True and info["won"] is True
    assert sum(rewards) == pytest.approx(1.0)
    assert INFO_KEYS <= set(info)
    assert info["score"] == info["max_score"]


def test_every_step_info_carries_the_game_state(tw_cache):
    env = make(tw_cache)
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.unwrapped.oracle_action())
    assert INFO_KEYS <= set(info)
    assert info["admissible_commands"] and all(isinstance(c, str) for c in info["admissible_commands"])
    assert info["moves"] == 1 and "success" not in info


@pytest.mark.parametrize("fmt", ["xml", "json", "openai"])
def test_all_action_formats_reach_the_game(tw_cache, fmt):
    env = make(tw_cache, action_format=fmt)
    _obs0, _ = env.reset(seed=0)
    cmd = env.unwrapped._game.admissible[0]
    obs, _, _, _, info = env.step(command_of(env, cmd))
    assert info["parse_error"] is None and info["command"] == cmd
    if fmt == "openai":
        assert json.loads(obs)[0]["role"] == "tool"
    elif fmt == "json":
        assert obs.startswith("<tool_response>")


def test_xml_tag_text_is_the_command(tw_cache):
    env = make(tw_cache)
    env.reset(seed=0)
    cmd = env.unwrapped._game.admissible[0]
    obs, _, _, _, info = env.step(f"I think I should act. <action>  {cmd.upper()} </action>")
    assert info["command"] == normalize_command(cmd.upper()) and info["invalid_command"] is False
    assert "Nothing happens" not in obs  # matched case-insensitively by the game too


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "no tags here",
        "<answer>done</answer>",
        "<action>look</action><action>inventory</action>",
        "<action>   </action>",
        "<action>" + "x" * 500 + "</action>",
        "<search>foo</search>",
    ],
)
def test_malformed_actions_are_observations_with_format_penalty(tw_cache, bad):
    env = make(tw_cache, format_penalty=0.1)
    env.reset(seed=0)
    before = env.unwrapped._backend.commands[:]
    obs, r, term, trunc, info = env.step(bad)
    assert info["parse_error"] and obs.startswith("Invalid action")
    assert r == pytest.approx(-0.1) and not term and not trunc
    assert env.unwrapped._backend.commands == before  # nothing reached the engine


def test_inadmissible_command_is_flagged_and_penalised(tw_cache):
    env = make(tw_cache, invalid_action_penalty=0.05)
    env.reset(seed=0)
    obs, r, _, _, info = env.step("<action>dance with the fridge</action>")
    assert info["invalid_command"] is True and info["parse_error"] is None
    assert r == pytest.approx(-0.05)
    assert "Nothing happens" in obs


def test_history_window_and_admissible_list_in_observation(tw_cache):
    env = make(tw_cache, history_window=3)
    env.reset(seed=0)
    cmds = []
    for _ in range(3):
        action = env.unwrapped.oracle_action()
        cmds.append(action[len("<action>") : -len("</action>")])
        obs, *_ = env.step(action)
    assert obs.startswith("Goal: Your task is to:")
    assert all(f"> {c}" in obs for c in cmds)
    assert "Admissible commands:" in obs
    plain = make(tw_cache, show_admissible=False)
    plain.reset(seed=0)
    obs, *_ = plain.step(plain.unwrapped.oracle_action())
    assert "Admissible commands" not in obs and "Goal:" not in obs


def test_truncation_at_max_turns(tw_cache):
    env = make(tw_cache, max_turns=2)
    env.reset(seed=0)
    env.step("<action>look</action>")
    _, _, term, trunc, info = env.step("<action>look</action>")
    assert trunc and not term and info["success"] is False and info["truncation"] == "max_turns"
    obs, r, term, *_ = env.step("<action>look</action>")
    assert term and r == 0.0 and "over" in obs


@pytest.mark.parametrize("game", ["household", "coin_collector"])
def test_fork_mid_game_is_independent(tw_cache, game):
    env = make(tw_cache, game)
    env.reset(seed=1)
    env.step(env.unwrapped.oracle_action())
    copy = fork(env)
    before = (env.unwrapped._game.anchor, env.unwrapped._game.score, env.unwrapped._game.feedback)
    rewards, info = [], {}
    for _ in range(40):
        _, r, term, trunc, info = copy.step(copy.unwrapped.oracle_action())
        rewards.append(r)
        if term or trunc:
            break
    assert info["won"] is True
    assert (env.unwrapped._game.anchor, env.unwrapped._game.score, env.unwrapped._game.feedback) == before
    # the original continues from where it was, unaffected, and wins the same way
    rewards2, info2 = [], {}
    for _ in range(40):
        _, r, term, trunc, info2 = env.step(env.unwrapped.oracle_action())
        rewards2.append(r)
        if term or trunc:
            break
    assert info2["won"] is True and rewards2 == rewards


def test_state_dict_restores_into_a_fresh_env(tw_cache):
    env = make(tw_cache)
    env.reset(seed=2)
    for _ in range(2):
        env.step(env.unwrapped.oracle_action())
    state = json.loads(json.dumps(env.unwrapped.state_dict()))  # must be plain data
    other = make(tw_cache)
    other.unwrapped.load_state_dict(state)
    a = env.unwrapped.step("<action>look</action>")
    b = other.unwrapped.step("<action>look</action>")
    assert a[0] == b[0] and a[4]["anchor"] == b[4]["anchor"]


def test_anchor_is_history_free(tw_cache):
    """Two paths to the same state share the anchor; different states do not."""
    env = make(tw_cache)
    env.reset(seed=0)
    start = env.unwrapped._game.anchor
    _, _, _, _, info = env.step("<action>look</action>")
    assert info["anchor"] == start  # looking around changes nothing in the world
    go = next(c for c in info["admissible_commands"] if c.startswith("go to"))
    _, _, _, _, info = env.step(f"<action>{go}</action>")
    assert info["anchor"] != start


def test_random_strings_never_raise(tw_cache, fuzz):
    assert fuzz(make(tw_cache, game="coin_collector"), 200) == 200


def test_openai_observation_answers_the_agents_call_id(tw_cache):
    env = make(tw_cache, action_format="openai")
    env.reset(seed=0)
    msg = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_xyz", "type": "function", "function": {"name": "action", "arguments": '{"command": "look"}'}}
    ]}  # fmt: skip
    obs, *_ = env.step(json.dumps(msg))
    assert json.loads(obs)[0]["tool_call_id"] == "call_xyz"
