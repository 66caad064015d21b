"""`TextGameEnv`: the shared turn loop of command-driven text games.

A text game (TextWorld, ScienceWorld, ALFWorld) takes one free-text command per turn. Here that
command is the single argument of an `action` tool, so the env speaks every agentgym action
format through the shared parsers: ``<action>go north</action>`` (xml),
``<tool_call>{"name": "action", "arguments": {"command": "go north"}}</tool_call>`` (json) or an
OpenAI ``tool_calls`` message (openai).

An adapter supplies a `GameBackend` (start a game, send a command, report a `GameStep`) and a
task source; this module owns parsing, rewards (score change, invalid-command penalty), the
observation layout (history window, admissible commands), `info`, truncation and forking.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentgym.core.env import Task
from agentgym.core.tool_env import ToolEnv
from agentgym.errors import InvalidConfig, ToolError
from agentgym.tools.base import ToolCall, tool

__all__ = ["GameBackend", "GameStep", "TextGameEnv", "action", "cache_root", "normalize_command", "state_key"]

log = logging.getLogger(__name__)


@tool(timeout=None)
def action(command: str) -> str:
    """Send one text command to the game, e.g. `go north` or `take apple from table 1`.

    Args:
        command: the command, as typed in a text adventure.
    """
    raise ToolError("text-game commands are executed by the environment's step(), not by calling the tool")


@dataclass
class GameStep:
    """What a game engine reports after starting a game or running one command."""

    feedback: str
    score: float = 0.0
    max_score: float = 1.0
    won: bool = False
    lost: bool = False
    moves: int = 0
    admissible: list[str] = field(default_factory=list)
    anchor: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class GameBackend(ABC):
    """One running game engine; remembers which task it runs and the commands sent since."""

    def __init__(self) -> None:
        self.task_id: str | None = None
        self.commands: list[str] = []

    def restart(self, task: Task) -> GameStep:
        """Start `task`'s game from its initial state."""
        step = self._load(task)
        self.task_id, self.commands = task.id, []
        return step

    def play(self, command: str) -> GameStep:
        """Run one command."""
        step = self._step(command)
        self.commands.append(command)
        return step

    @abstractmethod
    def _load(self, task: Task) -> GameStep: ...

    @abstractmethod
    def _step(self, command: str) -> GameStep: ...

    def oracle(self) -> str | None:
        """The expert's next command from the current state, or None when there is none."""
        return None

    def copy(self) -> GameBackend | None:
        """An independent engine at the same state, or None to fork by replaying commands."""
        return None

    def close(self) -> None:  # noqa: B027 - most engines hold nothing to release
        """Release the engine (processes, libraries)."""


_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def normalize_command(command: str) -> str:
    """Single-spaced, without control characters. Case is kept: ScienceWorld names objects such
    as ``unknown substance B``; admissibility is checked case-insensitively."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", command)).strip()


def state_key(*parts: Any) -> str:
    """A short stable hash of a history-free state description (the GiGPO anchor)."""
    return hashlib.sha1("\x1e".join(map(str, parts)).encode("utf-8", "replace")).hexdigest()[:16]


def cache_root() -> Path:
    """`$AGENTGYM_CACHE` or the platform user cache dir (e.g. ~/.cache/agentgym)."""
    env = os.environ.get("AGENTGYM_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("agentgym"))


class TextGameEnv(ToolEnv):
    """Base for command-driven text games; override `sample_task` and `make_backend`.

    Args:
        action_format: "xml", "json" or "openai" (see `agentgym.core.parsing`).
        max_turns: episode length limit (truncation); None takes the env's default.
        history_window: when > 0, every observation repeats the goal and the last N
            (command, feedback) pairs, so a policy that sees only the latest observation has
            the context it needs (the GiGPO / verl-agent prompt); 0 shows the feedback only.
        show_admissible: list the currently admissible commands in each observation.
        invalid_action_penalty: subtracted from the reward when a command is not admissible.
        format_penalty: subtracted from the reward when the action cannot be parsed.
        max_command_chars: longer commands are rejected without reaching the engine.
    """

    instructions = "You are playing a text adventure game. Reach the goal by sending one command per turn."
    default_max_turns = 50

    def __init__(
        self,
        *,
        action_format: str = "xml",
        max_turns: int | None = None,
        history_window: int = 0,
        show_admissible: bool = True,
        invalid_action_penalty: float = 0.0,
        format_penalty: float = 0.0,
        max_command_chars: int = 200,
        max_observation_chars: int = 8_000,
        render_mode: str | None = None,
    ):
        if history_window < 0:
            raise InvalidConfig(f"history_window counts past turns, so it must be >= 0; got {history_window}")
        if invalid_action_penalty < 0:
            raise InvalidConfig(
                f"invalid_action_penalty is subtracted, so it must be >= 0; got {invalid_action_penalty}"
            )
        super().__init__(
            tools=[action],
            action_format=action_format,
            max_turns=max_turns,
            format_penalty=format_penalty,
            max_observation_chars=max_observation_chars,
            render_mode=render_mode,
        )
        self.max_turns_given = max_turns is not None
        self.history_window = history_window
        self.show_admissible = show_admissible
        self.invalid_action_penalty = float(invalid_action_penalty)
        self.max_command_chars = max_command_chars
        self._backend: GameBackend | None = None
        self._game: GameStep | None = None
        self._goal = ""

    # ----------------------------------------------------------------- adapter hooks
    def make_backend(self) -> GameBackend:
        """A new engine; it is reused across resets and replaced on fork."""
        raise NotImplementedError

    def reward_of(self, before: GameStep, after: GameStep) -> float:
        """Reward of one command: the score change divided by the maximum score."""
        return (after.score - before.score) / max(after.max_score, 1e-9)

    def goal_of(self, first: GameStep) -> str:
        """The goal repeated by the history window: ALFWorld's "Your task is to: ..." line, else
        the first paragraph of the first observation."""
        marker = "Your task is to:"
        if marker in first.feedback:
            return first.feedback[first.feedback.index(marker) :].strip()
        return first.feedback.split("\n\n", 1)[0].strip()

    def episode_turn_limit(self, task: Task, first: GameStep) -> int | None:
        """A per-episode turn limit when the user gave none (None keeps the default)."""
        return None

    # ----------------------------------------------------------------- prompts
    @property
    def system_prompt(self) -> str:  # type: ignore[override]
        return f"{self.instructions}\n\n{self._usage()} You have at most {self.max_turns} turns."

    def _usage(self) -> str:
        example = self.parser.format_call(ToolCall("action", {"command": "look"}, id="call_0"))
        if self.action_format == "openai":
            return f"Call the `action` tool with one command per turn, e.g. {example}"
        return f"Send exactly one command per turn, e.g. {example}"

    # ----------------------------------------------------------------- ToolEnv hooks
    def task_observation(self, task: Task) -> str:
        if self._backend is None:
            self._backend = self.make_backend()
        first = self._backend.restart(task)
        self._game = first
        self._goal = self.goal_of(first)
        task.prompt = task.prompt or self._goal  # info["task"]["prompt"] states the goal
        if not self.max_turns_given:
            self.max_turns = self.episode_turn_limit(task, first) or self.default_max_turns
        return self._observation(first.feedback, first)

    def extra_state(self) -> dict[str, Any]:
        return {
            "commands": list(self._backend.commands) if self._backend else [],
            "game": None if self._game is None else asdict(self._game),
            "goal": self._goal,
            "max_turns": self.max_turns,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:  # called by reset() before task_observation()
            return
        assert self.task is not None, "load_state_dict needs the task"
        commands = list(state["commands"])
        backend = self._backend
        if backend is None or backend.task_id != self.task.id or backend.commands != commands:
            if backend is None:
                backend = self._backend = self.make_backend()
            backend.restart(self.task)
            for c in commands:
                backend.play(c)
        self._game = GameStep(**state["game"]) if state.get("game") else None
        self._goal = state.get("goal", "")
        self.max_turns = int(state.get("max_turns", self.max_turns))

    def fork_unwrapped(self) -> TextGameEnv:
        new = copy.copy(self)
        engine = self._backend.copy() if self._backend is not None else None
        new._backend = engine  # None -> load_state_dict replays into a fresh engine
        new.load_state_dict(copy.deepcopy(self.state_dict()))
        if self._np_random is not None:
            new._np_random = copy.deepcopy(self._np_random)
        return new

    # ----------------------------------------------------------------- the turn
    def _command_of(self, action_text: Any) -> tuple[ToolCall | None, str | None]:
        """(the `action` call with its normalised command, None) or (None, what was wrong)."""
        if not isinstance(action_text, str):
            return None, f"an action must be text, got {type(action_text).__name__}"
        if len(action_text) > self.max_action_chars:
            return None, f"action too long ({len(action_text)} characters; limit {self.max_action_chars})"
        parsed = self.parser.parse(action_text)
        if parsed.error is not None:
            return None, parsed.error
        if parsed.answer is not None or not parsed.tool_calls:
            return None, "a text game has no final answer; send a command to the `action` tool"
        if len(parsed.tool_calls) != 1:
            return None, f"send exactly one command per turn, got {len(parsed.tool_calls)}"
        call = parsed.tool_calls[0]
        if call.name != "action":
            return None, f"unknown tool `{call.name}`; the only tool is `action`"
        command = call.arguments.get("command") if isinstance(call.arguments, dict) else None
        if not isinstance(command, str):
            return None, 'the `action` tool takes {"command": "<text>"}'
        command = normalize_command(command)
        if not command:
            return None, "empty command"
        if len(command) > self.max_command_chars:
            return None, f"command too long ({len(command)} characters; limit {self.max_command_chars})"
        return ToolCall("action", {"command": command}, id=call.id or "call_0"), None

    def step(self, action_text: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.task is None or self._backend is None or self._game is None:
            raise RuntimeError("call reset() before step()")
        info: dict[str, Any] = {"tool_calls": [], "tool_results": [], "parse_error": None, "answer": None}
        if self.done:
            info.update(turn=self.turn, error="the episode is over; call reset()")
            return "The episode is over; call reset() to start a new one.", 0.0, True, False, info
        self.turn += 1
        info["turn"] = self.turn
        before = self._game
        call, error = self._command_of(action_text)
        command = None if call is None else str(call.arguments["command"])
        if call is None or command is None:
            info["parse_error"] = info["error"] = error
            reward = -self.format_penalty
            obs = f"Invalid action: {error}. {self._usage()}"
        else:
            after = self._backend.play(command)
            self._game = after
            info["tool_calls"] = [call.to_dict()]
            info["command"] = command
            reward = self.reward_of(before, after)
            admissible = {normalize_command(c).lower() for c in before.admissible}
            info["invalid_command"] = bool(admissible) and command.lower() not in admissible
            if info["invalid_command"]:
                reward -= self.invalid_action_penalty
            obs = self._observation(after.feedback, after, call)
        game = self._game
        terminated = game.won or game.lost
        truncated = not terminated and self.turn >= self.max_turns
        info.update(self._game_info(game))
        if truncated:
            info["truncation"] = "max_turns"
        if terminated or truncated:
            self.done = True
            info["success"] = bool(game.won)
        record = {
            "action": action_text if isinstance(action_text, str) else repr(action_text),
            "observation": obs,
        }
        if command is not None:
            record.update(command=command, feedback=self._game.feedback.strip())
        self.history.append(record)
        self._last_observation = obs
        return obs, float(reward), terminated, truncated, info

    def _game_info(self, game: GameStep) -> dict[str, Any]:
        return {
            "admissible_commands": list(game.admissible),
            "score": game.score,
            "max_score": game.max_score,
            "won": bool(game.won),
            "lost": bool(game.lost),
            "moves": game.moves,
            "anchor": game.anchor,
            **game.extra,
        }

    def _observation(self, feedback: str, game: GameStep, call: ToolCall | None = None) -> str:
        parts = []
        if self.history_window and call is not None:
            parts.append(f"Goal: {self._goal.strip()}")
            past = self.history[-(self.history_window - 1) :] if self.history_window > 1 else []
            recent = [f"> {h['command']}\n{h['feedback']}" for h in past if "command" in h]
            if recent:
                parts.append("Recent history:\n" + "\n".join(recent))
            parts.append(f"> {call.arguments['command']}\n{feedback.strip()}")
        else:
            parts.append(feedback.strip())
        if self.show_admissible and game.admissible and not (game.won or game.lost):
            parts.append("Admissible commands: " + ", ".join(game.admissible))
        text = self._clip("\n\n".join(parts))
        if call is None or self.action_format == "xml":
            return text
        return self.parser.wrap_observation([(call, text)])

    def oracle_action(self) -> str:
        assert self._backend is not None and self.task is not None, "call reset() first"
        command = self._backend.oracle() or "look"
        return self.parser.format_call(ToolCall("action", {"command": command}, id="call_0"))

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        super().close()
