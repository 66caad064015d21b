"""A `GameBackend` for ALFWorld-format games (``game.tw-pddl``) through TextWorld's `PddlEnv`.

Serves `agentgym/ALFWorld-v0` (real ALFWorld game files) and the ``household`` games of
`agentgym/TextWorld-v0` (generated here in the same format). Object ids are demangled the way
ALFWorld names them (``mug_bar__plus_00_dot_41_bar_...`` -> ``mug 1``), the score is the won
flag, the anchor is a hash of the world facts, and the expert follows the game's walkthrough,
replanning with Fast Downward once the agent leaves it.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from agentgym.core.env import Task
from agentgym.envs.textgames.base import GameBackend, GameStep, state_key
from agentgym.errors import EnvNotAvailable

__all__ = ["PddlBackend", "demangle_ids", "require_pddl"]

log = logging.getLogger(__name__)
# bookkeeping predicates of the household domain: they record that the agent looked, not the world
_BOOKKEEPING = frozenset({"looked", "checkedinventory", "examined", "examinedobject", "checked"})


# Each TextWorld PddlEnv loads a private copy of libdownward (~34 MB) that cannot be unloaded
# safely; engines hand their copy back here on close so forks and new envs reuse it.
_LIB_POOL: list[Any] = []
_POOL_LOCK = threading.Lock()


def _new_pddl_env(infos: Any) -> Any:
    import textworld
    from textworld.envs.pddl import PddlEnv

    with _POOL_LOCK:
        lib = _LIB_POOL.pop() if _LIB_POOL else None
    if lib is None:
        return PddlEnv(infos)
    env = PddlEnv.__new__(PddlEnv)
    textworld.Environment.__init__(env, infos)
    env.downward_lib = lib
    return env


def require_pddl() -> None:
    """Raise `EnvNotAvailable` unless TextWorld's PDDL support (Fast Downward) is importable."""
    try:
        import fast_downward  # noqa: F401
        import textworld.envs.pddl  # noqa: F401
    except ImportError as exc:
        raise EnvNotAvailable(
            "ALFWorld-format (PDDL) games need TextWorld's PDDL support, which was not found "
            f"({exc}). Install it with: pip install 'agentgym[textworld]' (or: pip install 'textworld[pddl]')."
        ) from exc


def _unmangle(text: str) -> str:
    for code, char in (("_bar_", "|"), ("_minus_", "-"), ("_plus_", "+"), ("_dot_", "."), ("_comma_", ",")):
        text = text.replace(code, char)
    return text


def demangle_ids(ids: Iterable[str]) -> dict[str, str]:
    """Map ALFWorld object ids to display names: ``<class> <n>``, numbered per class.

    The class is the text before the first ``_bar_`` (``sink...`` ids that mention ``basin``
    become ``sinkbasin``); ids without ``_bar_`` keep their unmangled text. Within a class, ids
    are numbered in reverse sorted order, as ALFWorld does, so names match its games.
    """
    ids = sorted(set(ids))
    by_class: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for i in ids:
        if "_bar_" not in i:
            names[i] = _unmangle(i)
            continue
        cls = i.split("_bar_", 1)[0]
        if "basin" in i and not cls.endswith("basin"):
            cls += "basin"
        by_class[cls].append(i)
    for cls, members in by_class.items():
        for n, i in zip(range(len(members), 0, -1), members, strict=True):
            names[i] = f"{cls} {n}"
    return names


class PddlBackend(GameBackend):
    """Plays ``game.tw-pddl`` files named by ``task.private["game_file"]``."""

    def __init__(self) -> None:
        super().__init__()
        require_pddl()
        self._env: Any = None
        self._path: str | None = None
        self._walkthrough: list[str] = []

    def _open(self, path: str) -> None:
        import textworld

        if self._env is None:
            infos = textworld.EnvInfos(admissible_commands=True, won=True, facts=True, moves=True)
            self._env = _new_pddl_env(infos)
        self._env.load(path)
        names = demangle_ids(info.id for info in self._env._entity_infos.values())
        for info in self._env._entity_infos.values():
            info.name = names[info.id]
        self._path = path

    def _load(self, task: Task) -> GameStep:
        path = str(task.private["game_file"])
        if self._env is None or path != self._path:
            self._open(path)
        state = self._env.reset()
        self._walkthrough = list(self._env.walkthrough or [])
        return self._snapshot(state)

    def _step(self, command: str) -> GameStep:
        state, _, _ = self._env.step(command.lower())  # commands are matched exactly, names are lower case
        return self._snapshot(state)

    def _snapshot(self, state: Any) -> GameStep:
        won = bool(state["won"])
        facts = sorted(
            f"{f.name}({','.join(v.name for v in f.arguments)})"
            for f in state["_facts"]
            if f.name not in _BOOKKEEPING
        )
        return GameStep(
            feedback=str(state.feedback).strip(),
            score=1.0 if won else 0.0,
            max_score=1.0,
            won=won,
            lost=bool(state.get("lost") or False),
            moves=int(state.get("moves") or 0),
            admissible=list(state["admissible_commands"]),
            anchor=state_key(*facts),
        )

    def plan(self) -> list[str]:
        """A shortest command sequence from the current state to the goal (Fast Downward)."""
        if self._env is None:
            return []
        return list(self._env._pddl_state.replan(self._env._entity_infos) or [])

    def oracle(self) -> str | None:
        if self._env is None:
            return None
        gold = self._walkthrough
        n = len(self.commands)
        if gold and n < len(gold) and self.commands == gold[:n]:
            return gold[n]
        plan = self.plan()
        return plan[0] if plan else None

    def close(self) -> None:
        if self._env is not None:
            with _POOL_LOCK:
                _LIB_POOL.append(self._env.downward_lib)
        self._env = None
        self._path = None
