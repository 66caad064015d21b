"""`EnvWorker`: the object a Ray actor holds; a table of envs addressed by slot number.

Plain Python (no Ray import), so it can be unit-tested in-process; `RayEnvPool` wraps it with
`ray.remote`. Batched calls return ``("ok", result)`` or ``("error", exception)`` per env, so
one env's bug does not fail the other envs of the batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium

from agentgym.core.env import fork
from agentgym.server.sessions import describe_env

__all__ = ["EnvWorker"]


class EnvWorker:
    """Envs of one worker process. `env` is a registered id or a callable returning an env."""

    def __init__(self, env: str | Callable[[], gymnasium.Env], env_kwargs: dict[str, Any] | None = None):
        self.env = env
        self.env_kwargs = dict(env_kwargs or {})
        self.envs: dict[int, gymnasium.Env] = {}

    def _make(self) -> gymnasium.Env:
        if callable(self.env):
            return self.env(**self.env_kwargs)
        import agentgym

        return agentgym.make(self.env, **self.env_kwargs)

    def ping(self) -> bool:
        return True

    def pid(self) -> int:
        return os.getpid()

    def open(self, slot: int) -> dict[str, Any]:
        """Create the env of `slot`; return what a client needs to know about it."""
        env = self.envs[slot] = self._make()
        described = describe_env(env)
        described["spec_id"] = env.spec.id if env.spec is not None else None
        return described

    def close(self, slot: int) -> None:
        env = self.envs.pop(slot, None)
        if env is not None:
            env.close()

    def reset(
        self, slot: int, seed: int | None, options: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        return self.envs[slot].reset(seed=seed, options=options)

    def step(self, slot: int, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return self.envs[slot].step(action)

    def fork(self, src: int, dst: int) -> None:
        self.envs[dst] = fork(self.envs[src])

    def call(self, slot: int, method: str, args: Sequence[Any]) -> Any:
        return getattr(self.envs[slot].unwrapped, method)(*args)

    def attr(self, slot: int, name: str) -> Any:
        return getattr(self.envs[slot].unwrapped, name)

    @staticmethod
    def _each(fn: Callable[..., Any], items: Sequence[tuple]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for item in items:
            try:
                out.append(("ok", fn(*item)))
            except Exception as exc:  # reported per env; the rest of the batch goes on
                out.append(("error", exc))
        return out

    def reset_batch(
        self, items: Sequence[tuple[int, int | None, dict[str, Any] | None]]
    ) -> list[tuple[str, Any]]:
        return self._each(self.reset, items)

    def step_batch(self, items: Sequence[tuple[int, Any]]) -> list[tuple[str, Any]]:
        return self._each(self.step, items)
