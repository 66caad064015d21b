"""The `Retriever` protocol, the `Doc` record and how documents are shown to an agent.

Every backend (bm25, dense, hybrid, web, remote, and simulators built elsewhere) returns
`Doc`s, so the search tool, the cache, the retrieval server and the env never care which
backend answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["BaseRetriever", "Doc", "Retriever", "format_docs", "snippet"]


@dataclass
class Doc:
    """A retrieved document. `contents` is the FlashRAG / Search-R1 layout (title, newline, text)."""

    id: str
    title: str
    text: str
    score: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def contents(self) -> str:
        return f"{self.title}\n{self.text}" if self.title else self.text

    @classmethod
    def from_contents(cls, id: str, contents: str, score: float = 0.0, **meta: Any) -> Doc:
        """Split `contents` at its first newline into title and text."""
        title, sep, text = contents.partition("\n")
        return cls(str(id), title if sep else "", text if sep else title, float(score), dict(meta))

    def to_search_r1(self) -> dict[str, Any]:
        """The `document` object of the Search-R1 `/retrieve` API."""
        return {"id": self.id, "contents": self.contents}


@runtime_checkable
class Retriever(Protocol):
    """What a search backend provides."""

    def search(self, query: str, k: int = 3) -> list[Doc]:
        """The top-`k` documents for `query`, best first."""
        ...

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        """`search` for many queries at once (one batched call where the backend can)."""
        ...


class BaseRetriever:
    """Shared plumbing: `search` delegates to `search_batch` (backends implement one of them)."""

    kind: str = "base"

    def search(self, query: str, k: int = 3) -> list[Doc]:
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        return [self.search(q, k) for q in queries]

    def fingerprint(self) -> str:
        """Identifies the index for on-disk caches (same fingerprint = same results)."""
        return self.kind

    def close(self) -> None:
        """Release files, sockets or models (no-op by default)."""


def snippet(text: str, max_chars: int | None) -> str:
    """`text` cut to `max_chars`, at a sentence end when one is near, else a word boundary."""
    text = " ".join(text.split())
    if max_chars is None or len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    end = cut.rfind(". ")
    if end >= max_chars // 2:
        return cut[: end + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut) + " ..."


def format_docs(
    docs: Sequence[Doc], max_doc_chars: int | None = None, max_paragraphs: int | None = None
) -> str:
    """Search-R1 style: one `Doc i (Title: ...) text` line per document.

    `max_paragraphs=1` keeps only each document's first paragraph (a generated world's lede,
    which holds all of an entity's facts); `max_doc_chars` then cuts at a sentence end.

    >>> format_docs([Doc("1", "Osk", "Osk is a city.")])
    'Doc 1 (Title: Osk) Osk is a city.'
    """
    if not docs:
        return "No results."
    lines = []
    for i, d in enumerate(docs, 1):
        text = d.text if max_paragraphs is None else "\n".join(d.text.split("\n")[:max_paragraphs])
        lines.append(f"Doc {i} (Title: {d.title}) {snippet(text, max_doc_chars)}")
    return "\n".join(lines)
