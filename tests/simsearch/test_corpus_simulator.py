"""The corpus-grounded simulator: gold documents at p = 0, none at p = 1, noise rate = p."""

from __future__ import annotations

import random

import pytest

from agentgym.tools.search.simulated import CorpusSimulator, SimContext


def _contexts(world, n=60):
    qs = world.questions_for("train")[:n]
    return [(SimContext(q.question, list(q.answers), list(q.gold_docs)), q.expert_queries) for q in qs]


def test_p0_every_result_list_holds_a_gold_document(world, bm25):
    sim = CorpusSimulator(world, retriever=bm25, p_start=0.0, p_end=0.0, grounding="answer_aware")
    n = 0
    for ctx, queries in _contexts(world):
        sim.set_context(ctx)
        for q in [*queries, ctx.question, "completely unrelated words"]:
            docs = sim.search(q, k=3)
            assert 1 <= len(docs) <= 3  # a real retriever may find fewer than k for nonsense
            assert any(d.id in ctx.gold_docs for d in docs), (q, [d.id for d in docs], ctx.gold_docs)
            n += 1
    assert sim.stats["useful_calls"] == n and sim.stats["noisy_calls"] == 0


def test_p1_no_result_list_holds_a_gold_document(world, bm25):
    sim = CorpusSimulator(world, retriever=bm25, p_start=1.0, p_end=1.0, grounding="answer_aware")
    for ctx, queries in _contexts(world):
        sim.set_context(ctx)
        for q in [*queries, ctx.question]:
            docs = sim.search(q, k=3)
            assert len(docs) == 3 and len({d.id for d in docs}) == 3
            assert not any(d.id in ctx.gold_docs for d in docs)
            assert all(d.meta["simulated"] == "noisy" for d in docs)
    assert sim.stats["noisy_fraction"] == 1.0


def test_noisy_documents_are_plausible_distractors(world, bm25):
    """Same entity type or near-namesake of the gold document, and mostly free of the answer."""
    sim = CorpusSimulator(world, retriever=bm25, p_start=1.0, p_end=1.0, grounding="answer_aware")
    same_type = with_answer = total = 0
    for ctx, queries in _contexts(world, 40):
        sim.set_context(ctx)
        gold_types = {world.doc(g).type for g in ctx.gold_docs}
        for d in sim.search(queries[0], k=3):
            total += 1
            same_type += world.doc(d.id).type in gold_types
            with_answer += any(a.lower() in d.text.lower() for a in ctx.answers)
    assert same_type / total > 0.6
    assert with_answer / total < 0.1


def test_blind_mode_ignores_the_gold_data(world, bm25):
    """Blind useful results are the real retriever's; blind noisy ones avoid the real top k."""
    useful = CorpusSimulator(world, retriever=bm25, p_start=0.0, p_end=0.0, grounding="blind")
    noisy = CorpusSimulator(world, retriever=bm25, p_start=1.0, p_end=1.0, grounding="blind")
    for ctx, queries in _contexts(world, 20):
        useful.set_context(ctx)  # ignored when blind
        real = [d.id for d in bm25.search(queries[-1], 3)]
        assert [d.id for d in useful.search(queries[-1], 3)] == real
        assert not set(real) & {d.id for d in noisy.search(queries[-1], 3)}


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_noisy_fraction_matches_p_over_10000_calls(world, bm25, p):
    sim = CorpusSimulator(world, retriever=bm25, p_start=p, p_end=p, grounding="answer_aware", seed=11)
    ctxs = _contexts(world, 10)
    rng = random.Random(0)
    for i in range(10_000):
        ctx, queries = ctxs[i % len(ctxs)]
        sim.set_context(ctx)
        docs = sim.search(queries[rng.randrange(len(queries))], k=3)
        has_gold = any(d.id in ctx.gold_docs for d in docs)
        assert has_gold == (docs[0].meta["simulated"] == "useful")
    stats = sim.stats
    assert stats["calls"] == 10_000
    assert abs(stats["noisy_fraction"] - p) < 0.02


def test_make_retriever_builds_an_uncached_simulator(world):
    from agentgym.tools.search import make_retriever

    sim = make_retriever("simulated", corpus=world, p_start=1.0, p_end=1.0, seed=5)
    assert isinstance(sim, CorpusSimulator)
    a, b = sim.search("painter", 3), sim.search("painter", 3)
    assert sim.stats["calls"] == 2 and all(d.meta["simulated"] == "noisy" for d in a + b)
