"""OpenAIChat against a local OpenAI-compatible server started by the test (FastAPI + uvicorn)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter

import pytest

fastapi = pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

from agentgym.llm import SamplingParams, load_policy  # noqa: E402
from agentgym.llm.openai_chat import OpenAIChat, completion_to_action  # noqa: E402

CALLS: Counter = Counter()


def _app():
    app = FastAPI()

    @app.get("/v1/models")
    def models():
        return {"data": [{"id": "fake-model"}]}

    @app.post("/v1/chat/completions")
    async def chat(req: Request):
        body = await req.json()
        text = body["messages"][-1]["content"]
        CALLS[text] += 1
        if text.startswith("flaky429") and CALLS[text] <= 2:
            return JSONResponse({"error": "slow down"}, status_code=429, headers={"retry-after": "0"})
        if text.startswith("flaky500") and CALLS[text] <= 1:
            return JSONResponse({"error": "oops"}, status_code=500)
        if text.startswith("always500"):
            return JSONResponse({"error": "down"}, status_code=503)
        if text.startswith("bad400"):
            return JSONResponse({"error": "bad request"}, status_code=400)
        usage = {"prompt_tokens": len(text.split()), "completion_tokens": 3}
        if text.startswith("use a tool") and body.get("tools"):
            call = {
                "id": "c1",
                "type": "function",
                "function": {"name": "calculator", "arguments": '{"expression": "2+3"}'},
            }
            msg = {"role": "assistant", "content": None, "tool_calls": [call]}
            return {"choices": [{"message": msg, "finish_reason": "tool_calls"}], "usage": usage}
        msg = {"role": "assistant", "content": f"echo {text} t={body['temperature']} seed={body.get('seed')}"}
        return {"choices": [{"message": msg, "finish_reason": "stop"}], "usage": usage}

    @app.post("/v1/completions")
    async def completions(req: Request):
        body = await req.json()
        ids = [int(i) + 1 for i in body["prompt"][-3:]]
        lp = {"tokens": [f"token_id:{i}" for i in ids], "token_logprobs": [-0.5] * len(ids)}
        return {
            "choices": [{"text": "abc", "logprobs": lp, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3},
        }

    return app


@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(5)


def test_chat_concurrent_with_model_discovery_and_usage(server):
    llm = OpenAIChat(server, max_concurrency=4)
    convs = [[{"role": "user", "content": f"hello {i}"}] for i in range(10)]
    out = llm.chat_many(convs, SamplingParams(temperature=0.3, seed=5))
    assert all(c.error is None for c in out), out[0].error
    assert [c.text.split(" t=")[0] for c in out] == [f"echo hello {i}" for i in range(10)]
    assert all(c.finish_reason == "stop" for c in out) and "seed=5" in out[0].text
    assert llm.model == "fake-model"
    assert (
        llm.usage["requests"] == 10
        and llm.usage["completion_tokens"] == 30
        and llm.usage["prompt_tokens"] == 20
    )


def test_retries_on_429_and_500_then_succeed(server):
    llm = OpenAIChat(server, model="m", backoff=0.01)
    out = llm.chat_many(
        [[{"role": "user", "content": "flaky429 a"}], [{"role": "user", "content": "flaky500 b"}]]
    )
    assert out[0].text.startswith("echo flaky429") and out[1].text.startswith("echo flaky500")
    assert llm.usage["retries"] == 3


def test_persistent_failure_is_a_provider_error_per_request(server):
    llm = OpenAIChat(server, model="m", backoff=0.01, max_retries=2)
    out = llm.chat_many([[{"role": "user", "content": "always500"}], [{"role": "user", "content": "fine"}]])
    assert out[0].finish_reason == "error" and "3 attempts" in out[0].error
    assert out[1].finish_reason == "stop"
    bad = llm.chat_many([[{"role": "user", "content": "bad400"}]])[0]
    assert bad.finish_reason == "error" and "HTTP 400" in bad.error and llm.usage["retries"] == 2


def test_timeout_and_unreachable_server_raise_clear_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    llm = OpenAIChat(f"http://127.0.0.1:{port}", model="m", backoff=0.01, max_retries=1, timeout=0.5)
    out = llm.chat_many([[{"role": "user", "content": "x"}]])[0]
    assert out.finish_reason == "error" and "ConnectError" in out.error


def test_tool_calls_become_openai_format_actions(server):
    import agentgym

    env = agentgym.make("Calculator-v0", action_format="openai")
    _, info = env.reset(seed=0)
    llm = OpenAIChat(server, model="m")
    c = llm.chat_many([[{"role": "user", "content": "use a tool"}]], tools=info["tools"])[0]
    assert c.tool_calls and c.tool_calls[0]["function"]["name"] == "calculator"
    obs, *_, step_info = env.step(completion_to_action(c))
    assert step_info["tool_calls"][0]["arguments"] == {"expression": "2+3"} and "5" in obs
    assert json.loads(completion_to_action(c))["role"] == "assistant"


def test_generate_on_token_ids(server):
    policy = load_policy("tiny", device="cpu")
    llm = OpenAIChat(server, model="m", tokenizer=policy.tokenizer)
    out = llm.generate([[1, 2, 3, 4], [7, 8, 9]], SamplingParams(max_tokens=3))
    assert [c.token_ids for c in out] == [[3, 4, 5], [8, 9, 10]]
    assert out[0].logprobs == [-0.5] * 3 and llm.chat is not None
