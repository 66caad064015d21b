"""`agentgym/ScienceWorld-v0`: ScienceWorld's 30 elementary-science tasks.

The `scienceworld` package runs its simulator in a JVM (Java >= 11) that ships as a jar; each
env owns one JVM (about 185 MB), started on first reset and reused across episodes. Tasks are
named (``boil``, ``find-animal``, ...) or numbered 0..29 in ScienceWorld's order; each has
train/dev/test variation splits; the seed picks the task (when not pinned) and the variation.

Reward is the score change divided by 100 (ScienceWorld scores 0..100); the episode ends when
the task is completed (won, score 100) or failed (a negative score, e.g. focusing on the wrong
object). `info["valid_actions"]` lists ScienceWorld's valid action-object combinations. The
expert follows the simulator's gold path. Without ``max_turns`` an episode may last
``max(40, 2 x gold path length + 10)`` turns, capped at 300.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from agentgym.core.env import Task
from agentgym.envs.textgames.base import GameBackend, GameStep, TextGameEnv, state_key
from agentgym.errors import EnvNotAvailable, InvalidConfig, did_you_mean

__all__ = ["SPLITS", "ScienceWorldBackend", "ScienceWorldEnv", "canonical_text"]

log = logging.getLogger(__name__)
SPLITS: tuple[str, ...] = ("train", "dev", "test")
_VARIATIONS: dict[tuple[str, str], list[int]] = {}  # (task, split) -> variation ids, same for every JVM


def canonical_text(text: str) -> str:
    """Sort each run of tab-indented item lines.

    ScienceWorld lists the contents of a room in an order that changes from one reset to the
    next; sorting the item lines makes observations (and anchors) a function of the state.
    """
    out: list[str] = []
    run: list[str] = []
    for line in str(text).split("\n"):
        if line.startswith("\t"):
            run.append(line)
            continue
        out += sorted(run)
        run = []
        out.append(line)
    return "\n".join(out + sorted(run))


class ScienceWorldBackend(GameBackend):
    """One ScienceWorld JVM."""

    def __init__(self, simplification: str = "", reproducible: bool = True) -> None:
        super().__init__()
        self.simplification = simplification
        self.reproducible = reproducible
        self._sim: Any = None
        self._used = False
        self._start()
        self.task_names: list[str] = list(self._sim.get_task_names())
        self._gold: list[str] = []

    def _start(self) -> None:
        try:
            from scienceworld import ScienceWorldEnv as _Sim
        except ImportError as exc:
            raise EnvNotAvailable(
                f"ScienceWorld needs the `scienceworld` package: pip install 'agentgym[textworld]' ({exc})"
            ) from exc
        self.close()
        try:
            self._sim = _Sim("", envStepLimit=1_000_000)
        except Exception as exc:  # py4j / JVM start-up failures come in many types
            raise EnvNotAvailable(
                f"could not start ScienceWorld's JVM; it needs Java >= 11 on PATH ({exc})"
            ) from exc
        self._used = False

    def variations(self, task_name: str, split: str) -> list[int]:
        key = (task_name, split)
        if key not in _VARIATIONS:
            self._sim.load(task_name, 0, self.simplification)
            self._used = True
            getter = {
                "train": "get_variations_train",
                "dev": "get_variations_dev",
                "test": "get_variations_test",
            }[split]
            _VARIATIONS[key] = list(getattr(self._sim, getter)())
            self.task_id = None  # the engine no longer holds the last episode
        return _VARIATIONS[key]

    def _load(self, task: Task) -> GameStep:
        # The simulator names and orders objects by a counter that runs across loads of one JVM,
        # so an episode is reproducible only in a JVM that has loaded nothing before it.
        if self.reproducible and self._used:
            self._start()
        self._used = True
        self._sim.load(
            task.meta["task"], int(task.meta["variation"]), self.simplification, generateGoldPath=True
        )
        obs, info = self._sim.reset()
        self._gold = list(self._sim.get_gold_action_sequence())
        first = self._snapshot(obs, info)
        first.feedback = f"{self._sim.get_task_description().strip()}\n\n{first.feedback}"
        return first

    def _step(self, command: str) -> GameStep:
        obs, _, _, info = self._sim.step(command)
        return self._snapshot(obs, info)

    def _snapshot(self, obs: str, info: dict[str, Any]) -> GameStep:
        score = float(info["score"])
        valid = sorted(info.get("valid") or [])
        return GameStep(
            feedback=canonical_text(obs).strip(),
            score=score,
            max_score=100.0,
            won=score >= 100,
            lost=score < 0,
            moves=int(info["moves"]),
            admissible=valid,
            anchor=state_key(canonical_text(info.get("look", "")), canonical_text(info.get("inv", ""))),
            extra={"valid_actions": valid},
        )

    def gold_path(self) -> list[str]:
        return list(self._gold)

    def oracle(self) -> str | None:
        gold, n = self._gold, len(self.commands)
        if n < len(gold) and self.commands == gold[:n]:
            return gold[n]
        return "look around"

    def close(self) -> None:
        sim, self._sim = self._sim, None
        if sim is not None:
            sim.close()


class ScienceWorldEnv(TextGameEnv):
    """ScienceWorld tasks with their variation splits.

    Args:
        task: a task name or index 0..29; None lets the seed pick one of the 30 tasks.
        split: "train", "dev" or "test" variations.
        variation: pin one variation id (else the seed picks one from the split).
        simplification: ScienceWorld simplifications, e.g. "easy" (comma-separated).
        reproducible: start a fresh JVM for every episode (about 1 s), because ScienceWorld
            names and orders objects differently on each load within one JVM; False reuses
            the JVM (faster resets; same seed and actions may then give other text).
        **kwargs: `TextGameEnv` options; the admissible list is long here, so `show_admissible`
            defaults to False (the list is always in `info["valid_actions"]`).
    """

    instructions = (
        "You are an agent in a simulated science world. Complete the task described in the first "
        "observation by sending one text command per turn (e.g. look around, open door to kitchen, "
        "pick up thermometer, focus on substance in pot)."
    )
    default_max_turns = 100

    def __init__(
        self,
        *,
        task: str | int | None = None,
        split: str = "train",
        variation: int | None = None,
        simplification: str = "",
        reproducible: bool = True,
        show_admissible: bool = False,
        **kwargs: Any,
    ):
        if split not in SPLITS:
            raise InvalidConfig(
                f"split must be one of {SPLITS}, got {split!r}." + did_you_mean(str(split), SPLITS)
            )
        super().__init__(show_admissible=show_admissible, **kwargs)
        self.split, self.variation, self.simplification = split, variation, simplification
        self.reproducible = reproducible
        self._backend = self.make_backend()
        names = self._sci.task_names
        problem = None
        if isinstance(task, int):
            if not 0 <= task < len(names):
                problem = f"task index must be within 0..{len(names) - 1}, got {task}"
            else:
                task = names[task]
        elif task is not None and task not in names:
            problem = f"unknown ScienceWorld task {task!r}." + did_you_mean(str(task), names)
        if problem:
            self.close()  # do not leave the JVM behind
            raise InvalidConfig(problem)
        self.task_name = task

    @property
    def _sci(self) -> ScienceWorldBackend:
        if self._backend is None:
            self._backend = self.make_backend()
        assert isinstance(self._backend, ScienceWorldBackend)
        return self._backend

    def make_backend(self) -> GameBackend:
        return ScienceWorldBackend(self.simplification, self.reproducible)

    def _task(self, name: str, variation: int) -> Task:
        meta = {"task": name, "variation": int(variation), "split": self.split}
        return Task(f"{name}-v{variation}", "", meta=meta)

    def sample_task(self, rng: np.random.Generator) -> Task:
        names = self._sci.task_names
        name = self.task_name or names[int(rng.integers(len(names)))]
        if self.variation is not None:
            return self._task(name, self.variation)
        options = self._sci.variations(name, self.split)
        return self._task(name, options[int(rng.integers(len(options)))])

    def get_task(self, task_id: str) -> Task:
        """Tasks are named ``<task>-v<variation>`` (as in ``info["task"]["id"]``)."""
        name, sep, var = str(task_id).rpartition("-v")
        if not sep or not var.isdigit() or name not in self._sci.task_names:
            raise KeyError(f"expected a task id like 'boil-v3', got {task_id!r}")
        return self._task(name, int(var))

    def episode_turn_limit(self, task: Task, first: GameStep) -> int | None:
        return min(300, max(40, 2 * len(self._sci.gold_path()) + 10))
