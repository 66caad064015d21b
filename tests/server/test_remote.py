"""`RemoteEnv` over a live loopback server reproduces the local env exactly."""

from __future__ import annotations

import concurrent.futures as cf
import socket

import numpy as np
import pytest

import agentgym
from agentgym.core.checks import GARBAGE_ACTIONS
from agentgym.errors import ProviderError
from agentgym.server.app import ServerConfig, to_jsonable
from agentgym.server.client import RemoteEnv, RemoteEnvError

# SearchQA-v0 (search issue) joins when registered: a tool-heavy env with a shared BM25 index
SERVED = (
    "Calculator-v0",
    "TestSlow-v0",
    "TestBroken-v0",
    *tuple(e.id.split("/", 1)[1] for e in agentgym.list_envs() if e.id == "agentgym/SearchQA-v0"),
)


@pytest.fixture(scope="module")
def url(serve_live):
    with serve_live(ServerConfig(env_ids=SERVED, max_sessions=128)) as base:
        yield base


def _replay(env, seed: int, actions: list[str]) -> list:
    obs, info = env.reset(seed=seed)
    trace = [obs, to_jsonable(info)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace += [action, [obs, reward, terminated, truncated, to_jsonable(info)]]
    return trace


def _local_trace(env_id: str, seed: int) -> tuple[list[str], list]:
    """Play a seeded mixed policy locally; return its actions and trajectory."""
    env = agentgym.make(env_id)
    rng = np.random.default_rng(1000 + seed)
    obs, info = env.reset(seed=seed)
    actions: list[str] = []
    trace = [obs, to_jsonable(info)]
    for _ in range(10):
        u = rng.random()
        if u < 0.6:
            action = env.unwrapped.oracle_action()
        elif u < 0.8:
            action = str(rng.choice([a for a in GARBAGE_ACTIONS if len(a) < 1000]))
        else:
            action = f"<calculator>{int(rng.integers(0, 99))} * {int(rng.integers(0, 99))}</calculator>"
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        trace += [action, [obs, reward, terminated, truncated, to_jsonable(info)]]
        if terminated or truncated:
            break
    return actions, trace


def test_50_seeded_episodes_match_the_local_env(url):
    remote = agentgym.make("agentgym/Remote-v0", url=url, env_id="Calculator-v0")
    try:
        for seed in range(50):
            actions, want = _local_trace("agentgym/Calculator-v0", seed)
            assert _replay(remote, seed, actions) == want, f"seed {seed}"
        assert (
            remote.unwrapped.system_prompt == agentgym.make("agentgym/Calculator-v0").unwrapped.system_prompt
        )
        assert remote.unwrapped.max_turns == 4 and remote.unwrapped.action_format == "xml"
    finally:
        remote.close()


def test_64_concurrent_sessions_on_different_envs_stay_isolated(url):
    def run(i: int) -> bool:
        env_id = SERVED[i % len(SERVED)]
        actions, want = _local_trace(env_id, seed=i)
        remote = RemoteEnv(url, env_id)
        try:
            return (
                _replay(remote, i, actions) == want
                and _replay(remote, i + 1, []) == _local_trace(env_id, i + 1)[1][:2]
            )
        finally:
            remote.close()

    with cf.ThreadPoolExecutor(64) as pool:
        results = list(pool.map(run, range(64)))
    assert results == [True] * 64


def test_fork_and_direct_tool_calls(url):
    remote = RemoteEnv(url, "Calculator-v0")
    local = agentgym.make("agentgym/Calculator-v0")
    try:
        remote.reset(seed=3)
        local.reset(seed=3)
        call = local.unwrapped.oracle_action()
        remote.step(call)
        local.step(call)
        copy = agentgym.fork(remote)
        answer = local.unwrapped.oracle_action()
        assert copy.step(answer)[1:3] == (1.0, True)
        assert remote.step(answer)[1:3] == (1.0, True)  # the original was still one step in
        assert remote.call_tool("calculator", {"expression": "6*7"})["content"] == "42"
        assert [t["function"]["name"] for t in remote.tools] == ["calculator"]
        copy.close()
    finally:
        remote.close()


def test_expired_session_is_reopened_on_reset_and_errors_are_typed(url):
    remote = RemoteEnv(url, "TestBroken-v0")
    try:
        remote.reset(seed=1)
        with pytest.raises(RemoteEnvError, match="ZeroDivisionError") as err:
            remote.step("boom")
        assert err.value.status == 422
        old = remote.session_id
        remote._request("DELETE", f"/v1/sessions/{old}")  # as if the server evicted it
        with pytest.raises(RemoteEnvError) as err:
            remote.step("x")
        assert err.value.status == 404
        obs, _ = remote.reset(seed=1)
        assert remote.session_id != old and obs == agentgym.make("agentgym/TestBroken-v0").reset(seed=1)[0]
    finally:
        remote.close()


def test_unreachable_server_raises_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    env = RemoteEnv(f"http://127.0.0.1:{port}", "Calculator-v0", retries=3, backoff=0.01, timeout=2)
    with pytest.raises(ProviderError, match="unreachable after 3 attempt"):
        env.reset(seed=0)


def test_oracle_is_served_only_when_exposed(url, serve_live):
    remote = RemoteEnv(url, "Calculator-v0")
    try:
        remote.reset(seed=4)
        with pytest.raises(RemoteEnvError, match="--expose-oracle") as err:
            remote.oracle_action()
        assert err.value.status == 403
    finally:
        remote.close()
    with serve_live(ServerConfig(env_ids=("Calculator-v0",), expose_oracle=True)) as base:
        remote = agentgym.make("agentgym/Remote-v0", url=base, env_id="Calculator-v0")
        local = agentgym.make("agentgym/Calculator-v0")
        remote.reset(seed=4)
        local.reset(seed=4)
        for _ in range(2):
            action = remote.unwrapped.oracle_action()
            assert action == local.unwrapped.oracle_action()
            out = remote.step(action)
            local.step(action)
        assert out[1:3] == (1.0, True)
        remote.close()
