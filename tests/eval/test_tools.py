"""fetch (size/time caps, HTML to text) against a local HTTP server; the search tool's backends."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from agentgym.envs.gaia.tools import KeywordRetriever, make_fetch_tool, make_search_tool

PAGE = (
    "<!DOCTYPE html><html><head><title>T</title><script>var secret = 'js-only';</script>"
    "<style>body{color:red}</style></head><body><nav>menu</nav><article><h1>Harbour report</h1>"
    "<p>The Velorin Harbour handled 4521 ships in the year of the survey, more than any other port "
    "of the northern coast, according to the harbour master.</p><p>Its busiest month was March.</p>"
    "</article></body></html>"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        body = ("x" * 50_000).encode() if self.path == "/big" else PAGE.encode()
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Type", "text/plain" if self.path == "/big" else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_extracts_readable_text(site: str) -> None:
    res = make_fetch_tool()(url=f"{site}/page")
    assert (
        res.ok
        and "4521 ships" in res.content
        and "js-only" not in res.content
        and "color:red" not in res.content
    )


def test_fetch_caps_size_and_time_and_reports_errors(site: str) -> None:
    big = make_fetch_tool(max_bytes=1000)(url=f"{site}/big")
    assert big.ok and big.content.count("x") == 1000 and "cut at 1000 bytes" in big.content
    slow = make_fetch_tool(timeout_s=0.5)(url=f"{site}/slow")
    assert not slow.ok and "Timeout" in slow.error
    assert "HTTP 404" in make_fetch_tool()(url=f"{site}/missing").error
    assert "http(s) URL" in make_fetch_tool()(url="file:///etc/passwd").error


def test_search_tool_over_any_retriever() -> None:
    docs = [
        {"title": "Velorin Harbour", "text": "A port."},
        {"title": "Miru Press", "text": "A press in Kaze."},
    ]
    tool = make_search_tool(KeywordRetriever(docs), k=1)
    assert "Title: Miru Press" in tool(query="Miru Press").content
    assert tool(query="zzz").content == "No results."

    class ObjectDocs:  # a backend returning objects with `contents` (Search-R1 style)
        def search(self, query: str, k: int = 3) -> list:
            return [type("Doc", (), {"title": "X", "contents": f"about {query}"})()]

    assert "about harbours" in make_search_tool(ObjectDocs())(query="harbours").content
