"""Client of a retrieval server speaking the Search-R1 API (agentgym's own server, or Search-R1's).

Request: `POST {url}/retrieve` with `{"queries": [...], "topk": k, "return_scores": true}`.
Response: `{"result": [[{"document": {"id", "contents"}, "score": s}, ...], ...]}` (or, without
scores, `[[{"id", "contents"}, ...]]`). Failures raise `ToolError`, which the search tool shows
to the agent as an error observation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from agentgym.errors import ToolError
from agentgym.tools.accounting import default_accountant
from agentgym.tools.search.base import BaseRetriever, Doc

__all__ = ["RemoteRetriever", "parse_search_r1"]


def parse_search_r1(payload: Any, n_queries: int) -> list[list[Doc]]:
    """Docs from a Search-R1 `/retrieve` response body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("result"), list):
        raise ToolError(
            f"retrieval server answered {str(payload)[:200]!r}; expected {{'result': [[...], ...]}}"
        )
    result = payload["result"]
    if len(result) != n_queries:
        raise ToolError(f"retrieval server returned {len(result)} result lists for {n_queries} queries")
    out = []
    for hits in result:
        docs = []
        for hit in hits:
            doc, score = (hit["document"], hit.get("score", 0.0)) if "document" in hit else (hit, 0.0)
            if "contents" in doc:
                docs.append(Doc.from_contents(str(doc.get("id", "")), doc["contents"], float(score)))
            else:
                docs.append(
                    Doc(str(doc.get("id", "")), doc.get("title", ""), doc.get("text", ""), float(score))
                )
        out.append(docs)
    return out


class RemoteRetriever(BaseRetriever):
    """`search_batch` as one POST to `url/retrieve`."""

    kind = "remote"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retries: int = 1,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = url.rstrip("/")
        self.retries = retries
        self._client = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        if not queries:
            return []
        body = {"queries": list(queries), "topk": int(k), "return_scores": True}
        acct = default_accountant()
        acct.check_budget()
        last: Exception | None = None
        t0 = time.perf_counter()
        for _ in range(self.retries + 1):
            try:
                resp = self._client.post("/retrieve", json=body)
                resp.raise_for_status()
                docs = parse_search_r1(resp.json(), len(queries))
                acct.record("remote", latency_s=time.perf_counter() - t0, calls=len(queries))
                return docs
            except httpx.HTTPStatusError as exc:
                acct.record("remote", latency_s=time.perf_counter() - t0, calls=len(queries), error=True)
                raise ToolError(
                    f"retrieval server {self.url} answered HTTP {exc.response.status_code}: "
                    f"{exc.response.text[:200]}"
                ) from exc
            except (httpx.TransportError, ValueError) as exc:
                last = exc
        acct.record("remote", latency_s=time.perf_counter() - t0, calls=len(queries), error=True)
        raise ToolError(
            f"retrieval server {self.url} unreachable ({type(last).__name__}: {last}); "
            "start one with `agentgym retriever serve --index DIR`"
        )

    def health(self) -> dict[str, Any]:
        resp = self._client.get("/health")
        resp.raise_for_status()
        return resp.json()

    def fingerprint(self) -> str:
        return f"remote:{self.url}"

    def close(self) -> None:
        self._client.close()
