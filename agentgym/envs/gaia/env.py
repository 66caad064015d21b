"""`agentgym/GAIA-v0`: GAIA-format tasks with search, fetch, python, calculator and files.

With no `data_dir` the env serves the built-in generated set (offline, with an oracle);
with one it serves a GAIA directory such as the official validation split. Answers come as
``<answer>…</answer>`` or GAIA's ``FINAL ANSWER: …`` and are graded by `gaia_score`.
Tasks whose data is bad are listed in `env.problems` (task id, field, message) instead of
breaking the load.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.core.env import Task
from agentgym.core.parsing import make_parser
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.envs.gaia.builtin import builtin_dir
from agentgym.envs.gaia.data import DataProblem, GAIADataset, load_gaia
from agentgym.envs.gaia.tools import (
    KeywordRetriever,
    Retriever,
    make_fetch_tool,
    make_python,
    make_read_file_tool,
    make_search_tool,
)
from agentgym.errors import EnvNotAvailable, InvalidConfig
from agentgym.eval.metrics import gaia_score
from agentgym.tools.base import Tool, ToolCall, Toolset
from agentgym.tools.calculator import calculator

__all__ = ["DEFAULT_TOOLS", "GAIAEnv"]

log = logging.getLogger(__name__)
DEFAULT_TOOLS: tuple[str, ...] = ("search", "fetch", "python", "calculator", "read_file")
_FINAL = re.compile(r"FINAL ANSWER:\s*(.+?)\s*$", re.S | re.I)

INSTRUCTIONS = (
    "You are a general AI assistant. Answer the question, using the tools when they help. "
    "Finish with <answer>YOUR FINAL ANSWER</answer> (or a last line `FINAL ANSWER: ...`). "
    "YOUR FINAL ANSWER should be a number OR as few words as possible OR a comma separated list of "
    "numbers and/or strings. Write numbers without commas or units (no $ or %) unless asked; "
    "write strings without articles or abbreviations; apply these rules to each element of a list."
)


@functools.lru_cache(maxsize=16)
def _load(root: str, split: str | None, levels: tuple[int, ...] | None) -> GAIADataset:
    return load_gaia(root, split=split, levels=levels)


@functools.lru_cache(maxsize=16)
def _corpus_retriever(path: str, kind: str = "bm25") -> Retriever:
    """A retriever over a corpus.jsonl: the search package's backend, else a keyword fallback."""
    try:
        from agentgym.tools.search import make_retriever
    except ImportError:  # the search extra is not installed: keep GAIA-v0 usable
        log.info("agentgym.tools.search unavailable; GAIA-v0 searches %s with a keyword fallback", path)
        return KeywordRetriever(
            [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
        )
    return make_retriever(kind, corpus=path)


class GAIAEnv(ToolEnv):
    """GAIA-format question answering with tools; reward 1 when `gaia_score` accepts the answer."""

    instructions = INSTRUCTIONS
    default_max_turns = 12

    def __init__(
        self,
        data_dir: str | None = None,
        *,
        split: str | None = None,
        levels: Sequence[int] | None = None,
        tools: Sequence[str] = DEFAULT_TOOLS,
        retriever: Retriever | str | None = None,
        search_k: int = 3,
        fetch_timeout_s: float = 10.0,
        fetch_max_bytes: int = 2_000_000,
        builtin_n: int = 60,
        builtin_seed: int = 0,
        sandbox: str = "process",
        **kwargs: Any,
    ):
        unknown = set(tools) - set(DEFAULT_TOOLS)
        if unknown:
            raise InvalidConfig(f"unknown GAIA tool(s) {sorted(unknown)}; choose from {DEFAULT_TOOLS}")
        root = Path(data_dir).expanduser() if data_dir else builtin_dir(n=builtin_n, seed=builtin_seed)
        self.dataset = _load(str(root), split, tuple(sorted(levels)) if levels else None)
        if not self.dataset.tasks:
            raise EnvNotAvailable(
                f"no usable GAIA tasks in {root} ({len(self.dataset.problems)} problem(s); first: "
                f"{self.dataset.problems[0] if self.dataset.problems else 'none'})"
            )
        self._by_id = self.dataset.by_id()
        corpus = self.dataset.root / "corpus.jsonl"
        self.retriever = self._resolve_retriever(retriever, corpus)
        self._tool_names = tuple(tools)
        self._sandbox_backend = sandbox
        self._sandbox: Any = None
        self._session: Any = None
        self._tool_options = {
            "search_k": search_k,
            "fetch_timeout_s": fetch_timeout_s,
            "fetch_max_bytes": fetch_max_bytes,
        }
        super().__init__(tools=self._make_tools(), **kwargs)

    # ------------------------------------------------------------------ tools
    @staticmethod
    def _resolve_retriever(retriever: Retriever | str | None, corpus: Path) -> Retriever | None:
        """An object is used as is; a kind (bm25, dense, hybrid) indexes the dir's corpus.jsonl;
        `web` searches the internet (ddgs); None means bm25 over corpus.jsonl when there is one."""
        if retriever is not None and not isinstance(retriever, str):
            return retriever
        if retriever in ("web",):
            from agentgym.tools.search import make_retriever

            return make_retriever("web")
        if not corpus.is_file():
            if retriever is not None:
                raise InvalidConfig(
                    f"retriever={retriever!r} needs a corpus.jsonl beside the metadata; none at {corpus}"
                )
            return None
        return _corpus_retriever(str(corpus), retriever or "bm25")

    def _attachment(self) -> tuple[str, str, str | None]:
        if self.task is None:
            return "(none)", "", None
        return self.task.id, str(self.task.meta.get("file_name") or ""), self.task.private.get("file_path")

    def _python_session(self) -> Any:
        """The episode's interpreter, started on first use (most episodes never need one)."""
        if self._session is None:
            from agentgym.tools.sandbox import make_sandbox

            if self._sandbox is None:
                self._sandbox = make_sandbox(self._sandbox_backend)
            self._session = self._sandbox.session()
        return self._session

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        self._drop_session()  # a new episode gets a fresh interpreter
        return super().reset(seed=seed, options=options)

    def close(self) -> None:
        self._drop_session()
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        super().close()

    def _make_tools(self) -> list[Tool]:
        opts = self._tool_options
        made: list[Tool] = []
        for name in self._tool_names:
            if name == "search":
                if self.retriever is None:
                    log.info("GAIA-v0: no retriever and no corpus.jsonl; running without the search tool")
                    continue
                made.append(make_search_tool(self.retriever, k=opts["search_k"]))
            elif name == "fetch":
                made.append(
                    make_fetch_tool(timeout_s=opts["fetch_timeout_s"], max_bytes=opts["fetch_max_bytes"])
                )
            elif name == "python":
                py = make_python(self._python_session)
                if py is not None:
                    made.append(py)
            elif name == "calculator":
                made.append(calculator)
            elif name == "read_file":
                made.append(make_read_file_tool(self._attachment))
        return made

    def fork_unwrapped(self) -> GAIAEnv:
        new = super().fork_unwrapped()
        assert isinstance(new, GAIAEnv)
        new._sandbox = new._session = None  # interpreter state cannot be copied; the fork starts a fresh one
        new.toolset = Toolset(new._make_tools())  # read_file must see the copy's task, not ours
        new.parser = make_parser(new.action_format, new.toolset, answer_tag=self.parser.answer_tag)
        return new

    # ------------------------------------------------------------------ tasks
    @property
    def problems(self) -> list[DataProblem]:
        return list(self.dataset.problems)

    def task_ids(self) -> list[str]:
        """Every usable task id, in file order (the eval runner enumerates these)."""
        return [t.id for t in self.dataset.tasks]

    def sample_task(self, rng: np.random.Generator) -> Task:
        return self.dataset.tasks[int(rng.integers(len(self.dataset.tasks)))]

    def get_task(self, task_id: str) -> Task:
        if task_id not in self._by_id:
            bad = [p for p in self.dataset.problems if p.task_id == task_id]
            if bad:
                raise KeyError(str(bad[0]))
            raise KeyError(f"no GAIA task {task_id!r} in {self.dataset.root} ({len(self._by_id)} tasks)")
        return self._by_id[task_id]

    def task_observation(self, task: Task) -> str:
        name = task.meta.get("file_name")
        return task.prompt + (f"\n\nAttached file: {name} (read it with read_file)" if name else "")

    # ------------------------------------------------------------------ answers
    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if isinstance(action, str) and self.action_format != "openai" and "FINAL ANSWER" in action.upper():
            m = _FINAL.search(action)
            if m and self.parser.parse(action).error is not None:
                action = self.parser.format_answer(m.group(1))
        return super().step(action)

    def score_answer(self, answer: str, task: Task) -> Score:
        m = _FINAL.search(answer)
        model_answer = m.group(1) if m else answer.strip()
        gold = str(task.answer)
        if gold.strip() in ("", "?"):  # the test split hides its answers: only the submission file counts
            return Score(0.0, 0.0, False, {"model_answer": model_answer, "gold_available": False})
        ok = gaia_score(model_answer, gold)
        return Score(float(ok), float(ok), ok, {"model_answer": model_answer})

    def oracle_action(self) -> str:
        """Follow the task's scripted plan (built-in set), then answer with the gold answer."""
        assert self.task is not None, "call reset() first"
        plan = [c for c in self.task.private.get("plan") or [] if c["name"] in self.toolset]
        if self.turn < len(plan):
            call = plan[self.turn]
            return self.parser.format_call(ToolCall(call["name"], call["arguments"], id=f"call_{self.turn}"))
        return self.parser.format_answer(str(self.task.answer))
