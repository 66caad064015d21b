"""Fuzz the env server: ≥ 5,000 hostile requests, no 5xx, bounded memory, valid sessions unharmed."""

from __future__ import annotations

import json
import logging

import numpy as np
import psutil
from fastapi.testclient import TestClient

import agentgym
from agentgym.server.app import ServerConfig, create_app

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
N_REQUESTS = 5_000


def _junk(rng: np.random.Generator):
    """A random JSON value of a random type (the wrong one, usually)."""
    kind = int(rng.integers(0, 9))
    return [
        None,
        True,
        int(rng.integers(-(2**62), 2**62)) * int(rng.choice([1, 10**30])),
        float(rng.choice([1e308, -0.0, 3.5])),
        "".join(chr(int(c)) for c in rng.integers(1, 0x2FFF, size=int(rng.integers(0, 40)))),
        [1, "a", None],
        {"task": {"id": "x"}},
        {"task": {"prompt": 1, "id": None, "bogus": 2}},
        {"seed": {"$ne": 1}},
    ][kind]


def _request(rng: np.random.Generator, c: TestClient, sids: list[str]) -> int:
    """Send one hostile request; return its status code."""
    kind = int(rng.integers(0, 10))
    sid = (
        str(rng.choice(sids))
        if sids and rng.random() < 0.5
        else str(rng.choice(["nope", "../../etc", "é" * 300, "%00"]))
    )
    if kind == 0:  # malformed JSON to a real route
        body = bytes(rng.integers(0, 256, size=int(rng.integers(0, 200)), dtype=np.uint8))
        path = str(rng.choice(["/v1/sessions", f"/v1/sessions/{sid}/step", f"/v1/sessions/{sid}/reset"]))
        return c.post(path, content=body, headers={**AUTH, "content-type": "application/json"}).status_code
    if kind == 1:  # oversized
        return c.post(
            f"/v1/sessions/{sid}/step", content=b'{"action": "' + b"a" * 70_000 + b'"}', headers=AUTH
        ).status_code
    if kind == 2:  # wrong-typed create
        body = {
            "env_id": _junk(rng) if rng.random() < 0.5 else "Calculator-v0",
            "seed": _junk(rng),
            "options": _junk(rng),
        }
        if rng.random() < 0.3:
            body["env_kwargs"] = {
                str(rng.choice(["max_turns", "action_format", "tools", "entry_point"])): _junk(rng)
            }
        return c.post("/v1/sessions", json=body, headers=AUTH).status_code
    if kind == 3:  # wrong-typed reset
        return c.post(
            f"/v1/sessions/{sid}/reset", json={"seed": _junk(rng), "options": _junk(rng)}, headers=AUTH
        ).status_code
    if kind == 4:  # wrong-typed or garbage step
        return c.post(f"/v1/sessions/{sid}/step", json={"action": _junk(rng)}, headers=AUTH).status_code
    if kind == 5:  # unauthenticated / wrong token
        headers = [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {"Authorization": "Basic x"},
        ][int(rng.integers(0, 4))]
        return c.post("/v1/sessions", json={"env_id": "Calculator-v0"}, headers=headers).status_code
    if kind == 6:  # tool calls with junk
        name = str(rng.choice(["calculator", "search", "__init__", "../x"]))
        return c.post(
            f"/v1/sessions/{sid}/tools/{name}", json={"arguments": _junk(rng)}, headers=AUTH
        ).status_code
    if kind == 7:  # wrong methods and unknown paths
        method = str(rng.choice(["GET", "PUT", "PATCH", "DELETE"]))
        if method == "DELETE" and sid == sids[0]:
            sid = "nope"  # sids[0] is the valid session whose survival the test checks
        path = str(
            rng.choice(
                ["/v1/sessions", f"/v1/sessions/{sid}/step", "/v1/nothing", "/admin", f"/v1/sessions/{sid}"]
            )
        )
        return c.request(method, path, headers=AUTH).status_code
    if kind == 8:  # valid creates (hit the cap, get 429s)
        r = c.post(
            "/v1/sessions", json={"env_id": "Calculator-v0", "seed": int(rng.integers(0, 1000))}, headers=AUTH
        )
        if r.status_code == 200:
            sids.append(r.json()["session_id"])
        return r.status_code
    r = c.post(f"/v1/sessions/{sid}/fork", headers=AUTH)  # forks (also hit the cap)
    if r.status_code == 200:
        sids.append(r.json()["session_id"])
    return r.status_code


def test_fuzz_no_5xx_bounded_memory_valid_sessions_keep_working(caplog):
    caplog.set_level(logging.ERROR)
    config = ServerConfig(env_ids=("Calculator-v0",), token=TOKEN, max_sessions=32, max_body_bytes=64 * 1024)
    rng = np.random.default_rng(0)
    proc = psutil.Process()
    with TestClient(create_app(config), raise_server_exceptions=False) as c:
        keep = c.post("/v1/sessions", json={"env_id": "Calculator-v0", "seed": 11}, headers=AUTH).json()[
            "session_id"
        ]
        sids: list[str] = [keep]
        for _ in range(300):  # warm-up: import paths, caches, the session cap
            _request(rng, c, sids)
        rss_before = proc.memory_info().rss
        statuses: dict[int, int] = {}
        for _ in range(N_REQUESTS):
            code = _request(rng, c, sids)
            statuses[code] = statuses.get(code, 0) + 1
            if len(sids) > 64:  # forget most ids so unknown-session requests stay common
                del sids[1:32]
        rss_after = proc.memory_info().rss
        report = {
            "requests": N_REQUESTS,
            "statuses": statuses,
            "rss_before_mb": rss_before / 2**20,
            "rss_after_mb": rss_after / 2**20,
        }
        print("fuzz:", json.dumps(report, sort_keys=True))
        assert not any(code >= 500 for code in statuses), report
        assert {400, 401, 404, 413, 422, 429} <= set(statuses), report
        assert rss_after - rss_before < 64 * 2**20, report
        assert c.get("/health").json()["sessions"] <= 32
        # the valid session took hostile steps and resets too; it still plays a clean episode
        local = agentgym.make("agentgym/Calculator-v0")
        obs, _ = local.reset(seed=11)
        r = c.post(f"/v1/sessions/{keep}/reset", json={"seed": 11}, headers=AUTH)
        assert r.status_code == 200 and r.json()["observation"] == obs
        for _ in range(2):
            action = local.unwrapped.oracle_action()
            step = c.post(f"/v1/sessions/{keep}/step", json={"action": action}, headers=AUTH).json()
            local.step(action)
        assert step["terminated"] and step["info"]["success"] is True
