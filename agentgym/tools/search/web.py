"""Web search through the `ddgs` package (DuckDuckGo, Bing, Brave, ... metasearch).

Bounded in time: each call runs under an overall deadline (`timeout`), retries rate limits and
timeouts with exponential backoff while the deadline allows, spaces calls by `min_interval`,
and fails at once, with a `ToolError`, when the network is unreachable (DNS or connection
errors), so an offline episode gets an error observation instead of hanging.
Wrap it in `CachedRetriever(path=...)` (what `make_retriever("web")` does) to keep results on disk.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Sequence

from agentgym.errors import ToolError
from agentgym.tools.accounting import default_accountant
from agentgym.tools.search.base import BaseRetriever, Doc

__all__ = ["WebRetriever"]

log = logging.getLogger(__name__)
_OFFLINE_MARKERS = ("dns", "resolve", "connect", "network is unreachable", "name or service not known")


class WebRetriever(BaseRetriever):
    """`search(query, k)` over the live web; documents are (title, snippet, url in `meta`)."""

    kind = "web"

    def __init__(
        self,
        *,
        backend: str = "auto",
        region: str = "us-en",
        safesearch: str = "moderate",
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        min_interval: float = 1.0,
    ):
        self.options = {"backend": backend, "region": region, "safesearch": safesearch}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.min_interval = min_interval
        self._last_call = 0.0
        self._rate_lock = threading.Lock()
        self._pool = cf.ThreadPoolExecutor(max_workers=4, thread_name_prefix="agentgym-web")

    def _wait_turn(self) -> None:
        with self._rate_lock:
            pause = self._last_call + self.min_interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self._last_call = time.monotonic()

    def _query(self, query: str, k: int, timeout: float) -> list[Doc]:
        from ddgs import DDGS

        rows = DDGS(timeout=max(1, int(timeout))).text(query, max_results=k, **self.options)
        return [
            Doc(str(r.get("href", i)), r.get("title", ""), r.get("body", ""), 0.0, {"url": r.get("href", "")})
            for i, r in enumerate(rows[:k])
        ]

    def search(self, query: str, k: int = 3) -> list[Doc]:
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

        acct = default_accountant()
        acct.check_budget()
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wait_turn()
            future = self._pool.submit(self._query, query, k, remaining)
            try:
                docs = future.result(timeout=max(0.01, deadline - time.monotonic()))
                acct.record("web", latency_s=time.perf_counter() - t0)
                return docs
            except cf.TimeoutError:
                future.cancel()
                last = TimeoutError(f"no answer within {self.timeout:g} s")
                break
            except (RatelimitException, TimeoutException) as exc:
                last = exc
            except DDGSException as exc:
                if "no results" in str(exc).lower():
                    acct.record("web", latency_s=time.perf_counter() - t0)
                    return []
                last = exc
                if any(m in str(exc).lower() for m in _OFFLINE_MARKERS):
                    break  # no network: retrying cannot help
            time.sleep(min(self.backoff * 2**attempt, max(0.0, deadline - time.monotonic())))
        acct.record("web", latency_s=time.perf_counter() - t0, error=True)
        raise ToolError(
            f"web search failed for {query!r}: {type(last).__name__}: {str(last)[:200]}. "
            "The web backend needs internet access; offline, use a local index (kind='bm25' or 'dense')."
        )

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        return [self.search(q, k) for q in queries]

    def fingerprint(self) -> str:
        return f"web:{self.options['backend']}:{self.options['region']}"

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
