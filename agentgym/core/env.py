"""The `Env` base class, tasks, and forking.

`Env` is a `gymnasium.Env[str, str]`: text in, text out, with `UnicodeText` spaces. On top of
Gymnasium it adds what agent training needs: a `system_prompt` for the agent, an
`oracle_action()` (the scripted expert's next action) and `state_dict()` / `load_state_dict()`
so tree rollouts can fork an episode.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import gymnasium

from agentgym.core.spaces import UnicodeText

__all__ = ["Env", "Task", "fork"]


@dataclass
class Task:
    """One task instance. `answer` and `private` never reach the agent; `meta` is public."""

    id: str
    prompt: str
    answer: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    private: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The fields an agent (and `info["task"]`) may see."""
        return {"id": self.id, "prompt": self.prompt, **self.meta}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Task:
        return cls(**d)


class Env(gymnasium.Env[str, str]):
    """Base class of every agentgym environment.

    Subclasses implement `reset`, `step`, `oracle_action`, and `state_dict` / `load_state_dict`
    (the default fork copies the env shallowly and restores a deep copy of its state dict, so
    heavy shared resources such as indexes are shared, per-episode state is not).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"]}
    observation_space = UnicodeText()
    action_space = UnicodeText()
    system_prompt: str = ""

    def oracle_action(self) -> str:
        """The scripted expert's next action for the current state."""
        raise NotImplementedError(f"{type(self).__name__} has no oracle")

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore this exact episode state."""
        raise NotImplementedError(f"{type(self).__name__} does not support state_dict()")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support load_state_dict()")

    def fork_unwrapped(self) -> Env:
        """An independent copy at the same state (override for envs with external processes)."""
        new = copy.copy(self)
        new.load_state_dict(copy.deepcopy(self.state_dict()))
        if self._np_random is not None:
            new._np_random = copy.deepcopy(self._np_random)
        return new

    def render(self) -> str | None:
        return getattr(self, "_last_observation", None)


def fork(env: gymnasium.Env) -> gymnasium.Env:
    """Return an independent copy of `env` (wrappers included) at the same state.

    Stepping the copy never changes the original, and vice versa.
    """
    if not isinstance(env, gymnasium.Wrapper):
        if not isinstance(env, Env):
            return copy.deepcopy(env)
        return env.fork_unwrapped()
    inner = fork(env.env)
    new = copy.copy(env)
    new.env = inner
    return new
