"""Per-step overhead of Calculator-v0 under the oracle vs a bare gymnasium.Env doing the same work.

Medians are reported over all steps (the issue's measure) and per step kind: a tool step (parse,
dispatch, evaluate, wrap) and an answer step (parse, grade), because the two kinds differ by an
order of magnitude and the median of the mixture sits between them.

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


def time_steps(env: gymnasium.Env, actions: list[str], seed: int) -> list[tuple[str, float]]:
    """(step kind, seconds) for each action: `tool` or `answer`."""
    env.reset(seed=seed)
    out = []
    for a in actions:
        t0 = time.perf_counter()
        env.step(a)
        out.append(("answer" if a.startswith("<answer>") else "tool", time.perf_counter() - t0))
    return out


def medians_us(samples: list[tuple[str, float]], kind: str | None = None) -> float:
    return statistics.median(t for k, t in samples if kind in (None, k)) * 1e6


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
    result: dict = {"benchmark": "env_step", "steps": len(ours)}
    for kind in (None, "tool", "answer"):
        o, b = medians_us(ours, kind), medians_us(bare, kind)
        name = kind or "all"
        result[name] = {
            "agentgym_median_us": round(o, 2),
            "bare_env_median_us": round(b, 2),
            "ratio": round(o / b, 3),
        }
    result["mean_per_step_ratio"] = round(sum(t for _, t in ours) / sum(t for _, t in bare), 3)
    result["targets"] = {"all.ratio_max": 3.0, "all.agentgym_median_us_max": 50.0}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
