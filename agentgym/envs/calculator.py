"""`agentgym/Calculator-v0`: arithmetic word problems solved with a calculator tool.

Problems are generated from a seed: a starting quantity changed by 1–5 operations (the
difficulty), with distractor numbers that play no part in the answer. The expert writes the
whole computation as one calculator call, then answers with the result.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction
from typing import Any

import numpy as np

from agentgym.core.env import Task
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.errors import InvalidConfig
from agentgym.tools.base import ToolCall
from agentgym.tools.calculator import calculator

__all__ = ["CalculatorEnv", "generate_problem", "parse_number"]

NAMES = ["Mia", "Noah", "Ava", "Liam", "Zoe", "Omar", "Ines", "Kenji", "Lena", "Ravi", "Sofia", "Tomas"]
ITEMS = ["apples", "marbles", "stamps", "coins", "books", "shells", "pencils", "cards", "stickers", "beads"]
DISTRACTORS = [
    "{other} is {n} years old.",
    "The shop is {n} minutes away from home.",
    "{other} has {n} pets at home.",
    "It rained on {n} days last month.",
    "The bus ticket costs {n} euros.",
]


def _op_sentence(kind: str, name: str, item: str, n: int, other: str) -> str:
    return {
        "add": f"Then {name} gets {n} more {item} from {other}.",
        "sub": f"Then {name} gives {n} {item} to {other}.",
        "mul": f"Then {name}'s number of {item} becomes {n} times as large.",
        "div": f"Then {name} shares the {item} equally among {n} boxes and keeps one box.",
    }[kind]


def generate_problem(rng: np.random.Generator, difficulty: int, distractors: int) -> tuple[str, str, int]:
    """Return (question, expression, answer) for `difficulty` operations."""
    name, other = (str(x) for x in rng.choice(NAMES, size=2, replace=False))
    item = str(rng.choice(ITEMS))
    value = int(rng.integers(5, 60))
    expr = str(value)
    sentences = [f"{name} has {value} {item}."]
    for _ in range(difficulty):
        kinds = ["add", "sub", "mul"] if value < 2000 else ["sub", "div"]
        divisors = [d for d in range(2, 10) if value % d == 0]
        if divisors:
            kinds.append("div")
        kind = str(rng.choice(kinds))
        if kind == "add":
            n = int(rng.integers(2, 90))
            value, expr = value + n, f"({expr} + {n})"
        elif kind == "sub":
            n = int(rng.integers(1, max(2, value)))
            value, expr = value - n, f"({expr} - {n})"
        elif kind == "mul":
            n = int(rng.integers(2, 6))
            value, expr = value * n, f"({expr} * {n})"
        else:
            n = int(rng.choice(divisors))
            value, expr = value // n, f"({expr} / {n})"
        sentences.append(_op_sentence(kind, name, item, n, other))
    for _ in range(distractors):
        pos = int(rng.integers(1, len(sentences) + 1))
        sentences.insert(pos, str(rng.choice(DISTRACTORS)).format(other=other, n=int(rng.integers(2, 99))))
    question = " ".join(sentences) + f" How many {item} does {name} have now?"
    expr = expr[1:-1] if expr.startswith("(") else expr
    return question, expr, value


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")


def parse_number(text: str) -> Fraction | None:
    """The last number in `text` (commas allowed, `p/q` allowed), or None."""
    found = _NUMBER.findall(text or "")
    if not found:
        return None
    try:
        return Fraction(found[-1].replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return None


class CalculatorEnv(ToolEnv):
    """Arithmetic word problems with a `calculator` tool; reward 1 for the exact number."""

    instructions = (
        "Solve the arithmetic word problem. Use the calculator tool for arithmetic, "
        "then give the final number as the answer."
    )
    default_max_turns = 4

    def __init__(
        self,
        *,
        difficulty: int | tuple[int, int] = (1, 3),
        distractors: int = 1,
        tolerance: float = 1e-6,
        **kwargs: Any,
    ):
        pair = (difficulty, difficulty) if isinstance(difficulty, int) else tuple(difficulty)
        if len(pair) != 2 or not all(isinstance(d, int) for d in pair) or not 1 <= pair[0] <= pair[1] <= 5:
            raise InvalidConfig(
                f"difficulty must be an int or a (lo, hi) range within 1..5, got {difficulty!r}"
            )
        lo, hi = pair
        if distractors < 0:
            raise InvalidConfig(f"distractors must be >= 0, got {distractors}")
        super().__init__(tools=[calculator], **kwargs)
        self.difficulty = (int(lo), int(hi))
        self.distractors = distractors
        self.tolerance = tolerance
        self._calc_result: str | None = None

    def sample_task(self, rng: np.random.Generator) -> Task:
        d = int(rng.integers(self.difficulty[0], self.difficulty[1] + 1))
        k = int(rng.integers(0, self.distractors + 1))
        question, expr, answer = generate_problem(rng, d, k)
        tid = f"calc-d{d}-" + hashlib.sha1(question.encode()).hexdigest()[:10]
        return Task(tid, question, answer=answer, meta={"difficulty": d}, private={"expression": expr})

    def get_task(self, task_id: str) -> Task:
        raise KeyError(
            f"Calculator tasks are generated from seeds; use reset(seed=...) instead of id {task_id!r}"
        )

    def score_answer(self, answer: str, task: Task) -> Score:
        if answer.strip() == str(task.answer):  # the common exact case, without Fraction parsing
            return Score(reward=1.0, score=1.0, success=True)
        got = parse_number(answer)
        want = Fraction(task.answer)
        ok = got is not None and (
            got == want or abs(float(got) - float(want)) <= self.tolerance * max(1.0, abs(float(want)))
        )
        return Score(reward=1.0 if ok else 0.0, score=1.0 if ok else 0.0, success=bool(ok))

    def extra_state(self) -> dict[str, Any]:
        return {"calc_result": self._calc_result}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._calc_result = state.get("calc_result")

    def on_tool_results(self, calls, results) -> None:
        for c, r in zip(calls, results, strict=True):
            if (
                c.name == "calculator"
                and r.ok
                and c.arguments.get("expression") == self.task.private["expression"]
            ):
                self._calc_result = r.content

    def oracle_action(self) -> str:
        assert self.task is not None, "call reset() first"
        if self._calc_result is None:
            return self.parser.format_call(
                ToolCall("calculator", {"expression": self.task.private["expression"]})
            )
        return self.parser.format_answer(self._calc_result)
