"""`agentgym/SimSearchQA-v0`: the env contract, the curriculum hook, and the evaluation guard."""

from __future__ import annotations

import logging

import pytest

import agentgym
from agentgym.core.checks import check_contract
from agentgym.core.env import fork
from agentgym.errors import InvalidConfig
from agentgym.eval.runner import EvalConfig, run_eval

ENV = "agentgym/SimSearchQA-v0"


def test_contract_holds_with_noise():
    results = check_contract(ENV, seeds=range(3), p_start=0.5, p_end=0.5)
    assert all(r.ok for r in results), [r for r in results if not r.ok]


def _oracle_episode(env, seed):
    env.reset(seed=seed)
    u = env.unwrapped
    obs_list = []
    while True:
        obs, _, term, trunc, info = env.step(u.oracle_action())
        obs_list.append(obs)
        if term or trunc:
            return obs_list, info


def test_p0_searches_show_a_gold_document_and_p1_never_do():
    clean = agentgym.make(ENV, p_start=0.0, p_end=0.0)
    noisy = agentgym.make(ENV, p_start=1.0, p_end=1.0)
    for seed in range(8):
        for env, want in ((clean, True), (noisy, False)):
            obs, info = _oracle_episode(env, seed)
            gold = env.unwrapped.task.private["gold_docs"]
            titles = [env.unwrapped.world.doc(g).title for g in gold]
            for o in obs[:-1]:  # every search observation
                assert any(f"(Title: {t})" in o for t in titles) is want, o
            assert info["retrieved_gold"] is want
            assert info["success"]  # the expert answers from its plan either way


def test_training_progress_moves_the_noise_and_survives_forks():
    env = agentgym.make(ENV, p_start=0.0, p_end=0.5, total_steps=100)
    u = env.unwrapped
    assert u.noise_p == 0.0
    u.set_training_progress(50, 100)
    _, info = env.reset(seed=0)
    assert info["noise_p"] == pytest.approx(0.5 * (4**0.5 - 1) / 3)
    _, info = env.reset(seed=0, options={"training_progress": [100, 100]})  # how a remote env is told
    assert info["noise_p"] == 0.5
    env.step(u.oracle_action())
    copy = fork(env)
    assert copy.unwrapped.noise_p == 0.5
    before = u.state_dict()
    copy.step(copy.unwrapped.oracle_action())
    assert u.state_dict() == before


def test_noise_counts_are_reported_and_reproducible():
    env = agentgym.make(ENV, p_start=0.5, p_end=0.5)
    runs = []
    for _ in range(2):
        env.reset(seed=4)
        info = {}
        for q in ["alpha", "beta", "gamma", "delta", "epsilon"]:
            _, _, _, _, info = env.step(f"<search>{q}</search>")
        runs.append((info["sim_noisy_calls"], info["sim_useful_calls"]))
    assert runs[0] == runs[1] and sum(runs[0]) == 5


def test_answer_aware_is_refused_in_eval_mode():
    with pytest.raises(InvalidConfig, match="grounding='blind'"):
        agentgym.make(ENV, mode="eval")
    env = agentgym.make(ENV)  # answer_aware is the training default
    with pytest.raises(InvalidConfig, match="cannot be used for evaluation"):
        env.unwrapped.on_evaluation()
    assert agentgym.make(ENV, grounding="blind", mode="eval").unwrapped.sim_context() is None


def test_agentgym_eval_refuses_answer_aware_and_runs_blind(tmp_path, caplog):
    with pytest.raises(InvalidConfig, match="answer_aware"):
        run_eval(EvalConfig(env_id=ENV, out=tmp_path / "aware", n=2, report=False), progress=False)
    cfg = EvalConfig(env_id=ENV, out=tmp_path / "blind", n=3, env_kwargs={"grounding": "blind"}, report=False)
    with caplog.at_level(logging.WARNING):
        summary = run_eval(cfg, progress=False)
    assert summary["overall"]["episodes"] == 3 and summary["overall"]["success_rate"] == 1.0


def test_the_docs_example_runs():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "simulated_search.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    scope: dict = {}
    exec(compile(block, "simulated_search.md", "exec"), scope)
    assert scope["sim"].noise_p == pytest.approx(0.1667, abs=1e-4)
    assert len(scope["docs"]) == 3 and scope["sim"].stats["calls"] == 1
    assert scope["llm"].grounding == "blind"


def test_envs_sharing_an_llm_simulator_keep_their_own_curriculum():
    spec = "openai:http://127.0.0.1:9#never-called"
    a = agentgym.make(ENV, simulator=spec, grounding="blind", p_start=0.2, p_end=0.2).unwrapped
    b = agentgym.make(ENV, simulator=spec, grounding="blind", p_start=0.7, p_end=0.7).unwrapped
    assert a.simulator is b.simulator  # the model is loaded once per process
    assert (a.noise_p, b.noise_p) == (0.2, 0.7)
