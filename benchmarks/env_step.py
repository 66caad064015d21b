"""Per-step overhead of Calculator-v0 under the oracle vs a bare gymnasium.Env doing the same work.

The bare env parses the same tag with one regex, evaluates the same expression with the same
calculator, and wraps the result in the same tags, with none of agentgym's validation, dispatch
or bookkeeping. Prints JSON: median step latency of each and their ratio.

    python benchmarks/env_step.py [--episodes 2000]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time

import gymnasium

import agentgym
from agentgym.core.spaces import UnicodeText
from agentgym.tools.calculator import evaluate, format_number


class BareCalc(gymnasium.Env):
    """The minimum a calculator env must do per step."""

    observation_space = UnicodeText()
    action_space = UnicodeText()
    _tag = re.compile(r"<(calculator|answer)>(.*?)</\1>", re.S)

    def __init__(self, answer: str):
        self.answer = answer

    def reset(self, *, seed=None, options=None):
        return "question", {}

    def step(self, action):
        tag, body = self._tag.search(action).groups()
        if tag == "answer":
            return "done", float(body == self.answer), True, False, {}
        return f"<information>{format_number(evaluate(body))}</information>", 0.0, False, False, {}


def time_steps(env: gymnasium.Env, actions: list[str], seed: int) -> list[float]:
    env.reset(seed=seed)
    out = []
    for a in actions:
        t0 = time.perf_counter()
        env.step(a)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=2000)
    args = ap.parse_args()
    env = agentgym.make("agentgym/Calculator-v0", difficulty=(1, 5)).unwrapped  # no wrappers: measure the env
    ours, bare = [], []
    for seed in range(args.episodes):
        env.reset(seed=seed)
        actions = []
        while True:
            a = env.oracle_action()
            actions.append(a)
            *_, term, trunc, _ = env.step(a)
            if term or trunc:
                break
        ours += time_steps(env, actions, seed)
        bare += time_steps(BareCalc(str(env.task.answer)), actions, seed)
    ours_us, bare_us = statistics.median(ours) * 1e6, statistics.median(bare) * 1e6
    print(
        json.dumps(
            {
                "benchmark": "env_step",
                "steps": len(ours),
                "agentgym_median_us": round(ours_us, 2),
                "bare_env_median_us": round(bare_us, 2),
                "overhead_ratio": round(ours_us / bare_us, 3),
                "targets": {"overhead_ratio_max": 3.0, "agentgym_median_us_max": 50.0},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
