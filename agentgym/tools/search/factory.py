"""Building, saving and loading retrievers by name, and the `search` tool.

`make_retriever(kind, corpus=..., index=..., url=...)` is the one entry point: it builds (or
loads) the backend and wraps it in a `CachedRetriever`. An index directory holds `index.json`
naming its kind, so `load_index(dir)` needs nothing else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentgym.errors import InvalidConfig, ToolError, did_you_mean
from agentgym.tools.base import FunctionTool, ToolResult
from agentgym.tools.search.base import Doc, Retriever, format_docs
from agentgym.tools.search.cache import CachedRetriever, cache_root
from agentgym.tools.search.corpus import Corpus, MemoryCorpus, load_corpus

__all__ = ["KINDS", "as_corpus", "build_index", "load_index", "make_retriever", "search_tool"]

log = logging.getLogger(__name__)
KINDS: tuple[str, ...] = ("bm25", "dense", "hybrid", "web", "remote", "simulated")
_DENSE_KEYS = (
    "model",
    "query_prefix",
    "passage_prefix",
    "index_type",
    "hnsw_m",
    "ef_search",
    "dtype",
    "batch_size",
    "device",
)


def as_corpus(corpus: Any) -> Corpus:
    """A `Corpus` from a path, a corpus, a sequence of `Doc`s, or anything with `.documents` (a World)."""
    if isinstance(corpus, (str, Path)):
        return load_corpus(corpus)
    if hasattr(corpus, "iter_contents"):
        return corpus
    docs = getattr(corpus, "documents", corpus)
    if isinstance(docs, Sequence):
        return MemoryCorpus(d if isinstance(d, Doc) else Doc(d.id, d.title, d.text) for d in docs)
    raise InvalidConfig(
        f"corpus must be a JSONL path, a Corpus, a list of Doc or a World; got {type(corpus).__name__}"
    )


def _split(kwargs: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: kwargs.pop(k) for k in list(kwargs) if k in keys}


def _build(kind: str, corpus: Any, show_progress: bool, kwargs: dict[str, Any]) -> Retriever:
    if corpus is None:
        raise InvalidConfig(
            f"a {kind} retriever needs corpus= (a JSONL path, a World or documents) or index=DIR"
        )
    c = as_corpus(corpus)
    if kind == "bm25":
        from agentgym.tools.search.bm25 import BM25Retriever

        return BM25Retriever(
            c, show_progress=show_progress, **_split(kwargs, ("k1", "b", "stemmer", "stopwords"))
        )
    if kind == "dense":
        from agentgym.tools.search.dense import DenseRetriever

        return DenseRetriever(c, show_progress=show_progress, **_split(kwargs, _DENSE_KEYS))
    from agentgym.tools.search.hybrid import HybridRetriever

    parts = [_build("bm25", c, show_progress, kwargs), _build("dense", c, show_progress, kwargs)]
    return HybridRetriever(parts, **_split(kwargs, ("depth", "c")))


def make_retriever(
    kind: str = "bm25",
    *,
    corpus: Any = None,
    index: str | Path | None = None,
    url: str | None = None,
    cache: bool = True,
    cache_size: int = 10_000,
    cache_path: str | Path | None = None,
    show_progress: bool = False,
    **kwargs: Any,
) -> Retriever:
    """Build or load a retriever and wrap it in an LRU (+ optional disk) cache.

    Args:
        kind: bm25 | dense | hybrid | web | remote | simulated (`agentgym.tools.search.simulated`).
        corpus: documents for bm25/dense/hybrid (JSONL path, World, list of Doc).
        index: a directory written by `build_index` (`kind` is then read from it).
        url: base URL of a Search-R1-compatible server (kind="remote").
        cache: wrap in `CachedRetriever`; `cache_path` adds an on-disk SQLite store.
        **kwargs: backend options (k1, b, model, query_prefix, index_type, timeout, ...).

    >>> r = make_retriever("bm25", corpus=[Doc("1", "Osk", "Osk is a city."), Doc("2", "Tam", "A river.")])
    >>> r.search("Osk", k=1)[0].id
    '1'
    """
    if index is not None:
        retriever = load_index(index, **kwargs)
    elif kind in ("bm25", "dense", "hybrid"):
        retriever = _build(kind, corpus, show_progress, kwargs)
    elif kind == "web":
        from agentgym.tools.search.web import WebRetriever

        retriever = WebRetriever(**kwargs)
        kwargs = {}
        if cache_path is None and cache:
            cache_path = cache_root() / "web-search.sqlite"
    elif kind == "remote":
        if not url:
            raise InvalidConfig("kind='remote' needs url= (e.g. http://127.0.0.1:8000)")
        from agentgym.tools.search.remote import RemoteRetriever

        retriever = RemoteRetriever(url, **kwargs)
        kwargs = {}
    elif kind == "simulated":  # ZeroSearch: simulator="corpus" | LLM spec; never cached (noise is per call)
        from agentgym.tools.search.simulated import make_simulator

        retriever = make_simulator(kwargs.pop("simulator", "corpus"), corpus=corpus, **kwargs)
        kwargs, cache = {}, False
    else:
        raise InvalidConfig(
            f"unknown retriever kind {kind!r}; expected one of {KINDS}." + did_you_mean(kind, KINDS)
        )
    if kwargs and index is None:
        raise InvalidConfig(f"unused retriever options for kind={kind!r}: {sorted(kwargs)}")
    return CachedRetriever(retriever, maxsize=cache_size, path=cache_path) if cache else retriever


def build_index(
    corpus: Any, kind: str, out: str | Path, *, show_progress: bool = True, **kwargs: Any
) -> Retriever:
    """Build a `bm25`, `dense` or `hybrid` index over `corpus` and save it to `out`."""
    if kind not in ("bm25", "dense", "hybrid"):
        raise InvalidConfig(f"indexes are bm25, dense or hybrid; got {kind!r}." + did_you_mean(kind, KINDS))
    retriever = _build(kind, corpus, show_progress, dict(kwargs))
    out = Path(out)
    if kind == "hybrid":
        for part in retriever.retrievers:  # type: ignore[attr-defined]
            part.save(out / part.kind)
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.json").write_text(json.dumps({"kind": "hybrid", "parts": ["bm25", "dense"]}, indent=1))
    else:
        retriever.save(out)  # type: ignore[attr-defined]
    log.info("saved a %s index to %s", kind, out)
    return retriever


def load_index(directory: str | Path, **kwargs: Any) -> Retriever:
    """Load an index directory written by `build_index` (or `save` of a backend)."""
    src = Path(directory)
    meta_path = src / "index.json"
    if not meta_path.exists():
        raise FileNotFoundError(
            f"{src} is not an index directory (no index.json); build one with `agentgym index build`"
        )
    kind = json.loads(meta_path.read_text(encoding="utf-8"))["kind"]
    if kind == "bm25":
        from agentgym.tools.search.bm25 import BM25Retriever

        return BM25Retriever.load(src, **_split(kwargs, ("mmap",)))
    if kind == "dense":
        from agentgym.tools.search.dense import DenseRetriever

        return DenseRetriever.load(src, **_split(kwargs, ("mmap", "device")))
    if kind == "hybrid":
        from agentgym.tools.search.hybrid import HybridRetriever

        return HybridRetriever([load_index(src / "bm25"), load_index(src / "dense", **kwargs)])
    raise InvalidConfig(f"{meta_path} names kind {kind!r}; expected bm25, dense or hybrid")


def search_tool(
    retriever: Retriever,
    *,
    k: int = 3,
    max_doc_chars: int | None = None,
    max_paragraphs: int | None = None,
    name: str = "search",
    timeout: float | None = 30.0,
) -> FunctionTool:
    """The agent-facing `search(query)` tool: top-`k` docs as `Doc i (Title: ...) text` lines.

    `ToolResult.data` carries the retrieved doc ids (envs use them for `retrieved_gold`).
    """

    def search(query: str) -> ToolResult:
        """Search the corpus and return the top documents.

        Args:
            query: what to look for, e.g. an entity name.
        """
        if not query.strip():
            return ToolResult(error="the search query is empty; write what to look for inside the tag")
        try:
            docs = retriever.search(query, k)
        except ToolError as exc:
            return ToolResult(error=str(exc))
        return ToolResult(content=format_docs(docs, max_doc_chars, max_paragraphs), data=[d.id for d in docs])

    return FunctionTool(search, name=name, timeout=timeout)
