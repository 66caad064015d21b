"""agentgym's environment contract, checked on top of Gymnasium's `check_env`.

The contract every registered env keeps: the oracle reaches full success from `reset`;
malformed actions (empty, random bytes, huge text, unbalanced tags, unknown tools) yield
observations, never exceptions; the same seed and actions reproduce the same trajectory; and
`fork` gives an independent copy. `agentgym check ID` runs these; env tests call them too.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
from gymnasium.utils.env_checker import check_env

from agentgym.core.env import fork
from agentgym.core.registration import make

__all__ = ["GARBAGE_ACTIONS", "CheckResult", "check_contract", "run_oracle"]

GARBAGE_ACTIONS: tuple[str, ...] = (
    "",
    "\x00\xff\xfe garbage \x1b[31m",
    "x" * 100_000,
    "<answer>unclosed",
    "<search>a</search></search>",
    "<tool_call>{not json}</tool_call>",
    '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>',
    "<no_such_tool>hi</no_such_tool>",
    '<tool_call>{"name": "calculator", "arguments": {"expression": 5}}</tool_call>',
    '{"tool_calls": [{"function": {"name": 1}}]}',
    "😀" * 50,
)


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


def run_oracle(
    env: gymnasium.Env, seed: int, max_steps: int = 200
) -> tuple[list[tuple[str, str, float, dict]], dict]:
    """Play one episode with `oracle_action()`; return [(action, obs, reward, info)] and the last info."""
    env.reset(seed=seed)
    steps: list[tuple[str, str, float, dict]] = []
    info: dict[str, Any] = {}
    for _ in range(max_steps):
        action = env.unwrapped.oracle_action()
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append((action, obs, float(reward), info))
        if terminated or truncated:
            break
    return steps, info


def _trace(env: gymnasium.Env, seed: int, actions: Sequence[str]) -> str:
    obs, info = env.reset(seed=seed)
    out = [obs, json.dumps(info, sort_keys=True, default=str)]
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        out.append(json.dumps([obs, r, term, trunc, info], sort_keys=True, default=str))
        if term or trunc:
            break
    return "\n".join(out)


def _check(name: str, fn: Callable[[], str | None]) -> CheckResult:
    try:
        problem = fn()
    except Exception as exc:  # report every failing check, not only the first
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")
    return CheckResult(name, problem is None, problem or "")


def check_contract(
    env_id: str, /, *, seeds: Sequence[int] = range(5), **env_kwargs: Any
) -> list[CheckResult]:
    """Run Gymnasium's checker and agentgym's contract checks on a registered env."""
    env = make(env_id, **env_kwargs)
    results = []

    def gym_checker() -> str | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(env.unwrapped, skip_render_check=True)
        return None

    def oracle() -> str | None:
        for s in seeds:
            _, info = run_oracle(env, s)
            if not info.get("success"):
                return (
                    f"seed {s}: the oracle did not succeed (last info: {json.dumps(info, default=str)[:300]})"
                )
        return None

    def garbage() -> str | None:
        for a in GARBAGE_ACTIONS:
            env.reset(seed=0)
            obs, _reward, *_ = env.step(a)
            if not isinstance(obs, str):
                return f"action {a[:30]!r} gave a non-text observation"
        return None

    def reproducible() -> str | None:
        for s in seeds:
            steps, _ = run_oracle(env, s)
            actions = [a for a, *_ in steps]
            if _trace(env, s, actions) != _trace(env, s, actions):
                return f"seed {s}: the same seed and actions gave different trajectories"
        return None

    def forks() -> str | None:
        steps, _ = run_oracle(env, seeds[0])
        if len(steps) < 2:
            return None
        env.reset(seed=seeds[0])
        env.step(steps[0][0])
        copy = fork(env)
        before = json.dumps(env.unwrapped.state_dict(), sort_keys=True, default=str)
        for a, *_ in steps[1:]:
            _, _, term, trunc, _ = copy.step(a)
            if term or trunc:
                break
        after = json.dumps(env.unwrapped.state_dict(), sort_keys=True, default=str)
        return None if before == after else "stepping a fork changed the original env"

    for name, fn in [
        ("gymnasium check_env", gym_checker),
        ("oracle succeeds", oracle),
        ("malformed actions give observations", garbage),
        ("same seed + actions reproduce", reproducible),
        ("fork is independent", forks),
    ]:
        results.append(_check(name, fn))
    env.close()
    return results
