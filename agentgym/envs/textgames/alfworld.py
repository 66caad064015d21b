"""`agentgym/ALFWorld-v0`: ALFWorld's text household games, read from the user's game files.

ALFWorld does not ship its games in the pip package: they are downloaded once with
``alfworld-download``. Point the env at them with ``ALFWORLD_DATA`` or ``data_dir=``; each game
is a directory with ``game.tw-pddl`` and ``traj_data.json``, played here through TextWorld's
PDDL engine (`agentgym.envs.textgames.pddl`), so the `alfworld` package itself is not imported.

Reward is 1 on the step that reaches the goal (ALFWorld's won flag), 0 otherwise.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.core.env import Task
from agentgym.envs.textgames.base import GameBackend, TextGameEnv
from agentgym.envs.textgames.household import TASK_TYPES
from agentgym.errors import EnvNotAvailable, InvalidConfig, did_you_mean

__all__ = ["SPLITS", "TASK_TYPES", "ALFWorldEnv", "find_games"]

log = logging.getLogger(__name__)
SPLITS: tuple[str, ...] = ("train", "valid_seen", "valid_unseen")
HOW_TO_GET = (
    "Get the game files with: pip install 'agentgym[alfworld]' && alfworld-download "
    "(it downloads from GitHub into ~/.cache/alfworld), then export ALFWORLD_DATA=~/.cache/alfworld "
    "or pass data_dir=. Expected layout: <data_dir>/json_2.1.1/{train,valid_seen,valid_unseen}/<task>/<trial>/"
    "game.tw-pddl + traj_data.json. To try the env without them, write generated games in the same "
    "layout with agentgym.envs.textgames.household.write_alfworld_dataset(dir)."
)


def _split_dir(root: Path, split: str) -> Path | None:
    for candidate in (root / "json_2.1.1" / split, root / split):
        if candidate.is_dir():
            return candidate
    return None


@lru_cache(maxsize=16)
def find_games(root: str, split: str, task_types: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Sorted (game file, task type) pairs of the solvable games of `split` under `root`.

    Like ALFWorld's own loader it skips ``movable`` and ``Sliced`` trajectories, games marked
    unsolvable and task types that were not asked for.
    """
    base = _split_dir(Path(root), split)
    if base is None:
        return ()
    found = []
    for traj in sorted(base.rglob("traj_data.json")):
        game = traj.parent / "game.tw-pddl"
        if "movable" in str(traj.parent) or "Sliced" in str(traj.parent) or not game.is_file():
            continue
        try:
            task_type = json.loads(traj.read_text())["task_type"]
            solvable = json.loads(game.read_text()).get("solvable", False)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("skipping unreadable ALFWorld game %s: %s", traj.parent, exc)
            continue
        if solvable and task_type in task_types:
            found.append((str(game), task_type))
    return tuple(found)


class ALFWorldEnv(TextGameEnv):
    """ALFWorld's six household task types on the user's game files.

    Args:
        data_dir: the ALFWorld data root (default: ``$ALFWORLD_DATA``).
        split: "train", "valid_seen" (in-distribution eval) or "valid_unseen" (out-of-distribution).
        task_types: names from `TASK_TYPES` or their ALFWorld numbers 1..6 (default: all six).
        **kwargs: `TextGameEnv` options (action_format, max_turns, history_window, ...).

    Raises:
        EnvNotAvailable: no games were found, with instructions to get them.
    """

    instructions = (
        "You are in a household. Complete the task stated in the first observation by sending one "
        "text command per turn (go to, take, move, open, close, clean, heat, cool, use, examine, look, inventory)."
    )
    default_max_turns = 50

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        split: str = "train",
        task_types: tuple[str | int, ...] | list[str | int] | None = None,
        **kwargs: Any,
    ):
        if split not in SPLITS:
            raise InvalidConfig(
                f"split must be one of {SPLITS}, got {split!r}." + did_you_mean(str(split), SPLITS)
            )
        self.task_types = tuple(_task_type(t) for t in (task_types or TASK_TYPES))
        root = data_dir if data_dir is not None else os.environ.get("ALFWORLD_DATA")
        if not root:
            raise EnvNotAvailable(
                f"ALFWorld needs its game files, and neither data_dir= nor ALFWORLD_DATA is set. {HOW_TO_GET}"
            )
        self.data_dir = Path(root).expanduser()
        self.split = split
        self.games = find_games(str(self.data_dir), split, self.task_types)
        if not self.games:
            raise EnvNotAvailable(
                f"no solvable ALFWorld games of types {list(self.task_types)} found for split {split!r} "
                f"under {self.data_dir}. {HOW_TO_GET}"
            )
        super().__init__(**kwargs)

    def make_backend(self) -> GameBackend:
        from agentgym.envs.textgames.pddl import PddlBackend

        return PddlBackend()

    def _task(self, index: int) -> Task:
        game, task_type = self.games[index]
        rel = str(Path(game).parent.relative_to(_split_dir(self.data_dir, self.split) or self.data_dir))
        meta = {"task_type": task_type, "split": self.split, "game": rel}
        return Task(rel, "", meta=meta, private={"game_file": game})

    def sample_task(self, rng: np.random.Generator) -> Task:
        return self._task(int(rng.integers(len(self.games))))

    def get_task(self, task_id: str) -> Task:
        """Tasks are named by their game directory relative to the split (``info["task"]["id"]``)."""
        for i in range(len(self.games)):
            task = self._task(i)
            if task.id == str(task_id):
                return task
        raise KeyError(f"no ALFWorld game {task_id!r} in split {self.split!r} of {self.data_dir}")


def _task_type(t: str | int) -> str:
    if isinstance(t, int) and 1 <= t <= len(TASK_TYPES):
        return TASK_TYPES[t - 1]
    if t in TASK_TYPES:
        return str(t)
    raise InvalidConfig(
        f"task type must be one of {TASK_TYPES} or 1..6, got {t!r}." + did_you_mean(str(t), TASK_TYPES)
    )
