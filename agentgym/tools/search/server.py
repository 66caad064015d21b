"""A retrieval server speaking the Search-R1 API, so Search-R1 / verl / SkyRL search tools work unchanged.

`POST /retrieve` `{"queries": [...], "topk": k, "return_scores": bool}` →
`{"result": [[{"document": {"id", "contents"}, "score": s}, ...], ...]}` with scores, or
`{"result": [[{"id", "contents"}, ...], ...]}` without. One request = one batched search.
`GET /health` → `{"status": "ok", "kind", "num_docs"}`.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from agentgym.tools.search.base import Retriever

__all__ = ["QueryRequest", "create_app", "serve"]

log = logging.getLogger(__name__)


class QueryRequest(BaseModel):
    """The Search-R1 `/retrieve` request body."""

    queries: list[str]
    topk: int | None = Field(default=None, ge=1)
    return_scores: bool = False


def create_app(retriever: Retriever, *, default_topk: int = 3, max_topk: int = 100, max_queries: int = 1024):
    """A FastAPI app serving `retriever`."""
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title="agentgym retrieval server", description="Search-R1 compatible /retrieve API")

    @app.post("/retrieve")
    def retrieve(req: QueryRequest) -> dict[str, Any]:
        if len(req.queries) > max_queries:
            raise HTTPException(413, f"at most {max_queries} queries per request, got {len(req.queries)}")
        k = min(req.topk or default_topk, max_topk)
        results = retriever.search_batch(req.queries, k)
        if req.return_scores:
            return {
                "result": [
                    [{"document": d.to_search_r1(), "score": d.score} for d in docs] for docs in results
                ]
            }
        return {"result": [[d.to_search_r1() for d in docs] for docs in results]}

    @app.get("/health")
    def health() -> dict[str, Any]:
        try:
            size = len(retriever)  # type: ignore[arg-type]
        except TypeError:
            size = None
        return {
            "status": "ok",
            "kind": getattr(retriever, "kind", type(retriever).__name__),
            "num_docs": size,
        }

    return app


def serve(retriever: Retriever, *, host: str = "127.0.0.1", port: int = 8000, default_topk: int = 3) -> None:
    """Run the server in the foreground (uvicorn)."""
    import uvicorn

    log.info("serving %s on http://%s:%d/retrieve", getattr(retriever, "kind", "retriever"), host, port)
    uvicorn.run(create_app(retriever, default_topk=default_topk), host=host, port=port, log_level="warning")
