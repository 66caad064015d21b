"""The env server's HTTP contract: sessions, tools, errors, auth, caps, eviction, locking."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

import agentgym
from agentgym.errors import InvalidConfig
from agentgym.server.app import ServerConfig, create_app
from agentgym.server.run import check_bind, is_loopback
from agentgym.server.sessions import SessionStore


def _client(**kw) -> TestClient:
    kw.setdefault("env_ids", ("Calculator-v0", "TestBroken-v0", "TestSlow-v0"))
    return TestClient(create_app(ServerConfig(**kw)))


def test_session_lifecycle_matches_local_env():
    local = agentgym.make("agentgym/Calculator-v0")
    obs0, info0 = local.reset(seed=7)
    with _client() as c:
        r = c.post("/v1/sessions", json={"env_id": "Calculator-v0", "seed": 7})
        assert r.status_code == 200
        body = r.json()
        sid = body["session_id"]
        assert body["observation"] == obs0 and body["info"]["task"] == info0["task"]
        assert body["env"]["system_prompt"] == local.unwrapped.system_prompt
        action = local.unwrapped.oracle_action()
        want = local.step(action)
        got = c.post(f"/v1/sessions/{sid}/step", json={"action": action}).json()
        assert [got["observation"], got["reward"], got["terminated"], got["truncated"]] == list(want[:4])
        # a fork is independent of its source
        fid = c.post(f"/v1/sessions/{sid}/fork").json()["session_id"]
        final = c.post(f"/v1/sessions/{fid}/step", json={"action": local.unwrapped.oracle_action()}).json()
        assert final["terminated"] and final["info"]["success"] is True
        again = c.post(f"/v1/sessions/{sid}/step", json={"action": local.unwrapped.oracle_action()}).json()
        assert (
            again["terminated"] and again["info"]["success"] is True
        )  # the source was not advanced by the fork
        # reset with a new seed gives the local env's new task
        assert (
            c.post(f"/v1/sessions/{sid}/reset", json={"seed": 8}).json()["observation"]
            == local.reset(seed=8)[0]
        )
        assert c.delete(f"/v1/sessions/{sid}").status_code == 200
        r = c.post(f"/v1/sessions/{sid}/step", json={"action": "x"})
        assert r.status_code == 404 and "POST /v1/sessions" in r.json()["error"]["message"]


def test_tools_listed_and_called_directly():
    with _client() as c:
        sid = c.post("/v1/sessions", json={"env_id": "Calculator-v0", "seed": 0}).json()["session_id"]
        tools = c.get(f"/v1/sessions/{sid}/tools").json()["tools"]
        assert [t["function"]["name"] for t in tools] == ["calculator"]
        assert tools[0]["function"]["parameters"]["required"] == ["expression"]
        out = c.post(
            f"/v1/sessions/{sid}/tools/calculator", json={"arguments": {"expression": "(2 + 3) * 7 / 2"}}
        )
        assert out.json() == {"content": "17.5", "error": None, "truncated": False}
        bad = c.post(f"/v1/sessions/{sid}/tools/calculator", json={"arguments": {"expression": 5}}).json()
        assert bad["error"] and "expression" in bad["error"]
        missing = c.post(f"/v1/sessions/{sid}/tools/search", json={"arguments": {}})
        assert missing.status_code == 404 and "calculator" in missing.json()["error"]["message"]


def test_env_exception_is_a_4xx_with_message_and_session_survives():
    with _client() as c:
        sid = c.post("/v1/sessions", json={"env_id": "TestBroken-v0", "seed": 0}).json()["session_id"]
        r = c.post(f"/v1/sessions/{sid}/step", json={"action": "boom"})
        assert r.status_code == 422
        assert r.json()["error"] == {
            "type": "env_error",
            "message": "agentgym/TestBroken-v0 raised ZeroDivisionError: the env divided by zero",
        }
        assert c.post(f"/v1/sessions/{sid}/step", json={"action": "<answer>1</answer>"}).status_code == 200


def test_only_served_ids_and_allowed_plain_kwargs():
    with _client(env_ids=("Calculator-v0",)) as c:
        r = c.post("/v1/sessions", json={"env_id": "TestBroken-v0"})
        assert r.status_code == 404 and "serves: agentgym/Calculator-v0" in r.json()["error"]["message"]
        r = c.post(
            "/v1/sessions", json={"env_id": "Calculator-v0", "env_kwargs": {"entry_point": "os:system"}}
        )
        assert r.status_code == 400 and "cannot be set by a client" in r.json()["error"]["message"]
        r = c.post(
            "/v1/sessions", json={"env_id": "Calculator-v0", "env_kwargs": {"action_format": {"x": 1}}}
        )
        assert r.status_code == 400
        r = c.post("/v1/sessions", json={"env_id": "Calculator-v0", "env_kwargs": {"action_format": "json"}})
        assert r.status_code == 200 and r.json()["env"]["action_format"] == "json"
        r = c.post("/v1/sessions", json={"env_id": "Calculator-v0", "env_kwargs": {"action_format": "yaml"}})
        assert r.status_code in (400, 422) and "yaml" in r.json()["error"]["message"]


def test_auth_token():
    with _client(token="s3cret") as c:
        assert c.get("/health").status_code == 200
        r = c.post("/v1/sessions", json={"env_id": "Calculator-v0"})
        assert r.status_code == 401 and "Bearer" in r.json()["error"]["message"]
        r = c.post(
            "/v1/sessions", json={"env_id": "Calculator-v0"}, headers={"Authorization": "Bearer wrong"}
        )
        assert r.status_code == 401
        r = c.post(
            "/v1/sessions", json={"env_id": "Calculator-v0"}, headers={"Authorization": "Bearer s3cret"}
        )
        assert r.status_code == 200


def test_open_bind_without_token_is_refused():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    with pytest.raises(InvalidConfig, match=r"refusing to bind to 0\.0\.0\.0 without a token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "t")
    check_bind("127.0.0.1", None)


def test_session_cap_is_a_clear_429_and_idle_sessions_are_evicted():
    with _client(max_sessions=2, idle_timeout=1000) as c:
        ids = [
            c.post("/v1/sessions", json={"env_id": "Calculator-v0"}).json()["session_id"] for _ in range(2)
        ]
        r = c.post("/v1/sessions", json={"env_id": "Calculator-v0"})
        assert r.status_code == 429 and "--max-sessions" in r.json()["error"]["message"]
        store: SessionStore = c.app.state.store
        assert store.evict_idle() == 0
        store.get(ids[0]).last_used -= 5000  # as if unused for 5000 s
        assert store.evict_idle() == 1
        assert c.post(f"/v1/sessions/{ids[0]}/step", json={"action": "x"}).status_code == 404
        assert c.post("/v1/sessions", json={"env_id": "Calculator-v0"}).status_code == 200


def test_steps_on_one_session_are_serialised_while_sessions_run_in_parallel(slow_env):
    with _client(env_ids=("TestSlow-v0",)) as c:
        sids = [
            c.post("/v1/sessions", json={"env_id": "TestSlow-v0", "seed": i}).json()["session_id"]
            for i in range(2)
        ]

        def hammer(sid: str, n: int, out: list) -> None:
            for _ in range(n):
                out.append(
                    c.post(
                        f"/v1/sessions/{sid}/step", json={"action": "<calculator>1+1</calculator>"}
                    ).status_code
                )

        # 8 threads on one session: never two steps at once
        slow_env.peak = 0
        codes: list[int] = []
        threads = [threading.Thread(target=hammer, args=(sids[0], 1, codes)) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert codes == [200] * 8 and slow_env.peak == 1
        assert c.app.state.store.get(sids[0]).steps == 8
        # two sessions, stepped from 8 threads: their steps overlap
        slow_env.peak = 0
        threads = [threading.Thread(target=hammer, args=(sids[i % 2], 2, codes)) for i in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert slow_env.peak == 2


def test_cli_refuses_open_bind_without_token(monkeypatch):
    from typer.testing import CliRunner

    from agentgym.cli import app

    monkeypatch.delenv("AGENTGYM_SERVER_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "Calculator-v0", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to bind to 0.0.0.0 without a token" in result.output + (result.stderr or "")


def test_background_sweeper_evicts_idle_sessions():
    import time

    with _client(idle_timeout=0.2, sweep_interval=0.05) as c:
        sid = c.post("/v1/sessions", json={"env_id": "Calculator-v0"}).json()["session_id"]
        deadline = time.monotonic() + 10
        while c.get("/health").json()["sessions"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.post(f"/v1/sessions/{sid}/step", json={"action": "x"}).status_code == 404
        assert c.app.state.store.evicted == 1


def test_body_limit_holds_without_content_length():
    def chunks():
        for _ in range(40):
            yield b"x" * 4096  # 160 KiB in chunks, no Content-Length header

    with _client(max_body_bytes=64 * 1024) as c:
        r = c.post("/v1/sessions", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"
        assert c.get("/health").status_code == 200
