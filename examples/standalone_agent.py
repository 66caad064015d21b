"""An inference-time agent: any OpenAI-compatible chat model using agentgym's tools in its own loop.

The agent owns the conversation; agentgym supplies the tools (their OpenAI function schemas from
`Toolset.openai_schemas()`, and safe dispatch), the task, and the grade of the final answer.
The env can be local or served (`agentgym serve Calculator-v0`, then `--server http://127.0.0.1:8100`).

    # a real model behind an OpenAI-compatible endpoint (vLLM, llama.cpp, a hosted API):
    python examples/standalone_agent.py --base-url http://127.0.0.1:8000/v1 --model my-model
    # no model at hand: a scripted stand-in that makes the same HTTP-shaped messages
    python examples/standalone_agent.py --scripted --episodes 5
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import httpx

import agentgym
from agentgym.tools.base import ToolCall


def chat(
    base_url: str, model: str, messages: list[dict], tools: list[dict], api_key: str | None
) -> dict[str, Any]:
    """One /chat/completions call; returns the assistant message."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": model, "messages": messages, "tools": tools, "temperature": 0}
    r = httpx.post(f"{base_url.rstrip('/')}/chat/completions", json=body, headers=headers, timeout=120)
    r.raise_for_status()
    return r.json()["choices"][0]["message"]


def scripted_model(env: Any):
    """A stand-in for a chat model: asks the env's expert, answers in OpenAI message shape."""

    def respond(messages: list[dict], tools: list[dict]) -> dict[str, Any]:
        tool_turns = sum(1 for m in messages if m["role"] == "tool")
        if tool_turns == 0:
            call = env.unwrapped.parser.parse(env.unwrapped.oracle_action()).tool_calls[0]
            args = json.dumps(dict(call.arguments))
            return {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_0", "type": "function", "function": {"name": call.name, "arguments": args}}
                ],
            }
        return {"role": "assistant", "content": messages[-1]["content"]}

    return respond


def run_episode(env: Any, seed: int, respond, call_tool, max_turns: int = 6) -> dict[str, Any]:
    """Let the model use the tools until it answers; grade the answer with the env."""
    task, info = env.reset(seed=seed)
    tools = info["tools"]  # OpenAI function schemas (Toolset.openai_schemas())
    system = getattr(env.unwrapped, "instructions", "Solve the task using the tools, then answer.")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": task},
    ]
    for _ in range(max_turns):
        message = respond(messages, tools)
        messages.append(message)
        if not message.get("tool_calls"):
            break
        for tc in message["tool_calls"]:
            args = json.loads(tc["function"]["arguments"] or "{}")
            result = call_tool(tc["function"]["name"], args)
            messages.append({"role": "tool", "tool_call_id": tc["id"], "content": result})
    answer = messages[-1].get("content") or ""
    _, reward, *_, final = env.step(f"<answer>{answer}</answer>")
    return {
        "seed": seed,
        "answer": answer,
        "reward": reward,
        "success": final.get("success"),
        "turns": len(messages),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="Calculator-v0")
    ap.add_argument("--server", help="URL of `agentgym serve` (omit to run the env locally)")
    ap.add_argument("--token", default=os.environ.get("AGENTGYM_SERVER_TOKEN"))
    ap.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"))
    ap.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "default"))
    ap.add_argument("--scripted", action="store_true", help="use the scripted stand-in instead of a model")
    ap.add_argument("--episodes", type=int, default=3)
    args = ap.parse_args()

    if args.server:
        env = agentgym.make("agentgym/Remote-v0", url=args.server, env_id=args.env, token=args.token)

        def call_tool(name: str, arguments: dict) -> str:
            out = env.unwrapped.call_tool(name, arguments)
            return out["content"] if out["error"] is None else f"Error: {out['error']}"
    else:
        env = agentgym.make(args.env)

        def call_tool(name: str, arguments: dict) -> str:
            return env.unwrapped.toolset.call(ToolCall(name, arguments)).render()

    if args.scripted:
        if args.server:
            raise SystemExit("--scripted needs the local env (it reads the expert's moves)")
        respond = scripted_model(env)
    else:

        def respond(messages: list[dict], tools: list[dict]) -> dict[str, Any]:
            return chat(args.base_url, args.model, messages, tools, os.environ.get("OPENAI_API_KEY"))

    results = [run_episode(env, seed, respond, call_tool) for seed in range(args.episodes)]
    for r in results:
        print(json.dumps(r))
    print(json.dumps({"success_rate": sum(bool(r["success"]) for r in results) / len(results)}))
    env.close()


if __name__ == "__main__":
    main()
