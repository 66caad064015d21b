"""Hybrid retrieval: reciprocal-rank fusion (Cormack et al., 2009) of several retrievers.

score(d) = Σ_r 1 / (c + rank_r(d)), rank from 1, c = 60 by default; each retriever is asked for
`depth` documents so a document ranked low by one and high by another can still surface.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.errors import InvalidConfig
from agentgym.tools.search.base import BaseRetriever, Doc, Retriever

__all__ = ["HybridRetriever", "rrf_fuse"]


def rrf_fuse(rankings: Sequence[Sequence[Doc]], k: int, c: float = 60.0) -> list[Doc]:
    """Fuse ranked lists by reciprocal rank; ties broken by first appearance.

    >>> a, b, z = Doc("a", "", ""), Doc("b", "", ""), Doc("z", "", "")
    >>> [d.id for d in rrf_fuse([[a, b], [b, z]], k=3)]
    ['b', 'a', 'z']
    """
    scores: dict[str, float] = {}
    first: dict[str, Doc] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, 1):
            scores[doc.id] = scores.get(doc.id, 0.0) + 1.0 / (c + rank)
            first.setdefault(doc.id, doc)
    order = sorted(scores, key=lambda i: -scores[i])[:k]
    return [Doc(i, first[i].title, first[i].text, scores[i], first[i].meta) for i in order]


class HybridRetriever(BaseRetriever):
    """RRF over `retrievers` (typically bm25 + dense over the same corpus)."""

    kind = "hybrid"

    def __init__(self, retrievers: Sequence[Retriever], *, depth: int = 20, c: float = 60.0):
        if len(retrievers) < 2:
            raise InvalidConfig(f"hybrid fuses at least two retrievers, got {len(retrievers)}")
        self.retrievers = list(retrievers)
        self.depth = depth
        self.c = c

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        depth = max(self.depth, k)
        per = [r.search_batch(queries, depth) for r in self.retrievers]
        return [rrf_fuse([p[i] for p in per], k, self.c) for i in range(len(queries))]

    def fingerprint(self) -> str:
        inner = ",".join(getattr(r, "fingerprint", lambda r=r: type(r).__name__)() for r in self.retrievers)
        return f"hybrid:{self.depth}:{self.c}:[{inner}]"

    def __len__(self) -> int:
        return len(self.retrievers[0])  # type: ignore[arg-type]
