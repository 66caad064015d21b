"""`agentgym/SearchQA-v0`: contract, knobs, rewards, info keys, data and corpus options."""

from __future__ import annotations

import subprocess
import sys

import pytest

import agentgym
from agentgym.core.checks import check_contract
from agentgym.errors import InvalidConfig


def test_contract_xml_and_json():
    for fmt in ("xml", "json"):
        results = check_contract("agentgym/SearchQA-v0", seeds=range(4), action_format=fmt)
        assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_default_env_is_offline_bm25_without_torch(tmp_path):
    code = (
        "import sys, agentgym; env = agentgym.make('agentgym/SearchQA-v0'); env.reset(seed=0); "
        "print(type(env.unwrapped.retriever).__name__, type(env.unwrapped.retriever.inner).__name__, "
        "'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"AGENTGYM_CACHE_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["CachedRetriever", "BM25Retriever", "False"]


def test_episode_info_and_observation_format():
    env = agentgym.make("agentgym/SearchQA-v0", hops=2, k=2, max_doc_chars=80)
    obs, info = env.reset(seed=5)
    task = env.unwrapped.task
    assert obs == f"Question: {task.prompt}" and info["task"]["hops"] == 2
    assert set(info["task"]) == {"id", "prompt", "hops", "kind"}  # no answers, gold docs or expert queries
    obs, r, term, _, info = env.step(f"<search>{task.private['expert_queries'][0]}</search>")
    assert obs.startswith("<information>Doc 1 (Title: ") and obs.count("Doc ") == 2
    assert info["num_searches"] == 1 and r == 0.0 and not term
    assert info["tool_results"][0]["error"] is None
    obs, r, term, _trunc, info = env.step("<answer>definitely wrong</answer>")
    assert term and r == 0.0 and info["success"] is False and info["score"] == 0.0
    assert info["retrieved_gold"] is True and info["gold_recall"] >= 0.5 and info["num_searches"] == 1


@pytest.mark.parametrize(
    ("reward", "answer", "expected"),
    [("em", "the {a}", 1.0), ("f1", "{a} maybe", None), ("cover_em", "I think {a}.", 1.0)],
)
def test_reward_choices(reward, answer, expected):
    env = agentgym.make("agentgym/SearchQA-v0", reward=reward, hops=1)
    env.reset(seed=1)
    gold = env.unwrapped.task.answer[0]
    _, r, term, _, info = env.step(f"<answer>{answer.format(a=gold)}</answer>")
    want = expected if expected is not None else info["f1"]
    assert term and r == pytest.approx(want) and info["score"] == pytest.approx(want)
    assert 0 < info["f1"] <= 1 and {"em", "f1", "cover_em"} <= set(info)
    if reward == "f1":
        assert 0 < r < 1 and info["success"] is False


def test_format_penalty_and_truncation():
    env = agentgym.make("agentgym/SearchQA-v0", format_penalty=0.1, max_turns=2)
    env.reset(seed=0)
    obs, r, term, trunc, info = env.step("I will just talk")
    assert r == pytest.approx(-0.1) and "Invalid action" in obs and info["num_searches"] == 0
    _, _, term, trunc, info = env.step("<search>anything</search>")
    assert trunc and not term and info["success"] is False and "retrieved_gold" in info


def test_splits_and_hops_select_questions():
    train = agentgym.make("agentgym/SearchQA-v0").unwrapped
    test = agentgym.make("agentgym/SearchQA-v0", split="test", hops=(3, 4)).unwrapped
    assert {t.meta["hops"] for t in test.tasks} == {3, 4}
    assert not {t.prompt for t in train.tasks} & {t.prompt for t in test.tasks}
    assert test.retriever is train.retriever  # one index per world and process
    with pytest.raises(KeyError):
        test.get_task(train.tasks[0].id)
    for bad in ({"split": "validation"}, {"reward": "bleu"}, {"k": 0}, {"hops": (7,)}):
        with pytest.raises(InvalidConfig):
            agentgym.make("agentgym/SearchQA-v0", **bad)


def test_world_argument_forms(tmp_path):
    from agentgym.envs.worlds import generate_world

    w = generate_world(seed=21, num_docs=150)
    path = w.save(tmp_path / "w")
    by_seed = agentgym.make("agentgym/SearchQA-v0", world={"seed": 21, "num_docs": 150}).unwrapped
    by_path = agentgym.make("agentgym/SearchQA-v0", world=str(path)).unwrapped
    assert [t.prompt for t in by_seed.tasks] == [t.prompt for t in by_path.tasks]
    with pytest.raises(InvalidConfig, match="world="):
        agentgym.make("agentgym/SearchQA-v0", world=str(tmp_path / "missing"))


def test_fork_keeps_search_state_independent():
    env = agentgym.make("agentgym/SearchQA-v0", hops=3)
    env.reset(seed=2)
    env.step(env.unwrapped.oracle_action())
    copy = agentgym.fork(env)
    copy.step(copy.unwrapped.oracle_action())
    assert len(copy.unwrapped._queries) == 2 and len(env.unwrapped._queries) == 1
    assert env.unwrapped.oracle_action() == copy.unwrapped.state_dict()["history"][1]["action"]
