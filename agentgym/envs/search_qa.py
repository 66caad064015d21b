"""`agentgym/SearchQA-v0`: multi-hop question answering with a `search` tool.

By default the questions and corpus come from a generated world (`agentgym.envs.worlds`,
seed 0, 500 documents; cached in-process and on disk) searched with BM25, so the env works
offline with no arguments and imports no torch. `data=` takes FlashRAG JSONL or Search-R1
parquet questions; `corpus=`, `index=` or `url=` (a Search-R1 retrieval server) the documents.

Knobs that keep observations short and regular for small policies: `k` (documents per search),
`max_doc_chars`, `max_paragraphs=1` (only each article's lede), `hops`, `split`.
The expert (`oracle_action`) issues the gold chain's queries in order, then answers.
`info` on every step carries `num_searches`; on the last step also `score`, `success`, `em`,
`f1`, `cover_em`, `retrieved_gold` and `gold_recall` (None where the data has no gold docs).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.core.env import Task
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.errors import InvalidConfig, did_you_mean
from agentgym.eval.metrics import cover_exact_match, exact_match, f1_score
from agentgym.tools.base import ToolCall
from agentgym.tools.search.base import Retriever
from agentgym.tools.search.factory import make_retriever, search_tool

__all__ = ["REWARDS", "SearchQAEnv", "world_retriever"]

REWARDS = {"em": exact_match, "f1": f1_score, "cover_em": cover_exact_match}
SPLIT_NAMES = ("train", "dev", "test", "all")
_RETRIEVERS: dict[tuple[int, str], tuple[Any, Retriever]] = {}
_RLOCK = threading.Lock()


def world_retriever(world: Any, kind: str = "bm25") -> Retriever:
    """A cached retriever over a world's documents (one per world and kind, per process).

    BM25 indexes of generated worlds are also saved beside the world in the cache dir.
    """
    with _RLOCK:
        hit = _RETRIEVERS.get((id(world), kind))
        if hit is not None and hit[0] is world:
            return hit[1]
        retriever = _load_or_build(world, kind)
        _RETRIEVERS[(id(world), kind)] = (world, retriever)
        return retriever


def _load_or_build(world: Any, kind: str) -> Retriever:
    from agentgym.envs.worlds.cache import cache_root, world_key

    path = cache_root() / "worlds" / world_key(world) / f"index-{kind}"
    if (path / "index.json").exists():
        try:
            return make_retriever(index=path)
        except (OSError, ValueError, KeyError):
            pass
    retriever = make_retriever(kind, corpus=world)
    if kind == "bm25":
        try:
            retriever.save(path)  # type: ignore[attr-defined]
        except OSError:
            pass
    return retriever


def _resolve_world(world: Any):
    from agentgym.envs.worlds import World, default_world, get_world

    if world is None:
        return default_world()
    if isinstance(world, World):
        return world
    if isinstance(world, int):
        return get_world(seed=world)
    if isinstance(world, dict):
        return get_world(**world)
    if isinstance(world, (str, Path)) and (Path(world) / "world.json").exists():
        return World.load(world)
    raise InvalidConfig(
        f"world= takes None (the default world), a seed, a dict of generate_world arguments, a World or a "
        f"directory written by `agentgym world generate`; got {world!r}"
    )


def _hops(hops: int | Sequence[int] | None) -> tuple[int, ...] | None:
    if hops is None:
        return None
    out = (int(hops),) if isinstance(hops, int) else tuple(int(h) for h in hops)
    if not out or any(h < 1 for h in out):
        raise InvalidConfig(f"hops must be a positive int or a sequence of them, got {hops!r}")
    return out


class SearchQAEnv(ToolEnv):
    """Answer a (multi-hop) question by searching a corpus."""

    instructions = (
        "Answer the question. Search the corpus with the search tool as often as you need; each search "
        "returns the top documents. When you know the answer, give it as briefly as possible (a name, year or word)."
    )
    default_max_turns = 8

    def __init__(
        self,
        *,
        world: Any = None,
        data: str | Path | None = None,
        corpus: Any = None,
        index: str | Path | None = None,
        url: str | None = None,
        retriever: str | Retriever = "bm25",
        retriever_options: dict[str, Any] | None = None,
        k: int = 3,
        max_doc_chars: int | None = 300,
        max_paragraphs: int | None = None,
        hops: int | Sequence[int] | None = None,
        split: str = "train",
        reward: str = "em",
        **kwargs: Any,
    ):
        if reward not in REWARDS:
            raise InvalidConfig(
                f"reward must be one of {sorted(REWARDS)}, got {reward!r}." + did_you_mean(reward, REWARDS)
            )
        if split not in SPLIT_NAMES:
            raise InvalidConfig(
                f"split must be one of {SPLIT_NAMES}, got {split!r}." + did_you_mean(split, SPLIT_NAMES)
            )
        if k < 1:
            raise InvalidConfig(f"k (documents per search) must be >= 1, got {k}")
        self.reward_name, self.k, self.split, self.hops = reward, int(k), split, _hops(hops)
        self.tasks = self._load_tasks(world, data, corpus, index, url)
        self.retriever = self._retriever(retriever, retriever_options or {})
        tool = search_tool(
            self.retriever, k=self.k, max_doc_chars=max_doc_chars, max_paragraphs=max_paragraphs
        )
        super().__init__(tools=[tool], **kwargs)
        self._by_id = {t.id: t for t in self.tasks}
        self._queries: list[str] = []
        self._retrieved: list[str] = []

    # ------------------------------------------------------------------ construction helpers
    def _load_tasks(self, world: Any, data: Any, corpus: Any, index: Any, url: Any) -> list[Task]:
        self.world = None
        if data is None or world is not None or not (corpus is not None or index is not None or url):
            self.world = _resolve_world(world)
        if data is not None:
            from agentgym.tools.search.qa import load_qa

            records = load_qa(data)
            wanted = [r for r in records if self.hops is None or r.meta.get("hops") in self.hops]
            tasks = [
                Task(
                    r.id,
                    r.question,
                    answer=r.answers,
                    meta={"hops": r.meta.get("hops")},
                    private={
                        "gold_docs": list(r.meta.get("gold_docs", [])),
                        "expert_queries": list(r.meta.get("expert_queries", [])),
                    },
                )
                for r in wanted
            ]
        else:
            split = None if self.split == "all" else self.split
            tasks = [
                Task(
                    q.id,
                    q.question,
                    answer=list(q.answers),
                    meta={"hops": q.hops, "kind": q.kind},
                    private={"gold_docs": list(q.gold_docs), "expert_queries": list(q.expert_queries)},
                )
                for q in self.world.questions_for(split, self.hops)
            ]
        if not tasks:
            raise InvalidConfig(
                f"no questions for split={self.split!r} hops={self.hops}; widen hops or use another split"
            )
        self._corpus, self._index, self._url = corpus, index, url
        return tasks

    def _retriever(self, retriever: str | Retriever, options: dict[str, Any]) -> Retriever:
        if not isinstance(retriever, str):
            return retriever
        if self._index is not None:
            return make_retriever(index=self._index, **options) if options else _cached_index(self._index)
        if self._url:
            return make_retriever("remote", url=self._url, **options)
        if self._corpus is not None:
            return make_retriever(retriever, corpus=self._corpus, **options)
        if options or retriever not in ("bm25", "dense", "hybrid"):
            return make_retriever(retriever, corpus=self.world, **options)
        return world_retriever(self.world, retriever)

    # ------------------------------------------------------------------ ToolEnv hooks
    def sample_task(self, rng: np.random.Generator) -> Task:
        return self.tasks[int(rng.integers(len(self.tasks)))]

    def get_task(self, task_id: str) -> Task:
        if task_id not in self._by_id:
            raise KeyError(f"no question with id {task_id!r} in split {self.split!r}")
        return self._by_id[task_id]

    def task_observation(self, task: Task) -> str:
        return f"Question: {task.prompt}"

    def score_answer(self, answer: str, task: Task) -> Score:
        golds = task.answer if isinstance(task.answer, list) else [str(task.answer)]
        metrics = {name: fn(answer, golds) for name, fn in REWARDS.items()}
        score = metrics[self.reward_name]
        return Score(reward=score, score=score, success=score >= 1.0, extra=metrics)

    def on_tool_results(self, calls, results) -> None:
        for call, result in zip(calls, results, strict=False):
            if call.name != "search":
                continue
            self._queries.append(str(call.arguments.get("query", "")))
            for doc_id in (result.data or []) if result.ok else []:
                if doc_id not in self._retrieved:
                    self._retrieved.append(doc_id)

    def extra_state(self) -> dict[str, Any]:
        return {"queries": list(self._queries), "retrieved": list(self._retrieved)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._queries = list(state.get("queries", []))
        self._retrieved = list(state.get("retrieved", []))

    def final_info(self) -> dict[str, Any]:
        gold = (self.task.private.get("gold_docs") if self.task else None) or []
        if not gold:
            return {"retrieved_gold": None, "gold_recall": None}
        found = sum(g in self._retrieved for g in gold)
        return {"retrieved_gold": found > 0, "gold_recall": found / len(gold)}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        info["num_searches"] = len(self._queries)
        return obs, reward, terminated, truncated, info

    def oracle_action(self) -> str:
        """The expert's queries in order (skipping ones already issued), then the gold answer."""
        assert self.task is not None, "call reset() first"
        plan = self.task.private.get("expert_queries") or [self.task.prompt]
        for query in plan:
            if query not in self._queries:
                return self.parser.format_call(ToolCall("search", {"query": query}))
        golds = self.task.answer if isinstance(self.task.answer, list) else [str(self.task.answer)]
        return self.parser.format_answer(golds[0])


_INDEXES: dict[str, Retriever] = {}


def _cached_index(path: str | Path) -> Retriever:
    key = str(Path(path).resolve())
    with _RLOCK:
        if key not in _INDEXES:
            _INDEXES[key] = make_retriever(index=path)
        return _INDEXES[key]
