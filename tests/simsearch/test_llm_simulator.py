"""The LLM-backed simulator: robust parsing, a local OpenAI-compatible server, the tiny default model."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.tools.search.simulated import LLMSimulator, SimContext, parse_documents

pytest.importorskip("fastapi")
from agentgym.eval.scripted_server import scripted_chat_server


def test_parse_well_formed_and_sloppy_output():
    text = "Doc 1 (Title: Osk) Osk is a city.\nDoc 2 (Title: Tam) A river.\nDoc 3 (Title: X) third\nDoc 4 (Title: Y) 4th"
    docs = parse_documents(text, 3)
    assert [(d.title, d.text) for d in docs] == [
        ("Osk", "Osk is a city."),
        ("Tam", "A river."),
        ("X", "third"),
    ]
    sloppy = "Sure! Here are documents:\n**Doc 1:** (Title: Osk) Osk lies north.\ndocument 2. Title: none here\n\nDoc 3 ()"
    got = parse_documents(sloppy, 5)
    assert [d.title for d in got] == ["Osk", ""] and got[0].text == "Osk lies north."
    assert parse_documents("", 3) == [] and parse_documents("?? !! --", 3) == []
    assert len(parse_documents("Doc 1 (Title: A) " + "word " * 500, 1)[0].text.split()) == 60


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.integers(1, 6))
def test_parse_never_raises_and_respects_k(text, k):
    docs = parse_documents(text, k)
    assert len(docs) <= k and all(d.text.strip() for d in docs)


def _docs_reply(messages):
    prompt = str(messages[-1]["content"])
    query = re.search(r"Query: (.*)", prompt).group(1)
    if "garble" in query:
        return "I cannot help with that."
    kind = "noise" if "do not contain the correct answer" in prompt else "fact"
    return "\n".join(f"Doc {i} (Title: {query} {i}) A {kind} about {query}." for i in (1, 2, 3))


def test_openai_backend_against_a_local_server(acct):
    from agentgym.llm.openai_chat import OpenAIChat

    with scripted_chat_server(_docs_reply) as server:
        sim = LLMSimulator(OpenAIChat(server.url, model="scripted"), p_start=0.5, p_end=0.5, seed=3)
        results = [sim.search(q, 3) for q in ["Osk city", "garble me", "Tam river"] * 10]
        assert server.requests == 30
    stats = sim.stats
    assert stats["calls"] == 30 and stats["parse_failures"] == 10 and stats["errors"] == 0
    assert [len(r) for r in results] == [3, 0, 3] * 10
    for r in results:
        for d in r:
            assert ("noise" in d.text) == (d.meta["simulated"] == "noisy")
    totals = acct.totals()
    assert totals["cost/simulator/calls"] == 30 and totals["cost/openai/calls"] == 30
    assert totals["cost/openai/tokens_in"] == totals["cost/simulator/tokens_in"] > 0


def test_answer_aware_prompts_carry_the_gold_answer_and_blind_ones_do_not():
    seen: list[str] = []

    def reply(messages):
        seen.append(str(messages[-1]["content"]))
        return _docs_reply(messages)

    from agentgym.llm.openai_chat import OpenAIChat

    ctx = SimContext("Where was Cubou born?", ["Drihaerk"], [])
    with scripted_chat_server(reply) as server:
        for grounding in ("answer_aware", "blind"):
            sim = LLMSimulator(OpenAIChat(server.url, model="scripted"), grounding=grounding)
            sim.set_context(ctx)
            sim.search("Cubou", 3)
    assert "Drihaerk" in seen[0] and "Where was Cubou born?" in seen[0]
    assert "Drihaerk" not in seen[1]


def test_server_down_gives_empty_results_not_a_crash(acct):
    from agentgym.llm.openai_chat import OpenAIChat

    sim = LLMSimulator(
        OpenAIChat("http://127.0.0.1:9", model="m", max_retries=0, timeout=2), p_start=0, p_end=0
    )
    assert sim.search("anything", 3) == []
    assert sim.stats["errors"] == 1 and acct.totals()["cost/openai/errors"] == 1


@pytest.mark.integration
def test_tiny_default_model_runs(acct):
    from agentgym.llm import load_policy

    sim = LLMSimulator(load_policy("tiny", device="cpu"), max_tokens=24, p_start=0.5, p_end=0.5)
    out = sim.search_batch(["Osk city", "Tam river", "who founded Meilork"], 3)
    assert len(out) == 3 and all(len(r) <= 3 for r in out)
    stats, totals = sim.stats, acct.totals()
    assert stats["calls"] == 3 and stats["docs"] == sum(len(r) for r in out)
    assert stats["parse_failures"] == sum(not r for r in out)  # an untrained model: malformed output counted
    assert totals["cost/simulator/calls"] == 3 and 0 < totals["cost/simulator/tokens_out"] <= 3 * 24
