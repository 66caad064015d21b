"""Fuzz the env server: ≥ 5,000 hostile requests, no 5xx, bounded memory, valid sessions unharmed."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import numpy as np
import psutil

import agentgym
from agentgym.server.app import ServerConfig, create_app

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
N_REQUESTS = 5_000


def _junk(rng: np.random.Generator) -> Any:
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


def _hostile(rng: np.random.Generator, sids: list[str]) -> tuple[str, str, dict[str, Any]]:
    """One hostile request as (method, path, httpx kwargs)."""
    kind = int(rng.integers(0, 10))
    bad_ids = ["nope", "../../etc", "é" * 300, "%00"]
    sid = str(rng.choice(sids)) if sids and rng.random() < 0.5 else str(rng.choice(bad_ids))
    if kind == 0:  # malformed JSON to a real route
        body = bytes(rng.integers(0, 256, size=int(rng.integers(0, 200)), dtype=np.uint8))
        path = str(rng.choice(["/v1/sessions", f"/v1/sessions/{sid}/step", f"/v1/sessions/{sid}/reset"]))
        return "POST", path, {"content": body, "headers": {**AUTH, "content-type": "application/json"}}
    if kind == 1:  # oversized
        return (
            "POST",
            f"/v1/sessions/{sid}/step",
            {"content": b'{"action": "' + b"a" * 70_000 + b'"}', "headers": AUTH},
        )
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
        return "POST", "/v1/sessions", {"json": body, "headers": AUTH}
    if kind == 3:  # wrong-typed reset
        return (
            "POST",
            f"/v1/sessions/{sid}/reset",
            {"json": {"seed": _junk(rng), "options": _junk(rng)}, "headers": AUTH},
        )
    if kind == 4:  # wrong-typed or garbage step
        return "POST", f"/v1/sessions/{sid}/step", {"json": {"action": _junk(rng)}, "headers": AUTH}
    if kind == 5:  # unauthenticated / wrong token
        headers = [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {"Authorization": "Basic x"},
        ]
        return (
            "POST",
            "/v1/sessions",
            {"json": {"env_id": "Calculator-v0"}, "headers": headers[int(rng.integers(0, 4))]},
        )
    if kind == 6:  # tool calls with junk
        name = str(rng.choice(["calculator", "search", "__init__", "../x"]))
        return (
            "POST",
            f"/v1/sessions/{sid}/tools/{name}",
            {"json": {"arguments": _junk(rng)}, "headers": AUTH},
        )
    if kind == 7:  # wrong methods and unknown paths
        method = str(rng.choice(["GET", "PUT", "PATCH", "DELETE"]))
        if method == "DELETE" and sid == sids[0]:
            sid = "nope"  # sids[0] is the valid session whose survival the test checks
        paths = ["/v1/sessions", f"/v1/sessions/{sid}/step", "/v1/nothing", "/admin", f"/v1/sessions/{sid}"]
        return method, str(rng.choice(paths)), {"headers": AUTH}
    if kind == 8:  # valid creates (hit the cap, get 429s)
        return (
            "POST",
            "/v1/sessions",
            {"json": {"env_id": "Calculator-v0", "seed": int(rng.integers(0, 1000))}, "headers": AUTH},
        )
    return "POST", f"/v1/sessions/{sid}/fork", {"headers": AUTH}  # forks (also hit the cap)


async def _fuzz(
    client: httpx.AsyncClient, rng: np.random.Generator, sids: list[str], n: int
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    for _ in range(n):
        method, path, kwargs = _hostile(rng, sids)
        r = await client.request(method, path, **kwargs)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code == 200 and method == "POST" and (path == "/v1/sessions" or path.endswith("/fork")):
            sids.append(r.json()["session_id"])
        if len(sids) > 64:  # forget most ids so unknown-session requests stay common
            del sids[1:32]
    return statuses


async def _run(config: ServerConfig) -> dict[str, Any]:
    app = create_app(config)
    proc = psutil.Process()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://agentgym.test") as c:
        created = await c.post("/v1/sessions", json={"env_id": "Calculator-v0", "seed": 11}, headers=AUTH)
        keep = created.json()["session_id"]
        sids = [keep]
        rng = np.random.default_rng(0)
        await _fuzz(c, rng, sids, 300)  # warm-up: import paths, caches, the session cap
        rss_before = proc.memory_info().rss
        statuses = await _fuzz(c, rng, sids, N_REQUESTS)
        rss_after = proc.memory_info().rss
        sessions = (await c.get("/health")).json()["sessions"]
        # the valid session took hostile steps and resets too; it still plays a clean episode
        local = agentgym.make("agentgym/Calculator-v0")
        obs, _ = local.reset(seed=11)
        reset = await c.post(f"/v1/sessions/{keep}/reset", json={"seed": 11}, headers=AUTH)
        steps = []
        for _ in range(2):
            action = local.unwrapped.oracle_action()
            steps.append(
                (await c.post(f"/v1/sessions/{keep}/step", json={"action": action}, headers=AUTH)).json()
            )
            local.step(action)
    app.state.store.close_all()
    return {
        "statuses": statuses,
        "rss_before_mb": rss_before / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "sessions": sessions,
        "reset": (reset.status_code, reset.json().get("observation") == obs),
        "last_step": steps[-1],
    }


def test_fuzz_no_5xx_bounded_memory_valid_sessions_keep_working(caplog):
    caplog.set_level(logging.ERROR)
    config = ServerConfig(env_ids=("Calculator-v0",), token=TOKEN, max_sessions=32, max_body_bytes=64 * 1024)
    out = asyncio.run(_run(config))
    report = {k: out[k] for k in ("statuses", "rss_before_mb", "rss_after_mb", "sessions")}
    print("fuzz:", json.dumps({"requests": N_REQUESTS, **report}, sort_keys=True))
    statuses = out["statuses"]
    assert sum(statuses.values()) == N_REQUESTS
    assert not any(code >= 500 for code in statuses), report
    assert {400, 401, 404, 413, 422, 429} <= set(statuses), report
    assert out["rss_after_mb"] - out["rss_before_mb"] < 64, report
    assert out["sessions"] <= 32
    assert out["reset"] == (200, True)
    assert out["last_step"]["terminated"] and out["last_step"]["info"]["success"] is True
