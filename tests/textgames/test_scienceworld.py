"""ScienceWorld-v0: gold paths through the adapter, splits, contract. Needs Java >= 11."""

from __future__ import annotations

import shutil

import pytest

import agentgym
from agentgym.core.checks import check_contract
from agentgym.envs.textgames.scienceworld import canonical_text
from agentgym.errors import InvalidConfig

pytest.importorskip(
    "scienceworld", reason="ScienceWorld-v0 needs the `scienceworld` package (textworld extra)"
)
needs_java = pytest.mark.skipif(
    shutil.which("java") is None, reason="ScienceWorld runs in a JVM: install Java >= 11"
)


def test_canonical_text_sorts_item_runs_only():
    text = "Room:\n\tb thing\n\ta thing\nYou also see:\n\tz door\n\ty door"
    assert canonical_text(text) == "Room:\n\ta thing\n\tb thing\nYou also see:\n\ty door\n\tz door"


@pytest.fixture(scope="module")
def sci():
    """One JVM for the default tests (reproducible=False reuses it across episodes)."""
    if shutil.which("java") is None:
        pytest.skip("ScienceWorld runs in a JVM: install Java >= 11")
    env = agentgym.make("agentgym/ScienceWorld-v0", task="find-living-thing", reproducible=False)
    yield env
    env.close()


@needs_java
@pytest.mark.parametrize("task_id", ["find-living-thing-v0", "test-conductivity-of-unknown-substances-v0"])
def test_gold_path_reaches_100(sci, task_id):
    sci.reset(options={"task": task_id})
    rewards, info = [], {}
    for _ in range(sci.unwrapped.max_turns):
        _, r, term, trunc, info = sci.step(sci.unwrapped.oracle_action())
        rewards.append(r)
        if term or trunc:
            break
    assert info["score"] == 100 and info["won"] and info["success"]
    assert sum(rewards) == pytest.approx(1.0)
    assert info["valid_actions"] and info["valid_actions"] == info["admissible_commands"]


@needs_java
def test_seed_picks_a_variation_of_the_split(sci):
    _, info = sci.reset(seed=3)
    train = set(sci.unwrapped._sci.variations("find-living-thing", "train"))
    assert info["task"]["task"] == "find-living-thing" and info["task"]["variation"] in train
    assert sci.reset(seed=3)[1]["task"]["id"] == info["task"]["id"]


@needs_java
def test_unknown_commands_and_garbage_are_data(sci):
    sci.reset(options={"task": "find-living-thing-v0"})
    obs, _, term, _, info = sci.step("<action>xyzzy plugh</action>")
    assert not term and info["invalid_command"] and "No known action" in obs
    _, _, term, _, info = sci.step("\x00<action>")
    assert info["parse_error"] and not term


@needs_java
def test_bad_task_names_are_config_errors(sci):
    with pytest.raises(InvalidConfig, match="boil"):
        agentgym.make("agentgym/ScienceWorld-v0", task="boill")
    with pytest.raises(InvalidConfig, match="dev"):
        agentgym.make("agentgym/ScienceWorld-v0", split="valid")


@pytest.mark.slow
@needs_java
def test_contract():
    failed = [
        r for r in check_contract("agentgym/ScienceWorld-v0", seeds=(0,), task="find-animal") if not r.ok
    ]
    assert not failed, failed


@pytest.mark.slow
@needs_java
def test_gold_path_of_all_thirty_tasks(sci):
    names = sci.unwrapped._sci.task_names
    assert len(names) == 30
    failures = []
    for name in names:
        sci.reset(options={"task": f"{name}-v0"})
        info = {}
        for _ in range(400):
            *_, term, trunc, info = sci.step(sci.unwrapped.oracle_action())
            if term or trunc:
                break
        if info.get("score") != 100:
            failures.append((name, info.get("score")))
    assert not failures, failures


@pytest.mark.slow
@needs_java
def test_fuzz_two_thousand_random_actions(sci, fuzz):
    assert fuzz(sci, 2000, reset_options={"task": "find-living-thing-v0"}) == 2000
