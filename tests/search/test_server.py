"""The retrieval server speaks the Search-R1 API; the remote retriever matches the local index."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from agentgym.errors import ToolError  # noqa: E402
from agentgym.tools.search import make_retriever  # noqa: E402
from agentgym.tools.search.server import create_app  # noqa: E402


class _Counting:
    kind = "bm25"

    def __init__(self, inner):
        self.inner, self.batches = inner, []

    def search_batch(self, queries, k=3):
        self.batches.append(len(queries))
        return self.inner.search_batch(queries, k)

    def __len__(self):
        return len(self.inner)


@pytest.fixture(scope="module")
def server(small_bm25):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = _Counting(small_bm25)
    srv = uvicorn.Server(uvicorn.Config(create_app(backend), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started:
        if time.time() > deadline:
            pytest.fail("the retrieval server did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", backend
    srv.should_exit = True
    thread.join(timeout=10)


def test_raw_search_r1_request(server, small_world):
    url, backend = server
    queries = [small_world.documents[0].title, small_world.documents[1].title, "zzzz"]
    n_before = len(backend.batches)
    r = httpx.post(f"{url}/retrieve", json={"queries": queries, "topk": 3, "return_scores": True}, timeout=10)
    assert r.status_code == 200
    result = r.json()["result"]
    assert len(result) == 3 and result[2] == []
    first = result[0][0]
    assert set(first) == {"document", "score"} and set(first["document"]) == {"id", "contents"}
    assert first["document"]["id"] == small_world.documents[0].id
    assert first["document"]["contents"].split("\n", 1)[0] == small_world.documents[0].title
    assert isinstance(first["score"], float) and first["score"] > 0
    assert backend.batches[n_before:] == [3]  # one batched search per request
    plain = httpx.post(f"{url}/retrieve", json={"queries": queries[:1], "topk": 2}, timeout=10).json()[
        "result"
    ]
    assert set(plain[0][0]) == {"id", "contents"} and len(plain[0]) <= 2
    health = httpx.get(f"{url}/health", timeout=10).json()
    assert health == {"status": "ok", "kind": "bm25", "num_docs": len(small_world.documents)}
    assert httpx.post(f"{url}/retrieve", json={"topk": 3}, timeout=10).status_code == 422


def test_remote_retriever_matches_local(server, small_world, small_bm25):
    url, _ = server
    remote = make_retriever("remote", url=url)
    queries = [q.expert_queries[-1] for q in small_world.questions[:25]]
    got, want = remote.search_batch(queries, 3), small_bm25.search_batch(queries, 3)
    assert [[(d.id, d.title, d.text) for d in r] for r in got] == [
        [(d.id, d.title, d.text) for d in w] for w in want
    ]
    assert [d.score for r in got for d in r] == pytest.approx([d.score for w in want for d in w])
    assert (
        remote.search(queries[0], 3) and remote.stats["hits"] == 1
    )  # the second look-up came from the cache


def test_remote_unreachable_is_a_tool_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    remote = make_retriever("remote", url=f"http://127.0.0.1:{port}", cache=False, timeout=2)
    with pytest.raises(ToolError, match="unreachable"):
        remote.search("x", 3)
