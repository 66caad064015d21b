"""Registration on top of Gymnasium's registry, under the `agentgym/` namespace.

`register` writes a Gymnasium `EnvSpec` (so `gymnasium.make("agentgym/X-v0")` works) and keeps a
one-line description for `agentgym list`. Third-party packages register through the entry-point
group ``agentgym.envs``; those are loaded once, lazily, on the first `make` or `list_envs`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium

from agentgym.errors import EnvNotFound, did_you_mean

__all__ = ["NAMESPACE", "EnvInfo", "full_id", "list_envs", "load_plugins", "make", "register"]

NAMESPACE = "agentgym"
ENTRY_POINT_GROUP = "agentgym.envs"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnvInfo:
    """What `agentgym list` shows about a registered env."""

    id: str
    description: str = ""
    tools: tuple[str, ...] = ()
    extra: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


_INFOS: dict[str, EnvInfo] = {}
_plugins_loaded = False
_plugin_lock = threading.Lock()


def full_id(env_id: str) -> str:
    """`X-v0` -> `agentgym/X-v0`; ids with another namespace are left alone."""
    return env_id if "/" in env_id else f"{NAMESPACE}/{env_id}"


def register(
    id: str,
    entry_point: str | Callable[..., gymnasium.Env],
    *,
    description: str = "",
    tools: tuple[str, ...] = (),
    extra: str | None = None,
    max_episode_steps: int | None = None,
    **kwargs: Any,
) -> None:
    """Register an environment under `agentgym/`.

    Args:
        id: `Name-vN` (the namespace is added) or `agentgym/Name-vN`.
        entry_point: `"package.module:Class"` (imported lazily) or a callable returning an env.
        description: one line for `agentgym list`.
        tools: names of the tools the env exposes (for `agentgym list`).
        extra: the pip extra the env needs, named in errors when it is missing.
        max_episode_steps: Gymnasium's TimeLimit; usually leave None, `ToolEnv` truncates itself.
        **kwargs: default constructor arguments.
    """
    env_id = full_id(id)
    if env_id.split("/")[0] != NAMESPACE:
        raise ValueError(f"agentgym.register registers under `{NAMESPACE}/`; got {id!r}")
    if env_id in gymnasium.registry:
        del gymnasium.registry[env_id]
    gymnasium.register(
        id=env_id,
        entry_point=entry_point,
        max_episode_steps=max_episode_steps,
        kwargs=kwargs,
        disable_env_checker=False,
        order_enforce=True,
    )
    _INFOS[env_id] = EnvInfo(env_id, description, tuple(tools), extra, dict(kwargs))


def load_plugins(force: bool = False) -> list[str]:
    """Import every `agentgym.envs` entry point once; return the names that loaded.

    An entry point may name a module (importing it registers) or a callable (called with no
    arguments). A broken plugin is logged and skipped so one bad package cannot break `make`.
    """
    global _plugins_loaded
    with _plugin_lock:
        if _plugins_loaded and not force:
            return []
        _plugins_loaded = True
        loaded = []
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
                if callable(obj):
                    obj()
                loaded.append(ep.name)
            except Exception as exc:  # a third-party bug must not break agentgym.make
                log.warning("agentgym plugin %r (%s) failed to load: %s", ep.name, ep.value, exc)
        return loaded


def _resolve(env_id: str) -> str:
    load_plugins()
    candidate = full_id(env_id)
    if candidate in gymnasium.registry:
        return candidate
    if env_id in gymnasium.registry:
        return env_id
    ours = [k for k in gymnasium.registry if k.startswith(NAMESPACE + "/")]
    hint = did_you_mean(candidate, ours) or did_you_mean(env_id, [k.split("/", 1)[1] for k in ours])
    raise EnvNotFound(
        f"no environment `{env_id}` is registered.{hint} `agentgym list` shows the registered ids; "
        "third-party envs register through the `agentgym.envs` entry-point group."
    )


def make(id: str, **kwargs: Any) -> gymnasium.Env:
    """`gymnasium.make` plus plugin discovery and a "did you mean" for unknown ids.

    >>> import agentgym
    >>> env = agentgym.make("agentgym/Calculator-v0")
    >>> obs, info = env.reset(seed=0)
    >>> isinstance(obs, str)
    True
    """
    env_id = _resolve(id)
    try:
        return gymnasium.make(env_id, **kwargs)
    except ModuleNotFoundError as exc:
        info = _INFOS.get(env_id)
        if info and info.extra:
            raise ModuleNotFoundError(
                f"{env_id} needs the `{info.extra}` extra: pip install 'agentgym[{info.extra}]' ({exc})"
            ) from exc
        raise


def env_info(id: str) -> EnvInfo:
    env_id = _resolve(id)
    return _INFOS.get(env_id, EnvInfo(env_id))


def list_envs() -> list[EnvInfo]:
    """Every env under the `agentgym/` namespace, plugins included, sorted by id."""
    load_plugins()
    ids = sorted(k for k in gymnasium.registry if k.startswith(NAMESPACE + "/"))
    return [_INFOS.get(i, EnvInfo(i)) for i in ids]
