"""`ToolEnv`: the shared turn loop of tool-using tasks.

A subclass supplies tasks (`sample_task`), scoring (`score_answer`) and an expert
(`oracle_action`); parsing, tool dispatch, observation formatting, format penalties and
`max_turns` truncation live here. A malformed action or failing tool is data: it produces an
observation that says what was wrong, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym.core.env import Env, Task
from agentgym.core.parsing import ActionParser, make_parser
from agentgym.errors import InvalidConfig
from agentgym.tools.base import Tool, ToolCall, ToolResult, Toolset

__all__ = ["Score", "ToolEnv"]


@dataclass
class Score:
    """The grade of a final answer: `reward` goes to the agent, `score` is the task metric."""

    reward: float
    score: float
    success: bool
    extra: dict[str, Any] = field(default_factory=dict)


class ToolEnv(Env):
    """Base for multi-turn tool tasks: override `sample_task`, `score_answer`, `oracle_action`."""

    instructions: str = "Solve the task."
    default_max_turns: int = 8

    def __init__(
        self,
        *,
        tools: Sequence[Tool] = (),
        action_format: str = "xml",
        max_turns: int | None = None,
        format_penalty: float = 0.0,
        max_action_chars: int = 32_000,
        max_observation_chars: int = 8_000,
        answer_tag: str = "answer",
        render_mode: str | None = None,
    ):
        if max_turns is not None and max_turns < 1:
            raise InvalidConfig(f"max_turns must be >= 1, got {max_turns}")
        if format_penalty < 0:
            raise InvalidConfig(
                f"format_penalty is subtracted from the reward, so it must be >= 0; got {format_penalty}"
            )
        self.toolset = Toolset(tools)
        self.action_format = action_format
        self.parser: ActionParser = make_parser(action_format, self.toolset, answer_tag=answer_tag)
        self.max_turns = max_turns or self.default_max_turns
        self.format_penalty = float(format_penalty)
        self.max_action_chars = max_action_chars
        self.max_observation_chars = max_observation_chars
        self.render_mode = render_mode
        self.task: Task | None = None
        self.turn = 0
        self.done = False
        self.history: list[dict[str, Any]] = []
        self._last_observation = ""

    # ----------------------------------------------------------------- hooks for subclasses
    def sample_task(self, rng: np.random.Generator) -> Task:
        """Draw a task; the seed passed to `reset` fixes `rng`."""
        raise NotImplementedError

    def get_task(self, task_id: str) -> Task:
        """Look a task up by id (for `reset(options={"task": id})`)."""
        raise KeyError(f"{type(self).__name__} cannot look tasks up by id ({task_id!r}); pass a task dict")

    def score_answer(self, answer: str, task: Task) -> Score:
        raise NotImplementedError

    def task_observation(self, task: Task) -> str:
        """The first observation of an episode."""
        return task.prompt

    def extra_state(self) -> dict[str, Any]:
        """Subclass state beyond the shared turn loop (for forking)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what `extra_state` returned."""

    def on_tool_results(self, calls: Sequence[ToolCall], results: Sequence[ToolResult]) -> None:
        """Called after each tool turn (e.g. to count searches)."""

    def final_info(self) -> dict[str, Any]:
        """Extra `info` keys for the last step of an episode."""
        return {}

    # ----------------------------------------------------------------- Gymnasium API
    @property
    def system_prompt(self) -> str:  # type: ignore[override]
        return (
            f"{self.instructions}\n\nTools:\n{self.toolset.describe()}\n\n{self.parser.usage()} "
            f"You have at most {self.max_turns} turns."
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        pinned = (options or {}).get("task")
        if pinned is None:
            self.task = self.sample_task(self.np_random)
        elif isinstance(pinned, Task):
            self.task = pinned
        elif isinstance(pinned, dict):
            self.task = Task.from_dict(pinned) if "prompt" in pinned else self.get_task(str(pinned["id"]))
        else:
            self.task = self.get_task(str(pinned))
        self.turn = 0
        self.done = False
        self.history = []
        self.load_extra_state({})
        obs = self.task_observation(self.task)
        self._last_observation = obs
        return obs, {"task": self.task.public(), "tools": self.toolset.openai_schemas(), "turn": 0}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        info: dict[str, Any] = {"tool_calls": [], "tool_results": [], "parse_error": None, "answer": None}
        if self.done:
            info.update(turn=self.turn, error="the episode is over; call reset()")
            return "The episode is over; call reset() to start a new one.", 0.0, True, False, info
        self.turn += 1
        info["turn"] = self.turn
        reward, terminated = 0.0, False
        if not isinstance(action, str):
            parsed_error = f"an action must be text, got {type(action).__name__}"
            parsed = None
        elif len(action) > self.max_action_chars:
            parsed_error = f"action too long ({len(action)} characters; limit {self.max_action_chars})"
            parsed = None
        else:
            parsed = self.parser.parse(action)
            parsed_error = parsed.error
        if parsed_error is not None or parsed is None:
            info["parse_error"] = info["error"] = parsed_error
            obs = f"Invalid action: {parsed_error}. {self.parser.usage()}"
            reward = -self.format_penalty
        elif parsed.answer is not None:
            info["answer"] = parsed.answer
            grade = self.score_answer(parsed.answer, self.task)
            reward += grade.reward
            terminated = True
            info.update(score=grade.score, success=grade.success, **grade.extra)
            obs = "Answer received."
        else:
            results = self.toolset.call_many(parsed.tool_calls)
            self.on_tool_results(parsed.tool_calls, results)
            info["tool_calls"] = [c.to_dict() for c in parsed.tool_calls]
            info["tool_results"] = [r.to_dict() for r in results]
            errors = [r.error for r in results if r.error]
            if errors:
                info["error"] = "; ".join(errors)
            obs = self.parser.wrap_observation(
                [(c, self._clip(r.render())) for c, r in zip(parsed.tool_calls, results, strict=True)]
            )
        truncated = not terminated and self.turn >= self.max_turns
        if truncated:
            info.update(score=0.0, success=False, truncation="max_turns")
        if terminated or truncated:
            self.done = True
            info.update(self.final_info())
        self.history.append(
            {"action": action if isinstance(action, str) else repr(action), "observation": obs}
        )
        self._last_observation = obs
        return obs, float(reward), terminated, truncated, info

    def _clip(self, text: str) -> str:
        if len(text) <= self.max_observation_chars:
            return text
        return (
            text[: self.max_observation_chars]
            + f"\n[... truncated {len(text) - self.max_observation_chars} characters]"
        )

    # ----------------------------------------------------------------- forking
    def state_dict(self) -> dict[str, Any]:
        return {
            "task": None if self.task is None else self.task.to_dict(),
            "turn": self.turn,
            "done": self.done,
            "history": [dict(h) for h in self.history],
            "last_observation": self._last_observation,
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.task = None if state["task"] is None else Task.from_dict(state["task"])
        self.turn = int(state["turn"])
        self.done = bool(state["done"])
        self.history = [dict(h) for h in state["history"]]
        self._last_observation = state.get("last_observation", "")
        self.load_extra_state(state.get("extra", {}))

    def render(self) -> str | None:
        return self._last_observation

    def __repr__(self) -> str:
        spec = getattr(self, "spec", None)
        return f"<{type(self).__name__} {spec.id if spec else ''} format={self.action_format} turns={self.max_turns}>"
