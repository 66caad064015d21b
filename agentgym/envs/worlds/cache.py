"""The default world and a two-level cache of generated worlds.

Trainers create many env instances; each would otherwise regenerate the same world. Worlds are
kept in-process per (seed, num_docs, knobs) and saved once under the user cache directory
(`platformdirs.user_cache_dir("agentgym")/worlds`, or `$AGENTGYM_CACHE_DIR/worlds`), so a later
process loads files instead of regenerating.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agentgym.envs.worlds.generator import WorldConfig, generate_world
from agentgym.envs.worlds.model import World
from agentgym.tools.search.cache import cache_root

__all__ = [
    "DEFAULT_NUM_DOCS",
    "DEFAULT_SEED",
    "cache_root",
    "default_world",
    "get_world",
    "world_cache_dir",
    "world_key",
]

log = logging.getLogger(__name__)

DEFAULT_SEED = 0
DEFAULT_NUM_DOCS = 500
_MEMORY: dict[str, World] = {}
_LOCK = threading.Lock()


def _key(seed: int, num_docs: int, knobs: dict[str, Any]) -> str:
    cfg = asdict(WorldConfig(seed=int(seed), num_docs=int(num_docs), **_tuples(knobs)))
    blob = json.dumps(cfg, sort_keys=True, default=list)
    return f"seed{seed}-n{num_docs}-" + hashlib.sha1(blob.encode()).hexdigest()[:10]


def _tuples(knobs: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in knobs.items()}


def world_key(world: World) -> str:
    """The cache key of a generated world (seed + all generation knobs)."""
    knobs = {k: v for k, v in world.params.items() if k != "num_docs"}
    return _key(world.seed, int(world.params["num_docs"]), knobs)


def world_cache_dir(seed: int = DEFAULT_SEED, num_docs: int = DEFAULT_NUM_DOCS, **knobs: Any) -> Path:
    """Where `get_world` keeps this world's files (retrievers put their indexes beside them)."""
    return cache_root() / "worlds" / _key(seed, num_docs, knobs)


def get_world(
    seed: int = DEFAULT_SEED, num_docs: int = DEFAULT_NUM_DOCS, *, disk: bool = True, **knobs: Any
) -> World:
    """The world for these arguments: from memory, else from the disk cache, else generated and saved."""
    key = _key(seed, num_docs, knobs)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
        path = world_cache_dir(seed, num_docs, **knobs)
        world = None
        if disk and (path / "world.json").exists():
            try:
                world = World.load(path)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("cached world at %s is unreadable (%s); regenerating", path, exc)
        if world is None:
            world = generate_world(seed, num_docs, **_tuples(knobs))
            if disk:
                _save_atomic(world, path)
        _MEMORY[key] = world
        return world


def _save_atomic(world: World, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=".tmp-"))
        world.save(tmp)
        if path.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            return
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache dir must not break env construction
        log.warning("could not cache the world under %s: %s", path, exc)


def default_world() -> World:
    """The world `agentgym/SearchQA-v0` uses when given no `world=` (seed 0, 500 documents)."""
    return get_world(DEFAULT_SEED, DEFAULT_NUM_DOCS)
