"""Cost accounting of external calls: totals match the calls made; a budget stops a run cleanly."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

import agentgym
from agentgym.tools.accounting import Accountant, BudgetExceeded, Price, budget_spent, using

pytest.importorskip("fastapi")
from agentgym.eval.scripted_server import scripted_chat_server

from .test_llm_simulator import _docs_reply


def test_remote_retriever_records_each_query(acct):
    from agentgym.tools.search.remote import RemoteRetriever

    def handler(request: httpx.Request) -> httpx.Response:
        n = len(json.loads(request.content)["queries"])
        return httpx.Response(200, json={"result": [[{"id": "1", "contents": "T\nx"}]] * n})

    r = RemoteRetriever("http://retrieval.test", transport=httpx.MockTransport(handler))
    r.search_batch(["a", "b", "c"], 1)
    r.search("d", 1)
    t = acct.totals()
    assert t["cost/remote/calls"] == 4 and t["cost/remote/errors"] == 0 and t["cost/remote/latency_s"] > 0


def test_web_retriever_records_failures_and_respects_the_budget(monkeypatch):
    pytest.importorskip("ddgs")
    from agentgym.errors import ToolError
    from agentgym.tools.search.web import WebRetriever

    web = WebRetriever(timeout=2, retries=0, min_interval=0)
    monkeypatch.setattr(web, "_query", lambda q, k, t: [])
    with using(Accountant(prices={"web": Price(per_call=0.5)}, budget=1.0)) as a:
        assert web.search("x", 3) == [] and web.search("y", 3) == []
        with pytest.raises(BudgetExceeded, match="budget 1 spent"):
            web.search("z", 3)
        assert a.totals()["cost/web/calls"] == 2 and a.total_cost == 1.0

    def offline(q, k, t):
        from ddgs.exceptions import DDGSException

        raise DDGSException("dns resolve failed")

    monkeypatch.setattr(web, "_query", offline)
    with using(Accountant()) as a, pytest.raises(ToolError):
        web.search("x", 3)
    assert a.totals()["cost/web/errors"] == 1


def test_env_totals_match_the_searches_and_the_budget_becomes_an_observation():
    with scripted_chat_server(_docs_reply) as server:
        prices = {"simulator": Price(per_call=0.01, per_1k_input_tokens=0.0)}
        with using(Accountant(prices=prices, budget=0.05)) as a:
            env = agentgym.make(
                "agentgym/SimSearchQA-v0", simulator=f"openai:{server.url}#scripted", grounding="blind"
            )
            env.reset(seed=0)
            observations = [env.step(f"<search>q{i}</search>")[0] for i in range(7)]
            assert server.requests == 5
            t = a.totals()
            assert t["cost/simulator/calls"] == t["cost/openai/calls"] == 5
            assert t["cost/total_usd"] == pytest.approx(0.05)
            assert all("Doc 1 (Title: q" in o for o in observations[:5])
            assert all("BudgetExceeded" in o and "budget 0.05 spent" in o for o in observations[5:])
            assert budget_spent(a) is not None


def test_eval_stops_cleanly_when_the_budget_is_spent(tmp_path, caplog):
    from agentgym.eval.runner import EvalConfig, run_eval

    with scripted_chat_server(_docs_reply) as server:
        with using(Accountant(prices={"simulator": Price(per_call=1.0)}, budget=3.0)) as a:
            kw = {"simulator": f"openai:{server.url}#scripted", "grounding": "blind", "hops": [1]}
            cfg = EvalConfig(
                env_id="agentgym/SimSearchQA-v0",
                out=tmp_path,
                n=10,
                concurrency=1,
                env_kwargs=kw,
                report=False,
            )
            with caplog.at_level(logging.WARNING):
                summary = run_eval(cfg, progress=False)
    assert 1 <= summary["overall"]["episodes"] < 10
    assert "budget 3 spent" in summary["run"]["stopped"]
    cost = json.loads((tmp_path / "cost.json").read_text())
    assert cost["cost/simulator/calls"] == a.totals()["cost/simulator/calls"] >= 3
    assert any("stopped early" in r.message and "budget" in r.message for r in caplog.records)


@pytest.mark.integration
def test_trainer_stops_cleanly_when_the_budget_is_spent(tmp_path, caplog):
    from agentgym.llm import load_policy
    from agentgym.trainers.run_config import RunConfig
    from agentgym.trainers.trainer import Trainer

    with scripted_chat_server(_docs_reply) as server:
        env = {
            "id": "SimSearchQA-v0",
            "kwargs": {"simulator": f"openai:{server.url}#scripted", "hops": [1], "max_turns": 2},
        }
        trainer = {"steps": 4, "prompts_per_step": 2, "group_size": 2, "max_new_tokens": 12, "max_turns": 2,
                   "eval_every": 0, "progress": False, "micro_batch_size": 4, "save_every": 0}  # fmt: skip
        cfg = RunConfig.from_dict(
            {"model": {"spec": "tiny"}, "envs": [env], "trainer": trainer, "algorithm": {"name": "grpo"}}
        )
        with using(Accountant(budget=1e-9, prices={"simulator": Price(per_call=1.0)})):
            t = Trainer(cfg, load_policy("tiny", device="cpu"), tmp_path)
            # an untrained policy rarely searches: charge the first step as if it had
            real_step = t.train_step

            def step_and_search():
                from agentgym.tools.accounting import default_accountant

                default_accountant().record("simulator")
                return real_step()

            t.train_step = step_and_search
            with caplog.at_level(logging.WARNING):
                records = t.fit()
    assert [r["step"] for r in records] == [1]
    assert all(e.unwrapped.progress == (0, 4) for e in t.pools[0].train_envs)  # the curriculum hook ran
    assert records[0]["cost/simulator/calls"] >= 1
    assert any("stopping the run at step 1 of 4" in r.message for r in caplog.records)
    assert (tmp_path / "checkpoints").exists() or any(tmp_path.rglob("ckpt-*"))
