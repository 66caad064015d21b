"""Sparse-reward question games: `agentgym/GuessNumber-v0` and `agentgym/TwentyQuestions-v0`.

Both reward only the final answer (1 if right, else 0), and the optimal policy needs several
informative turns first, so they test turn-level credit assignment (ArCHer, IGPO, GiGPO).

- GuessNumber: find a secret integer in [low, high]; `<guess>N</guess>` answers "higher",
  "lower" or "correct"; the expert is binary search (⌈log₂(high − low + 1)⌉ guesses at most).
- TwentyQuestions: find a secret entity among `num_candidates` entities of a generated world
  (`agentgym.envs.worlds`), listed in the prompt; `<ask>type = city</ask>` or
  `<ask>founded_year < 1500</ask>` is answered yes/no; the expert asks the question that splits
  the remaining candidates most evenly.

The game tools read the episode's secret, so they are bound to one env instance; `fork` rebinds
them to the copy.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

import numpy as np

from agentgym.core.env import Env, Task
from agentgym.core.parsing import make_parser
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.errors import InvalidConfig
from agentgym.tools.base import FunctionTool, ToolCall, ToolResult, Toolset

__all__ = ["GuessNumberEnv", "TwentyQuestionsEnv"]


class _GameEnv(ToolEnv):
    """A ToolEnv whose tools are bound methods of the instance (rebound on fork)."""

    def __init__(self, **kwargs: Any):
        super().__init__(tools=self._make_tools(), **kwargs)

    def _make_tools(self) -> list[FunctionTool]:
        raise NotImplementedError

    def _bind_tools(self) -> None:
        self.toolset = Toolset(self._make_tools())
        self.parser = make_parser(self.action_format, self.toolset, answer_tag=self.parser.answer_tag)

    def fork_unwrapped(self) -> Env:
        new = super().fork_unwrapped()
        assert isinstance(new, _GameEnv)
        new._bind_tools()
        return new


class GuessNumberEnv(_GameEnv):
    """Find a secret integer with higher/lower feedback; reward 1 for the right final answer."""

    instructions = (
        "Find the secret whole number. Guess with the guess tool: it says whether the secret is higher, "
        "lower, or correct. When you know the number, give it as the answer."
    )

    def __init__(self, *, low: int = 1, high: int = 100, **kwargs: Any):
        if high <= low:
            raise InvalidConfig(f"GuessNumber needs low < high, got low={low}, high={high}")
        self.low, self.high = int(low), int(high)
        self.bits = math.ceil(math.log2(self.high - self.low + 1))
        kwargs.setdefault("max_turns", self.bits + 2)
        super().__init__(**kwargs)
        self._lo, self._hi, self._found = self.low, self.high, False

    def _make_tools(self) -> list[FunctionTool]:
        def guess(number: str) -> ToolResult:
            """Compare a guess with the secret number.

            Args:
                number: a whole number.
            """
            return self._guess(number)

        return [FunctionTool(guess, timeout=None)]

    def _guess(self, number: str) -> ToolResult:
        assert self.task is not None
        try:
            n = int(str(number).strip())
        except ValueError:
            return ToolResult(error=f"guess takes a whole number, got {str(number)[:40]!r}")
        if not self.low <= n <= self.high:
            return ToolResult(error=f"the secret is between {self.low} and {self.high}; {n} is outside")
        secret = int(self.task.answer)
        verdict = "correct" if n == secret else ("higher" if secret > n else "lower")
        text = {
            "correct": f"{n} is correct.",
            "higher": f"The secret is higher than {n}.",
            "lower": f"The secret is lower than {n}.",
        }[verdict]
        return ToolResult(content=text, data={"guess": n, "verdict": verdict})

    def sample_task(self, rng: np.random.Generator) -> Task:
        secret = int(rng.integers(self.low, self.high + 1))
        prompt = f"I am thinking of a whole number between {self.low} and {self.high}. Find it."
        return Task(
            f"guess-{self.low}-{self.high}-{secret}",
            prompt,
            answer=secret,
            meta={"low": self.low, "high": self.high},
        )

    def get_task(self, task_id: str) -> Task:
        m = re.fullmatch(r"guess-(-?\d+)-(-?\d+)-(-?\d+)", task_id)
        if not m or (int(m[1]), int(m[2])) != (self.low, self.high):
            raise KeyError(f"expected a task id guess-{self.low}-{self.high}-<secret>, got {task_id!r}")
        return Task(
            task_id,
            f"I am thinking of a whole number between {self.low} and {self.high}. Find it.",
            answer=int(m[3]),
            meta={"low": self.low, "high": self.high},
        )

    def score_answer(self, answer: str, task: Task) -> Score:
        found = re.findall(r"-?\d+", answer or "")
        ok = bool(found) and int(found[-1]) == int(task.answer)
        return Score(reward=float(ok), score=float(ok), success=ok, extra={"guesses": self.turn - 1})

    def on_tool_results(self, calls, results) -> None:
        for r in results:
            if r.ok and isinstance(r.data, dict):
                n, v = r.data["guess"], r.data["verdict"]
                if v == "correct":
                    self._lo = self._hi = n
                    self._found = True
                elif v == "higher":
                    self._lo = max(self._lo, n + 1)
                else:
                    self._hi = min(self._hi, n - 1)

    def extra_state(self) -> dict[str, Any]:
        return {"lo": self._lo, "hi": self._hi, "found": self._found}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._lo, self._hi = int(state.get("lo", self.low)), int(state.get("hi", self.high))
        self._found = bool(state.get("found", False))

    def oracle_action(self) -> str:
        if self._found or self._lo == self._hi:
            return self.parser.format_answer(str(self._lo))
        return self.parser.format_call(ToolCall("guess", {"number": str((self._lo + self._hi) // 2)}))


_QUESTION = re.compile(r"^\s*([A-Za-z_]+)\s*(=|<|>)\s*(.+?)\s*$")


def _entity_features(world: Any, entity: Any) -> dict[str, Any]:
    """Askable features of an entity: its type, attributes and relations (by the related name)."""
    feats: dict[str, Any] = {"type": entity.type, "name": entity.name}
    feats.update({k: v for k, v in entity.attrs.items() if isinstance(v, (int, float, str))})
    for rel, target in entity.rels.items():
        feats[rel] = world.entity(target).name
    return feats


def _holds(feats: dict[str, Any], attr: str, op: str, value: str) -> bool:
    have = feats.get(attr)
    if have is None:
        return False
    if op == "=":
        return str(have).strip().lower() == value.strip().lower()
    try:
        x, y = float(have), float(value)
    except (TypeError, ValueError):
        return False
    return x < y if op == "<" else x > y


class TwentyQuestionsEnv(_GameEnv):
    """Find a secret entity of a generated world with yes/no questions about its features."""

    instructions = (
        "Find the secret entity among the candidates. Ask yes/no questions with the ask tool, written as "
        "`feature = value`, `feature < number` or `feature > number` (features: type, attributes such as "
        "founded_year, and relations such as country). Then answer with the entity's name."
    )
    default_max_turns = 12

    def __init__(
        self, *, num_candidates: int = 16, world_seed: int = 0, world_docs: int = 200, **kwargs: Any
    ):
        if num_candidates < 2:
            raise InvalidConfig(f"num_candidates must be >= 2, got {num_candidates}")
        from agentgym.envs.worlds import get_world

        self.world = get_world(world_seed, world_docs, disk=False)
        self.num_candidates = num_candidates
        self._features = {e.id: _entity_features(self.world, e) for e in self.world.entities}
        kwargs.setdefault(
            "max_turns", max(self.default_max_turns, 2 * math.ceil(math.log2(num_candidates)) + 2)
        )
        super().__init__(**kwargs)
        self._remaining: list[str] = []

    def _make_tools(self) -> list[FunctionTool]:
        def ask(question: str) -> ToolResult:
            """Ask a yes/no question about the secret entity.

            Args:
                question: `feature = value`, `feature < number` or `feature > number`.
            """
            return self._ask(question)

        return [FunctionTool(ask, timeout=None)]

    def _ask(self, question: str) -> ToolResult:
        assert self.task is not None
        m = _QUESTION.match(str(question))
        if not m:
            return ToolResult(
                error=f"write a question as `feature = value` or `feature < number`, got {question[:60]!r}"
            )
        attr, op, value = m[1].lower(), m[2], m[3]
        answer = _holds(self._features[self.task.private["entity"]], attr, op, value)
        return ToolResult(content="Yes." if answer else "No.", data={"q": [attr, op, value], "yes": answer})

    def sample_task(self, rng: np.random.Generator) -> Task:
        ents = self.world.entities
        picks = rng.choice(len(ents), size=min(self.num_candidates, len(ents)), replace=False)
        cands = [ents[int(i)] for i in picks]
        secret = cands[int(rng.integers(len(cands)))]
        names = ", ".join(e.name for e in cands)
        digest = hashlib.sha1(" ".join(e.id for e in cands).encode()).hexdigest()[:10]
        return Task(
            f"20q-{secret.id}-{digest}",
            f"Candidates: {names}.",
            answer=secret.name,
            meta={"candidates": [e.name for e in cands]},
            private={"entity": secret.id, "candidates": [e.id for e in cands]},
        )

    def score_answer(self, answer: str, task: Task) -> Score:
        ok = (answer or "").strip().lower() == str(task.answer).lower()
        return Score(reward=float(ok), score=float(ok), success=ok, extra={"questions": self.turn - 1})

    def on_tool_results(self, calls, results) -> None:
        remaining = self._remaining or list(self.task.private["candidates"])
        for r in results:
            if r.ok and isinstance(r.data, dict):
                attr, op, value = r.data["q"]
                remaining = [
                    e for e in remaining if _holds(self._features[e], attr, op, value) == r.data["yes"]
                ]
        self._remaining = remaining

    def extra_state(self) -> dict[str, Any]:
        return {"remaining": list(self._remaining)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._remaining = list(state.get("remaining", []))

    def oracle_action(self) -> str:
        assert self.task is not None
        remaining = self._remaining or list(self.task.private["candidates"])
        if len(remaining) == 1:
            return self.parser.format_answer(self.world.entity(remaining[0]).name)
        return self.parser.format_call(ToolCall("ask", {"question": self._best_question(remaining)}))

    def _best_question(self, remaining: list[str]) -> str:
        """The equality question whose yes-set is closest to half of the remaining candidates."""
        best, best_gap = "", len(remaining)
        for eid in remaining:
            for attr, value in sorted(self._features[eid].items()):
                yes = sum(_holds(self._features[e], attr, "=", str(value)) for e in remaining)
                gap = abs(len(remaining) - 2 * yes)
                if 0 < yes < len(remaining) and gap < best_gap:
                    best, best_gap = f"{attr} = {value}", gap
        return best or f"name = {self.world.entity(remaining[0]).name}"
