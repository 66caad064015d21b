"""examples/standalone_agent.py: an OpenAI-style chat loop using a served env's tools over HTTP."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from fastapi import FastAPI

import agentgym
from agentgym.server.app import ServerConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "standalone_agent.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("standalone_agent", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_chat_model(script: dict) -> FastAPI:
    """An OpenAI-compatible /chat/completions that calls the tool the test tells it to, then answers."""
    app = FastAPI()
    app.state.requests = []

    @app.post("/v1/chat/completions")
    def completions(body: dict) -> dict:
        app.state.requests.append(body)
        last = body["messages"][-1]
        if last["role"] == "user":
            call = {
                "id": "c1",
                "type": "function",
                "function": {"name": "calculator", "arguments": json.dumps(script["args"])},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        else:
            message = {"role": "assistant", "content": last["content"]}
        return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}

    return app


def test_chat_loop_with_remote_env_tools_solves_tasks(serve_live):
    example = _load_example()
    local = agentgym.make("agentgym/Calculator-v0")
    script: dict = {}
    fake = _fake_chat_model(script)
    with serve_live(ServerConfig(env_ids=("Calculator-v0",))) as env_url:
        env = agentgym.make("agentgym/Remote-v0", url=env_url, env_id="Calculator-v0")
        with serve_live(fake) as model_url:
            for seed in range(3):
                local.reset(seed=seed)
                script["args"] = {"expression": local.unwrapped.task.private["expression"]}

                def respond(messages, tools):
                    return example.chat(model_url + "/v1", "fake", messages, tools, None)

                def call_tool(name, arguments):
                    out = env.unwrapped.call_tool(name, arguments)
                    return out["content"] if out["error"] is None else f"Error: {out['error']}"

                result = example.run_episode(env, seed, respond, call_tool)
                assert result["success"] is True and result["reward"] == 1.0
            sent = fake.state.requests[0]
            assert sent["tools"][0]["function"]["name"] == "calculator"
            assert fake.state.requests[1]["messages"][-1]["role"] == "tool"
        env.close()
