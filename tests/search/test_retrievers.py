"""BM25, corpus readers, hybrid fusion, the query cache and the search tool."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest

from agentgym.errors import InvalidConfig
from agentgym.tools.search import (
    CachedRetriever,
    Doc,
    JsonlCorpus,
    MemoryCorpus,
    build_index,
    format_docs,
    load_corpus,
    load_index,
    make_retriever,
    search_tool,
)
from agentgym.tools.search.bm25 import BM25Retriever
from agentgym.tools.search.hybrid import HybridRetriever, rrf_fuse


def _write_jsonl(path, rows, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def test_corpus_layouts_read_the_same(tmp_path, small_world):
    docs = small_world.documents[:20]
    a = _write_jsonl(tmp_path / "a.jsonl", [{"id": d.id, "contents": d.contents} for d in docs])
    b = _write_jsonl(
        tmp_path / "b.jsonl.gz", [{"id": d.id, "title": d.title, "text": d.text} for d in docs], gz=True
    )
    ca, cb = load_corpus(a), load_corpus(b)
    assert isinstance(ca, JsonlCorpus) and isinstance(cb, MemoryCorpus)
    assert [(ca[i].id, ca[i].title, ca[i].text) for i in range(20)] == [(d.id, d.title, d.text) for d in docs]
    assert [cb[i].contents for i in range(20)] == [d.contents for d in docs]
    assert list(ca.iter_contents()) == [d.contents for d in docs]
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{"id": 1, "body": "x"}])
    with pytest.raises(InvalidConfig, match="expected"):
        load_corpus(bad)[0]


def test_bm25_finds_the_titled_document(small_world, small_bm25):
    hits = 0
    for d in small_world.documents[:100]:
        got = small_bm25.search(d.title, k=5)
        assert all(a.score >= b.score for a, b in itertools.pairwise(got))
        hits += d.id in [g.id for g in got]
    assert hits >= 97
    assert small_bm25.search("zzzz qqqq", k=3) == []  # no known term: no results, not noise
    batch = small_bm25.search_batch([d.title for d in small_world.documents[:5]], k=2)
    assert [b[0].id for b in batch] == [
        small_bm25.search(d.title, 2)[0].id for d in small_world.documents[:5]
    ]


def test_bm25_save_load_same_results(tmp_path, small_world, small_bm25):
    corpus = _write_jsonl(
        tmp_path / "c.jsonl", [{"id": d.id, "contents": d.contents} for d in small_world.documents]
    )
    built = build_index(str(corpus), "bm25", tmp_path / "idx", show_progress=False)
    loaded = load_index(tmp_path / "idx")
    assert isinstance(loaded, BM25Retriever) and isinstance(loaded.corpus, JsonlCorpus)
    queries = [q.expert_queries[0] for q in small_world.questions[:30]]
    for q in queries:
        a, b, c = built.search(q, 3), loaded.search(q, 3), small_bm25.search(q, 3)
        assert [d.id for d in a] == [d.id for d in b] == [d.id for d in c]
        assert [d.score for d in a] == pytest.approx([d.score for d in b])
    # in-memory corpora are copied into the index directory, so the index is self-contained
    small_bm25.save(tmp_path / "mem")
    assert (tmp_path / "mem" / "corpus.jsonl").exists()
    assert load_index(tmp_path / "mem").search(queries[0], 1)[0].id == small_bm25.search(queries[0], 1)[0].id


def test_rrf_fusion_and_hybrid(small_world, small_bm25):
    a, b, c = Doc("a", "", ""), Doc("b", "", ""), Doc("c", "", "")
    fused = rrf_fuse([[a, b, c], [b, c]], k=3, c=60)
    assert [d.id for d in fused] == ["b", "c", "a"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert [d.id for d in rrf_fuse([[a, b, c], [c, b]], k=3, c=60)] == ["c", "b", "a"]  # 1/63+1/61 > 2/62
    other = make_retriever("bm25", corpus=small_world, cache=False, k1=0.9, b=0.4)
    hybrid = HybridRetriever([small_bm25, other])
    title = small_world.documents[3].title
    assert hybrid.search(title, 3)[0].id == small_world.documents[3].id
    with pytest.raises(InvalidConfig):
        HybridRetriever([small_bm25])


class _Counting:
    kind = "counting"

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def search_batch(self, queries, k=3):
        self.calls.append(list(queries))
        return self.inner.search_batch(queries, k)

    def search(self, query, k=3):
        return self.search_batch([query], k)[0]


def test_cache_counts_hits_and_batches_misses(tmp_path, small_bm25):
    inner = _Counting(small_bm25)
    cached = CachedRetriever(inner, maxsize=2, path=tmp_path / "cache.sqlite")
    first = cached.search_batch(["alpha", "beta", "alpha"], k=3)
    assert inner.calls == [["alpha", "beta"]] and first[0] == first[2]
    assert (cached.hits, cached.misses) == (0, 3)
    cached.search("alpha", 3)
    assert cached.hits == 1 and len(inner.calls) == 1
    cached.search("gamma", 3)  # evicts the least recently used ("beta") from the LRU
    assert cached.stats["size"] == 2
    cached.search("beta", 3)  # ... but the disk store still has it
    assert cached.disk_hits == 1 and len(inner.calls) == 2
    reopened = CachedRetriever(_Counting(small_bm25), path=tmp_path / "cache.sqlite")
    assert [d.id for d in reopened.search("alpha", 3)] == [d.id for d in first[0]]
    assert reopened.stats["disk_hits"] == 1
    cached.close()
    reopened.close()


def test_make_retriever_errors_say_what_to_do(small_world):
    with pytest.raises(InvalidConfig, match=r"[Dd]id you mean"):
        make_retriever("bm52", corpus=small_world)
    with pytest.raises(InvalidConfig, match="corpus="):
        make_retriever("bm25")
    with pytest.raises(InvalidConfig, match="url="):
        make_retriever("remote")
    with pytest.raises(InvalidConfig, match="unused"):
        make_retriever("bm25", corpus=small_world, temperature=1)


def test_search_tool_renders_search_r1_docs(small_world, small_bm25):
    tool = search_tool(small_bm25, k=2, max_doc_chars=60)
    doc = small_world.documents[0]
    res = tool(query=doc.title)
    assert res.ok and res.content.startswith(f"Doc 1 (Title: {doc.title}) ")
    assert res.data[0] == doc.id and len(res.data) <= 2
    assert all(len(line) < 60 + 40 + len("Doc 1 (Title: ) ") for line in res.content.splitlines())
    assert tool(query="  ").error
    assert format_docs([]) == "No results."
    long = Doc("x", "T", "First sentence here. Second one is long enough to cut.\nSecond paragraph.")
    assert format_docs([long], max_paragraphs=1).endswith("cut.")
    assert format_docs([long], max_doc_chars=30) == "Doc 1 (Title: T) First sentence here."
