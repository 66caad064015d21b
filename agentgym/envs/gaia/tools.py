"""The tools of a GAIA agent: search, fetch, python, calculator and read_file.

Search takes any retriever with ``search(query, k)`` returning documents (objects or dicts
with ``title``/``text`` or ``contents``) — the search issue's bm25/dense/web/remote backends
all qualify. `KeywordRetriever` is a dependency-free fallback for small corpora such as the
built-in set's.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from agentgym.envs.gaia.files import fetch_text, read_attachment
from agentgym.errors import ToolError
from agentgym.tools.base import FunctionTool, Tool, ToolResult

__all__ = [
    "KeywordRetriever",
    "Retriever",
    "make_fetch_tool",
    "make_python",
    "make_read_file_tool",
    "make_search_tool",
]

log = logging.getLogger(__name__)
_TOKEN = re.compile(r"\w+")


class Retriever(Protocol):
    def search(self, query: str, k: int = ...) -> Sequence[Any]: ...


def _doc_text(doc: Any) -> tuple[str, str]:
    """(title, text) of a document from any backend."""
    get = doc.get if isinstance(doc, dict) else lambda key, default="": getattr(doc, key, default)
    title = str(get("title", "") or "")
    text = str(get("text", "") or get("contents", "") or "")
    return title, text


class KeywordRetriever:
    """TF-IDF keyword search over a small in-memory corpus (no dependencies)."""

    def __init__(self, docs: Sequence[dict[str, str]]):
        self.docs = list(docs)
        self._tf = [
            Counter(_TOKEN.findall(f"{d.get('title', '')} {d.get('title', '')} {d.get('text', '')}".lower()))
            for d in self.docs
        ]
        df = Counter(t for tf in self._tf for t in tf)
        self._idf = {t: math.log((1 + len(self.docs)) / (1 + c)) + 1.0 for t, c in df.items()}

    def search(self, query: str, k: int = 3) -> list[dict[str, str]]:
        terms = _TOKEN.findall(query.lower())
        scored = []
        for i, tf in enumerate(self._tf):
            score = sum(self._idf.get(t, 0.0) * (1 + math.log(tf[t])) for t in terms if tf[t])
            if score > 0:
                scored.append((-score, i))
        return [self.docs[i] for _, i in sorted(scored)[:k]]


def make_search_tool(retriever: Retriever, k: int = 3) -> FunctionTool:
    def search(query: str) -> str:
        """Search the document collection and return the top results.

        Args:
            query: keywords or a question.
        """
        docs = retriever.search(query, k)
        if not docs:
            return "No results."
        return "\n".join(
            f"Doc {i + 1} (Title: {t}) {x}" for i, (t, x) in enumerate(_doc_text(d) for d in docs)
        )

    return FunctionTool(search, timeout=30.0)


def make_fetch_tool(*, timeout_s: float = 10.0, max_bytes: int = 2_000_000) -> FunctionTool:
    def fetch(url: str) -> str:
        """Download a web page and return its readable text.

        Args:
            url: an http(s) URL.
        """
        return fetch_text(url, timeout_s=timeout_s, max_bytes=max_bytes)

    return FunctionTool(fetch, timeout=timeout_s + 5.0)


def make_read_file_tool(attachment: Callable[[], tuple[str, str, str | None]]) -> FunctionTool:
    """`read_file(name)` for the current task's attachment.

    `attachment()` returns (task id, file name, path or None) of the env's current task, so one
    tool object serves every episode of an env instance.
    """

    def read_file(name: str) -> ToolResult:
        """Read the file attached to the task.

        Args:
            name: the attachment's file name, as given in the task.
        """
        task_id, file_name, path = attachment()
        if not file_name or path is None:
            return ToolResult(error=f"task {task_id} has no attached file")
        if name.strip() != file_name:
            return ToolResult(error=f"no file named {name!r}; this task's attachment is {file_name!r}")
        try:
            return ToolResult(content=read_attachment(path))
        except ToolError as exc:
            return ToolResult(error=f"task {task_id}: {exc}")

    return FunctionTool(read_file, timeout=30.0)


def make_python(session: Callable[[], Any]) -> Tool | None:
    """The sandboxed `python` tool bound to the episode's interpreter, if the sandbox module is installed."""
    try:
        from agentgym.tools.python_tool import python_tool
    except ImportError:
        log.info("agentgym.tools.python_tool is not available; GAIA-v0 runs without the python tool")
        return None
    return python_tool(session)
