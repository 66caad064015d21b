"""A query cache for any retriever: an in-memory LRU plus an optional on-disk SQLite store.

Keys are (retriever fingerprint, query, k), so two indexes never share entries. The counters
`hits`, `misses` and `disk_hits` tell a training run how much search it actually paid for.
Batched lookups fetch only the misses, in one batched call to the wrapped retriever.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agentgym.tools.search.base import BaseRetriever, Doc, Retriever

__all__ = ["CachedRetriever", "cache_root"]


def cache_root() -> Path:
    """`$AGENTGYM_CACHE_DIR`, else the platform's user cache dir for agentgym (worlds, indexes, web results)."""
    env = os.environ.get("AGENTGYM_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("agentgym"))


class CachedRetriever(BaseRetriever):
    """LRU (+ optional disk) cache in front of `inner`."""

    def __init__(self, inner: Retriever, *, maxsize: int = 10_000, path: str | Path | None = None):
        self.inner = inner
        self.kind = getattr(inner, "kind", "retriever")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        self._lru: OrderedDict[tuple[str, int], list[Doc]] = OrderedDict()
        self._lock = threading.Lock()
        self._prefix = getattr(inner, "fingerprint", lambda: type(inner).__name__)()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, docs TEXT NOT NULL)")

    # ------------------------------------------------------------------ storage
    def _disk_key(self, query: str, k: int) -> str:
        return json.dumps([self._prefix, query, k])

    def _get(self, query: str, k: int) -> list[Doc] | None:
        key = (query, k)
        with self._lock:
            if key in self._lru:
                self._lru.move_to_end(key)
                self.hits += 1
                return list(self._lru[key])
            if self._db is not None:
                row = self._db.execute(
                    "SELECT docs FROM results WHERE key = ?", (self._disk_key(query, k),)
                ).fetchone()
                if row is not None:
                    docs = [Doc(**d) for d in json.loads(row[0])]
                    self._put_memory(key, docs)
                    self.hits += 1
                    self.disk_hits += 1
                    return list(docs)
            self.misses += 1
            return None

    def _put_memory(self, key: tuple[str, int], docs: list[Doc]) -> None:
        self._lru[key] = docs
        self._lru.move_to_end(key)
        while len(self._lru) > self.maxsize:
            self._lru.popitem(last=False)

    def _put(self, query: str, k: int, docs: list[Doc]) -> None:
        with self._lock:
            self._put_memory((query, k), list(docs))
            if self._db is not None:
                blob = json.dumps([asdict(d) for d in docs], ensure_ascii=False)
                self._db.execute(
                    "INSERT OR REPLACE INTO results (key, docs) VALUES (?, ?)",
                    (self._disk_key(query, k), blob),
                )

    # ------------------------------------------------------------------ Retriever API
    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        found: list[list[Doc] | None] = [self._get(q, k) for q in queries]
        missing = sorted({q for q, f in zip(queries, found, strict=False) if f is None})
        if missing:
            fresh = dict(zip(missing, self.inner.search_batch(missing, k), strict=False))
            for q in missing:
                self._put(q, k, fresh[q])
            found = [f if f is not None else list(fresh[q]) for q, f in zip(queries, found, strict=False)]
        return found  # type: ignore[return-value]

    def search(self, query: str, k: int = 3) -> list[Doc]:
        return self.search_batch([query], k)[0]

    @property
    def stats(self) -> dict[str, Any]:
        total = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "disk_hits": self.disk_hits,
            "hit_rate": self.hits / total if total else 0.0,
            "size": len(self._lru),
        }

    def clear(self) -> None:
        """Empty the in-memory LRU (the disk store stays) and reset the counters."""
        with self._lock:
            self._lru.clear()
            self.hits = self.misses = self.disk_hits = 0

    def fingerprint(self) -> str:
        return self._prefix

    def __len__(self) -> int:
        return len(self.inner)  # type: ignore[arg-type]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        getattr(self.inner, "close", lambda: None)()

    def __getattr__(self, name: str) -> Any:  # expose the wrapped backend's extras (corpus, save, ...)
        if name.startswith("_") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
