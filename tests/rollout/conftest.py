"""Fixtures for rollout tests: the tiny policy and a second toy env with a different tool."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import agentgym
from agentgym.core.env import Task
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.tools.base import ToolCall, tool

WORDS = ["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "eagle"]


@tool
def reverse(text: str) -> str:
    """Reverse a piece of text."""
    return text[::-1]


class ReverseEnv(ToolEnv):
    """Reverse a word with the `reverse` tool, then answer it (a second multi-turn env)."""

    instructions = "Reverse the given word. Use the reverse tool, then answer with the result."
    default_max_turns = 3

    def __init__(self, **kw: Any):
        super().__init__(tools=[reverse], **kw)
        self._seen: str | None = None

    def sample_task(self, rng: np.random.Generator) -> Task:
        w = str(rng.choice(WORDS)) + str(rng.choice(WORDS))
        return Task(f"rev-{w}", f"Word: {w}", answer=w[::-1])

    def score_answer(self, answer: str, task: Task) -> Score:
        ok = answer.strip() == task.answer
        return Score(float(ok), float(ok), ok)

    def extra_state(self) -> dict[str, Any]:
        return {"seen": self._seen}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._seen = state.get("seen")

    def on_tool_results(self, calls, results) -> None:
        self._seen = results[0].content if results and results[0].ok else self._seen

    def oracle_action(self) -> str:
        assert self.task is not None
        if self._seen is None:
            return self.parser.format_call(ToolCall("reverse", {"text": self.task.prompt.split(": ", 1)[1]}))
        return self.parser.format_answer(self._seen)


agentgym.register("ToyReverse-v0", ReverseEnv, description="test-only reverse-a-word env", tools=("reverse",))


@pytest.fixture(scope="session")
def tiny_policy():
    from agentgym.llm import load_policy

    return load_policy("tiny", device="cpu")
