"""`agentgym/Code-v0`: write a Python function that passes hidden unit tests.

The agent may experiment with a `python` tool (a persistent sandboxed interpreter, one per
episode) and answers with a code block. The reward is the fraction of hidden tests the answer
passes, graded in a fresh sandboxed program; passing all of them is success.

Forking: an interpreter process cannot be deep-copied, so a fork records the cells that built
the current interpreter state and replays them into a new session the first time the fork
runs code (lazily, so forks that never touch the interpreter cost nothing). Effects outside
the interpreter that are not a function of the cells (time, randomness without a seed) may
differ in the replayed copy.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.core.env import Env, Task
from agentgym.core.parsing import make_parser
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.envs.code.generated import generate_task
from agentgym.envs.code.grader import extract_code, grade
from agentgym.envs.code.loaders import load_humaneval, load_humaneval_jsonl, load_mbpp_jsonl
from agentgym.errors import InvalidConfig
from agentgym.tools.base import ToolCall, Toolset
from agentgym.tools.python_tool import python_tool
from agentgym.tools.sandbox import Sandbox, make_sandbox
from agentgym.tools.sandbox.session import InterpreterSession

__all__ = ["CodeEnv", "load_tasks"]

log = logging.getLogger(__name__)


def load_tasks(
    tasks: str | Path | Sequence[Task | dict[str, Any]], *, split: bool = False
) -> list[Task] | None:
    """Resolve the `tasks=` argument; None means the generated set (`split`: per-assert HumanEval tests)."""
    if isinstance(tasks, (str, Path)):
        name = str(tasks)
        if name == "generated":
            return None
        if name == "humaneval":
            return load_humaneval(split=split)
        if name.startswith("mbpp:"):
            return load_mbpp_jsonl(name[5:])
        if name.startswith("humaneval:"):
            return load_humaneval_jsonl(name[10:], split=split)
        if Path(name).exists():
            with open(name, encoding="utf-8") as f:
                head = f.readline()
            return load_mbpp_jsonl(name) if '"test_list"' in head else load_humaneval_jsonl(name, split=split)
        raise InvalidConfig(
            f"tasks must be 'generated', 'humaneval', a JSONL path, 'mbpp:PATH', 'humaneval:PATH' or a list of tasks; got {name!r}"
        )
    out = [t if isinstance(t, Task) else Task.from_dict(t) for t in tasks]
    if not out:
        raise InvalidConfig("tasks is an empty list; pass at least one task")
    return out


class _Shared:
    """A sandbox shared by an env and its forks; closed when the last of them closes."""

    def __init__(self, sandbox: Sandbox, owned: bool):
        self.sandbox, self.owned, self.refs = sandbox, owned, 1

    def release(self) -> None:
        self.refs -= 1
        if self.refs == 0 and self.owned:
            self.sandbox.close()


class CodeEnv(ToolEnv):
    """Write a function that passes hidden tests; a sandboxed `python` tool is available.

    Args:
        tasks: "generated" (default), "humaneval", a HumanEval/MBPP JSONL path ("mbpp:PATH" and
            "humaneval:PATH" force the format), or a list of `Task`s / task dicts.
        difficulty: level or (lo, hi) range, 1..4, of the generated set.
        backend: sandbox backend when `sandbox` is not given ("process" or "docker").
        sandbox: a sandbox to share (the env then does not close it).
        test_timeout: seconds per hidden test.
        split_tests: count each assert of a HumanEval `check` as its own test (partial credit).
        sandbox_options: limits/options for `make_sandbox` (default timeout 10 s per cell).
    """

    instructions = (
        "Write a Python function that solves the task. You may run code with the python tool (a persistent "
        "sandboxed interpreter) to test ideas. Give your final solution as a complete ```python code block "
        "inside the answer."
    )
    default_max_turns = 6

    def __init__(
        self,
        *,
        tasks: str | Path | Sequence[Task | dict[str, Any]] = "generated",
        difficulty: int | tuple[int, int] = (1, 4),
        backend: str = "process",
        sandbox: Sandbox | None = None,
        test_timeout: float = 5.0,
        split_tests: bool = False,
        sandbox_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        lo, hi = (difficulty, difficulty) if isinstance(difficulty, int) else tuple(difficulty)
        if not 1 <= lo <= hi <= 4:
            raise InvalidConfig(
                f"difficulty must be an int or (lo, hi) range within 1..4, got {difficulty!r}"
            )
        self.difficulty = (int(lo), int(hi))
        self.tasks = load_tasks(tasks, split=split_tests)
        self._by_id = {t.id: t for t in self.tasks or []}
        self.test_timeout = test_timeout
        options = {"timeout": 10.0, **(sandbox_options or {})}
        self._shared = _Shared(sandbox or make_sandbox(backend, **options), owned=sandbox is None)
        self._session: InterpreterSession | None = None
        self._pending: list[str] = []
        self._tried = False
        super().__init__(tools=[python_tool(self._current_session)], **kwargs)

    @property
    def sandbox(self) -> Sandbox:
        return self._shared.sandbox

    # ------------------------------------------------------------------ sessions
    def _current_session(self) -> InterpreterSession:
        """This episode's interpreter, started (and rebuilt from recorded cells) on first use."""
        if self._session is None:
            self._session = self.sandbox.session()  # type: ignore[assignment]
            pending, self._pending = self._pending, []
            for result in self._session.replay(pending):
                if result.state_lost:
                    log.warning("replaying a forked session lost state: %s", result.stderr)
        return self._session

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self._pending = []

    # ------------------------------------------------------------------ ToolEnv hooks
    def sample_task(self, rng: np.random.Generator) -> Task:
        if self.tasks is None:
            return generate_task(rng, self.difficulty)
        return self.tasks[int(rng.integers(len(self.tasks)))]

    def get_task(self, task_id: str) -> Task:
        if task_id not in self._by_id:
            raise KeyError(f"unknown Code-v0 task id {task_id!r}; generated tasks come from reset(seed=...)")
        return self._by_id[task_id]

    def score_answer(self, answer: str, task: Task) -> Score:
        g = grade(self.sandbox, extract_code(answer), task, test_timeout=self.test_timeout)
        extra = {"tests_passed": g.passed, "tests_total": g.total, "test_errors": g.errors[:5]}
        return Score(reward=g.fraction, score=g.fraction, success=g.success, extra=extra)

    def on_tool_results(self, calls, results) -> None:
        if any(c.name == "python" for c in calls):
            self._tried = True

    def extra_state(self) -> dict[str, Any]:
        cells = list(self._session.cells) if self._session is not None else list(self._pending)
        return {"cells": cells, "tried": self._tried}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._drop_session()
        self._pending = list(state.get("cells", []))
        self._tried = bool(state.get("tried", False))

    def oracle_action(self) -> str:
        """Try the reference solution once in the interpreter, then answer with it."""
        assert self.task is not None, "call reset() first"
        solution = self.task.private["solution"]
        if not self._tried:
            example = self.task.private.get("example")
            code = solution + (f"\nprint({example})\n" if example else "")
            return self.parser.format_call(ToolCall("python", {"code": code}))
        return self.parser.format_answer(f"```python\n{solution}\n```")

    # ------------------------------------------------------------------ lifecycle
    def fork_unwrapped(self) -> Env:
        """A copy at the same state with its own interpreter (rebuilt lazily from the cells)."""
        state = copy.deepcopy(self.state_dict())
        clone = copy.copy(self)
        clone._session, clone._pending = None, []
        clone._shared.refs += 1
        clone._bind_tools()
        clone.load_state_dict(state)
        if self._np_random is not None:
            clone._np_random = copy.deepcopy(self._np_random)
        return clone

    def _bind_tools(self) -> None:
        """Point the `python` tool at this object's session (a fork must not share its parent's)."""
        self.toolset = Toolset([python_tool(self._current_session)])
        self.parser = make_parser(self.action_format, self.toolset, answer_tag=self.parser.answer_tag)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        self._drop_session()
        return super().reset(seed=seed, options=options)

    def close(self) -> None:
        self._drop_session()
        if self._shared.refs > 0:
            self._shared.release()
        super().close()
