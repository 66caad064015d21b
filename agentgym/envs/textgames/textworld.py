"""`agentgym/TextWorld-v0`: TextWorld games generated offline, cached by (game, difficulty, seed).

Four generators at difficulty 1..3 (the seed picks the game):

- ``cooking``: TextWorld's cooking challenge; difficulty adds ingredients, rooms, closed
  containers, cutting and cooking (recipe 1/2/3, 1/6/9 rooms).
- ``treasure_hunter``: find and take an object; levels 5/15/25 (5, 10, 20 rooms; doors and
  containers from 2, locked ones at 3).
- ``coin_collector``: walk a chain of rooms to a coin; levels 5/110/215 (5 rooms; 20 and 45
  rooms with dead-end distractors).
- ``household``: ALFWorld-style goals ("put a clean mug in cabinet.") in the ALFWorld game format
  (see `agentgym.envs.textgames.household`), played through TextWorld's PDDL engine.

Reward is the score change divided by the game's maximum score, so a won game sums to 1; the
episode terminates when the game is won or lost. Games are generated in-process on first use
(about 2 s each) and cached under ``$AGENTGYM_CACHE/textworld`` (default: the user cache dir).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.core.env import Task
from agentgym.envs.textgames.base import GameBackend, GameStep, TextGameEnv, cache_root, state_key
from agentgym.errors import EnvNotAvailable, InvalidConfig, did_you_mean

__all__ = ["GAMES", "TextWorldBackend", "TextWorldEnv", "game_path", "generate_game"]

log = logging.getLogger(__name__)
GAMES: tuple[str, ...] = ("cooking", "treasure_hunter", "coin_collector", "household")
_LEVELS = {"treasure_hunter": {1: 5, 2: 15, 3: 25}, "coin_collector": {1: 5, 2: 110, 3: 215}}
_COOKING = {
    1: {"recipe": 1, "take": 1, "go": 1},
    2: {"recipe": 2, "take": 2, "go": 6, "open": True, "cut": True},
    3: {"recipe": 3, "take": 3, "go": 9, "open": True, "cook": True, "cut": True},
}
_PROMPT_LINE = re.compile(r"\n>[^\n]*\Z|\n> *-= .*\Z", re.S)  # the trailing prompt and status line
_ZMACHINE_UNSAFE = re.compile(r"[^\x20-\x7e]|\\")
# interpreter commands that leave the game's own rules (or wait for a yes/no): never sent
_META_COMMANDS = frozenset(
    {"quit", "q", "restart", "save", "restore", "undo", "script", "unscript", "transcript", "noscript"}
)
_TURNS = {
    "cooking": (40, 60, 80),
    "treasure_hunter": (30, 50, 80),
    "coin_collector": (30, 60, 100),
    "household": (30, 40, 50),
}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence jericho's warning that TextWorld games are not in its list of known games."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is not fully supported.*")
        yield


def _check(game: str, difficulty: int) -> None:
    if game not in GAMES:
        raise InvalidConfig(f"game must be one of {GAMES}, got {game!r}." + did_you_mean(str(game), GAMES))
    if difficulty not in (1, 2, 3):
        raise InvalidConfig(f"difficulty must be 1, 2 or 3, got {difficulty!r}")


def game_path(
    game: str, difficulty: int, seed: int, split: str | None = None, cache_dir: str | Path | None = None
) -> Path:
    """Where the cached game for (game, difficulty, seed) lives (it may not exist yet)."""
    tag = f"-{split}" if split else ""
    name = "game.tw-pddl" if game == "household" else "game.z8"
    root = Path(cache_dir) if cache_dir is not None else cache_root() / "textworld"
    return root / f"{game}{tag}-d{difficulty}-s{seed}" / name


def _make_textworld(game: str, difficulty: int, seed: int, split: str | None, out: Path) -> None:
    import textworld
    import textworld.challenges

    options = textworld.GameOptions()
    options.seeds = int(seed)
    options.path = str(out / "game.z8")
    options.force_recompile = True
    if game == "cooking":
        settings: dict[str, Any] = {"recipe_seed": int(seed), "split": split, **_COOKING[difficulty]}
    else:
        settings = {"level": _LEVELS[game][difficulty]}
    _, make, _ = textworld.challenges.CHALLENGES[f"tw-{game}"]
    with _quiet():
        textworld.generator.compile_game(make(settings, options), options)


def generate_game(
    game: str, difficulty: int, seed: int, split: str | None = None, cache_dir: str | Path | None = None
) -> Path:
    """Return the cached game file for (game, difficulty, seed), generating it on first use.

    Games live under `cache_dir` (default ``$AGENTGYM_CACHE/textworld`` or the user cache dir).
    """
    _check(game, difficulty)
    if split is not None and (game != "cooking" or split not in ("train", "valid", "test")):
        raise InvalidConfig(
            f"split applies to the cooking game only and is train/valid/test; got {split!r} for {game!r}"
        )
    target = game_path(game, difficulty, seed, split, cache_dir)
    if target.exists():
        return target
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.parent.name + ".", dir=target.parent.parent))
    try:
        if game == "household":
            from agentgym.envs.textgames.household import build_household_game

            build_household_game(tmp, seed, difficulty)
        else:
            _make_textworld(game, difficulty, seed, split, tmp)
        try:
            os.rename(tmp, target.parent)  # atomic: concurrent generators of one game keep one copy
        except OSError:
            if not target.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("generated %s", target)
    return target


class TextWorldBackend(GameBackend):
    """TextWorld's Inform7 games (``.z8``) through `textworld.start`."""

    def __init__(self) -> None:
        super().__init__()
        self._env: Any = None
        self._path: str | None = None
        self._walkthrough: list[str] = []
        self._policy: list[str] = []
        self._last = GameStep("")

    def _load(self, task: Task) -> GameStep:
        import textworld

        path = str(task.private["game_file"])
        if self._env is None or path != self._path:
            self.close()
            infos = textworld.EnvInfos(
                admissible_commands=True, score=True, max_score=True, won=True, lost=True, moves=True,
                facts=True, objective=True, policy_commands=True, extras=["walkthrough"],
            )  # fmt: skip
            with _quiet():
                self._env, self._path = textworld.start(path, request_infos=infos), path
        with _quiet():
            state = self._env.reset()
        self._walkthrough = list(state.get("extra.walkthrough") or [])
        first = self._snapshot(state)
        objective = str(state.get("objective") or "").strip()
        body = first.feedback.split(objective, 1)[-1].strip() if objective else first.feedback
        first.feedback = f"{objective}\n\n{body}".strip()  # drop the ASCII-art banner
        return first

    def _step(self, command: str) -> GameStep:
        # The Z-machine interpreter reads ASCII; a leading backslash is one of its meta-commands
        # (some wait for more input forever), so only plain printable text reaches it.
        text = " ".join(_ZMACHINE_UNSAFE.sub(" ", command).split())
        if not text or text.split()[0].lower() in _META_COMMANDS:
            return dataclasses.replace(
                self._last,
                feedback="That's not a command I recognise."
                if not text
                else "That command is not available in this game.",
                admissible=list(self._last.admissible),
            )
        with _quiet():
            state, _, _ = self._env.step(text)
        return self._snapshot(state)

    def _snapshot(self, state: Any) -> GameStep:
        feedback = _PROMPT_LINE.sub("", str(state.feedback)).strip()
        self._policy = list(state.get("policy_commands") or [])
        facts = sorted(str(f) for f in state.get("facts") or [])
        self._last = GameStep(
            feedback=feedback,
            score=float(state["score"] or 0),
            max_score=float(state["max_score"] or 1),
            won=bool(state["won"]),
            lost=bool(state["lost"]),
            moves=int(state["moves"] or 0),
            admissible=list(state["admissible_commands"] or []),
            anchor=state_key(*facts),
        )
        return self._last

    def oracle(self) -> str | None:
        gold, n = self._walkthrough, len(self.commands)
        if gold and n < len(gold) and self.commands == gold[:n]:
            return gold[n]
        return self._policy[0] if self._policy else None

    def copy(self) -> TextWorldBackend:
        new = TextWorldBackend()
        with _quiet():
            new._env, new._path = self._env.copy(), self._path
        new.task_id, new.commands = self.task_id, list(self.commands)
        new._walkthrough, new._policy, new._last = list(self._walkthrough), list(self._policy), self._last
        return new

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
            self._path = None


class TextWorldEnv(TextGameEnv):
    """TextWorld games (cooking, treasure hunter, coin collector, household) at difficulty 1..3.

    Args:
        game: one of `GAMES`.
        difficulty: 1, 2 or 3.
        num_games: when set, the seed picks one of this many games (a fixed training set);
            otherwise any of 2**31 games.
        split: cooking only: TextWorld's train/valid/test food splits.
        cache_dir: where generated games are kept (default: ``$AGENTGYM_CACHE/textworld``).
        **kwargs: `TextGameEnv` options (action_format, max_turns, history_window, ...).

    >>> import agentgym
    >>> env = agentgym.make("agentgym/TextWorld-v0", game="coin_collector", difficulty=1)
    >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
    """

    instructions = "You are playing a text adventure game. Reach the goal by sending one command per turn."

    def __init__(
        self,
        *,
        game: str = "cooking",
        difficulty: int = 1,
        num_games: int | None = None,
        split: str | None = None,
        cache_dir: str | Path | None = None,
        **kwargs: Any,
    ):
        _check(game, difficulty)
        try:
            import textworld  # noqa: F401
        except ImportError as exc:
            raise EnvNotAvailable(
                f"TextWorld-v0 needs the `textworld` package: pip install 'agentgym[textworld]' ({exc})"
            ) from exc
        if game == "household":
            from agentgym.envs.textgames.pddl import require_pddl

            require_pddl()
        if num_games is not None and num_games < 1:
            raise InvalidConfig(f"num_games must be >= 1 or None, got {num_games}")
        super().__init__(**kwargs)
        self.game, self.difficulty, self.num_games, self.split = game, int(difficulty), num_games, split
        self.cache_dir = cache_dir
        self.default_max_turns = _TURNS[game][self.difficulty - 1]
        if not self.max_turns_given:
            self.max_turns = self.default_max_turns

    def make_backend(self) -> GameBackend:
        if self.game == "household":
            from agentgym.envs.textgames.pddl import PddlBackend

            return PddlBackend()
        return TextWorldBackend()

    def _task(self, seed: int) -> Task:
        path = generate_game(self.game, self.difficulty, seed, self.split, self.cache_dir)
        tag = f"-{self.split}" if self.split else ""
        meta = {"game": self.game, "difficulty": self.difficulty, "seed": seed}
        return Task(
            f"{self.game}{tag}-d{self.difficulty}-s{seed}", "", meta=meta, private={"game_file": str(path)}
        )

    def sample_task(self, rng: np.random.Generator) -> Task:
        return self._task(int(rng.integers(self.num_games or 2**31)))

    def get_task(self, task_id: str) -> Task:
        """Tasks are named ``<game>-d<difficulty>-s<seed>`` (as in ``info["task"]["id"]``)."""
        head, sep, seed = str(task_id).rpartition("-s")
        if not sep or not seed.isdigit() or not head.endswith(f"-d{self.difficulty}"):
            raise KeyError(f"expected a task id like '{self.game}-d{self.difficulty}-s42', got {task_id!r}")
        return self._task(int(seed))
