"""Generated worlds: a seeded fictional encyclopedia with multi-hop questions.

Public API (stable; other parts of agentgym build on it):

- `generate_world(seed, num_docs, **knobs) -> World` — entities (`World.entities`: `Entity` with
  `type`, `name`, typed `attrs`, `rels` to other entity ids, `namesakes`), one `Document` per
  entity (`id`, `title`, `text`, `entity_id`, `type`), and `Question`s of 1–4 hops (`question`,
  `answers`, `hops`, `kind` = bridge | comparison, `gold_docs`, `expert_queries`, `split`).
  Knobs: see `WorldConfig` (hops, distractors, namesakes, paraphrase, comparison, questions_per_hop).
- `World.save(dir)` / `World.load(dir)`: corpus.jsonl (FlashRAG rows) + train/dev/test.jsonl.
- `World.distractors(doc_id, n)`: near-namesake and same-type documents (for simulators).
- `get_world(seed, num_docs, **knobs)`: the same world, cached in-process and on disk in the
  user cache dir; `default_world()` is the one `agentgym/SearchQA-v0` uses with no arguments.

>>> from agentgym.envs.worlds import generate_world
>>> world = generate_world(seed=0, num_docs=200)
>>> q = world.questions_for("train", hops=[2])[0]
>>> len(q.gold_docs), len(q.expert_queries)
(2, 2)
"""

from __future__ import annotations

from agentgym.envs.worlds.cache import (
    DEFAULT_NUM_DOCS,
    DEFAULT_SEED,
    default_world,
    get_world,
    world_cache_dir,
    world_key,
)
from agentgym.envs.worlds.generator import WorldConfig, generate_world
from agentgym.envs.worlds.model import SPLITS, Document, Entity, Question, World

__all__ = [
    "DEFAULT_NUM_DOCS",
    "DEFAULT_SEED",
    "SPLITS",
    "Document",
    "Entity",
    "Question",
    "World",
    "WorldConfig",
    "default_world",
    "generate_world",
    "get_world",
    "world_cache_dir",
    "world_key",
]
