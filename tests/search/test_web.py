"""The web retriever without network: a ToolError observation within its timeout, and the episode goes on."""

from __future__ import annotations

import time

import pytest

import agentgym
from agentgym.errors import ToolError
from agentgym.tools.search.web import WebRetriever

pytest.importorskip("ddgs")


@pytest.fixture(scope="module")
def offline():
    probe = WebRetriever(timeout=5, retries=0, min_interval=0)
    try:
        probe.search("agentgym offline probe", 1)
    except ToolError:
        return True
    pytest.skip("the network is reachable here, so offline behaviour cannot be observed")


def test_offline_web_search_fails_fast(offline):
    web = WebRetriever(timeout=3, retries=2, min_interval=0)
    start = time.perf_counter()
    with pytest.raises(ToolError, match=r"web search failed.*offline, use a local index"):
        web.search("capital of France", 3)
    assert time.perf_counter() - start < 3.5


def test_hanging_backend_is_cut_at_the_timeout(monkeypatch):
    web = WebRetriever(timeout=0.5, retries=3, min_interval=0)
    monkeypatch.setattr(web, "_query", lambda q, k, t: time.sleep(5))
    start = time.perf_counter()
    with pytest.raises(ToolError, match="TimeoutError"):
        web.search("anything", 3)
    assert time.perf_counter() - start < 1.5


def test_episode_continues_after_a_web_error(offline):
    env = agentgym.make(
        "agentgym/SearchQA-v0", retriever="web", retriever_options={"timeout": 3, "retries": 0}
    )
    env.reset(seed=0)
    start = time.perf_counter()
    obs, _reward, terminated, truncated, info = env.step("<search>capital of France</search>")
    assert time.perf_counter() - start < 4
    assert "Error: web search failed" in obs and "error" in info
    assert not terminated and not truncated and info["num_searches"] == 1
    _, _, terminated, _, info = env.step("<answer>Paris</answer>")
    assert terminated and info["retrieved_gold"] is False
