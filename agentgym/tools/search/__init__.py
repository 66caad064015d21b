"""Search backends behind one `Retriever` protocol, a query cache, a retrieval server, the `search` tool.

Public API:

- `Doc(id, title, text, score)`; `Retriever.search(query, k) -> list[Doc]`,
  `Retriever.search_batch(queries, k) -> list[list[Doc]]`.
- `make_retriever(kind, corpus=..., index=..., url=..., cache=True, **options)` with kind
  `bm25` (bm25s), `dense` (sentence-transformers + faiss, offline MiniLM by default), `hybrid`
  (reciprocal-rank fusion), `web` (ddgs), `remote` (Search-R1 `/retrieve` client).
- `build_index(corpus, kind, out)` / `load_index(dir)`; `CachedRetriever` (LRU + SQLite, counters).
- `search_tool(retriever, k=3, max_doc_chars=None)`: the agent's `search(query)` tool.
- `agentgym.tools.search.server.create_app(retriever)`: the FastAPI retrieval server.

Heavy backends (torch, faiss, bm25s, ddgs) are imported only when used.

>>> from agentgym.tools.search import Doc, make_retriever
>>> r = make_retriever("bm25", corpus=[Doc("1", "Osk", "Osk is a city."), Doc("2", "Tam", "A river.")])
>>> r.search("Which city is Osk?", k=1)[0].title
'Osk'
"""

from __future__ import annotations

from agentgym.tools.search.base import BaseRetriever, Doc, Retriever, format_docs, snippet
from agentgym.tools.search.cache import CachedRetriever
from agentgym.tools.search.corpus import Corpus, JsonlCorpus, MemoryCorpus, iter_rows, load_corpus
from agentgym.tools.search.factory import (
    KINDS,
    as_corpus,
    build_index,
    load_index,
    make_retriever,
    search_tool,
)

__all__ = [
    "KINDS",
    "BaseRetriever",
    "CachedRetriever",
    "Corpus",
    "Doc",
    "JsonlCorpus",
    "MemoryCorpus",
    "Retriever",
    "as_corpus",
    "build_index",
    "format_docs",
    "iter_rows",
    "load_corpus",
    "load_index",
    "make_retriever",
    "search_tool",
    "snippet",
]
