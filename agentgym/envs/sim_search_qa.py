"""`agentgym/SimSearchQA-v0`: SearchQA whose search tool is a ZeroSearch simulator with a curriculum.

Each search call is independently answered with useful documents or, with probability
p(step) = `zerosearch_noise(step, total, p_start, p_end, base)`, with noisy ones
(ALGORITHMS.md §10.3). `simulator="corpus"` (default, CPU) grounds both in the env's corpus;
any `--model` spec (`tiny`, a checkpoint dir, `openai:URL#MODEL`) or an `agentgym.llm` backend
makes an LLM write them (`agentgym.tools.search.simulated`).

Curriculum hook: the trainer calls `env.set_training_progress(step, total)` on every training
env before each step (a remote env gets the same through `reset(options={"training_progress":
[step, total]})`). The noisy/useful draw of a call is a pure function of the episode seed, the
turn and the query, so the same seed and actions reproduce an episode and forks stay independent.

Evaluation: `grounding="answer_aware"` (the ZeroSearch default; the simulator sees the gold
answer) is for training only. Under `agentgym eval` — which calls `on_evaluation()` on every
env it builds — or with `mode="eval"`, it is refused with an `InvalidConfig` naming the fix
(`grounding=blind`, or evaluate on SearchQA-v0 with the real retriever).

`info` on every step carries `noise_p`, `sim_noisy_calls` and `sim_useful_calls`.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from agentgym.envs.search_qa import SearchQAEnv
from agentgym.errors import InvalidConfig, did_you_mean
from agentgym.llm.base import derive_seed
from agentgym.tools.base import Toolset
from agentgym.tools.search.base import BaseRetriever, Doc, Retriever
from agentgym.tools.search.factory import search_tool
from agentgym.tools.search.simulated import GROUNDINGS, SimContext, Simulator, make_simulator
from agentgym.trainers.schedules import zerosearch_noise

__all__ = ["MODES", "SimSearchQAEnv"]

MODES = ("train", "eval")
_SIMULATORS: dict[tuple[Any, ...], Simulator] = {}  # LLM simulators are loaded once per process
_SLOCK = threading.Lock()


class _EpisodeSearch(BaseRetriever):
    """The retriever the env's search tool calls: draws useful/noisy per call for *this* env."""

    kind = "simulated"

    def __init__(self, env: SimSearchQAEnv):
        self.env = env

    def search(self, query: str, k: int = 3) -> list[Doc]:
        env = self.env
        rng = random.Random(derive_seed("simsearch", env._sim_seed, env.turn, query))
        noisy = rng.random() < env.noise_p  # ZeroSearch: random() > p => useful
        docs = env.simulator.simulate(query, k, noisy=noisy, context=env.sim_context(), rng=rng)
        with env._sim_lock:
            env._sim_calls["noisy" if noisy else "useful"] += 1
        return docs


class SimSearchQAEnv(SearchQAEnv):
    """Multi-hop QA whose search engine is simulated (ZeroSearch), with a noise curriculum.

    Args:
        simulator: "corpus" (real retriever + distractors), an LLM spec, an LLM backend or a `Simulator`.
        simulator_options: extra `LLMSimulator` / `CorpusSimulator` options (templates, words, depth).
        p_start, p_end, base: the curriculum (ZeroSearch scripts: 0, 0.5, 4).
        total_steps: curriculum length m until the trainer calls `set_training_progress`.
        grounding: "answer_aware" (training; sees question + gold answer) or "blind" (query only).
        mode: "train", or "eval" to refuse answer-aware grounding.
        **kwargs: `SearchQAEnv` options (world, data, corpus, k, max_doc_chars, hops, split, reward, ...).
    """

    def __init__(
        self,
        *,
        simulator: Any = "corpus",
        simulator_options: dict[str, Any] | None = None,
        p_start: float = 0.0,
        p_end: float = 0.5,
        base: float = 4.0,
        total_steps: int = 200,
        grounding: str = "answer_aware",
        mode: str = "train",
        **kwargs: Any,
    ):
        if grounding not in GROUNDINGS:
            raise InvalidConfig(
                f"grounding must be one of {GROUNDINGS}, got {grounding!r}."
                + did_you_mean(grounding, GROUNDINGS)
            )
        if mode not in MODES:
            raise InvalidConfig(f"mode must be one of {MODES}, got {mode!r}." + did_you_mean(mode, MODES))
        self.grounding, self.mode = grounding, mode
        self._check_mode()
        self._sim_spec = (simulator, dict(simulator_options or {}), p_start, p_end, base, total_steps)
        self._tool_opts = {
            "max_doc_chars": kwargs.get("max_doc_chars", 300),
            "max_paragraphs": kwargs.get("max_paragraphs"),
        }
        self._sim_seed = 0
        self._sim_calls = {"noisy": 0, "useful": 0}
        self._sim_lock = threading.Lock()
        self.progress = (0, max(int(total_steps), 1))
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ construction
    def _retriever(self, retriever: str | Retriever, options: dict[str, Any]) -> Retriever:
        self.real_retriever = super()._retriever(retriever, options)
        spec, opts, p_s, p_e, b, total = self._sim_spec
        curriculum = {
            "p_start": p_s,
            "p_end": p_e,
            "base": b,
            "total_steps": total,
            "grounding": self.grounding,
        }
        if spec == "corpus":
            corpus = self.world if self.world is not None else self._corpus
            if corpus is None:
                raise InvalidConfig(
                    "simulator='corpus' needs documents: use the default world, world=, or corpus=PATH "
                    "(with index=/url= only, pass an LLM simulator such as simulator='tiny')"
                )
            self.simulator = make_simulator(
                "corpus", corpus=corpus, retriever=self.real_retriever, **opts, **curriculum
            )
        elif isinstance(spec, str):
            key = (spec, self.grounding, tuple(sorted((k, repr(v)) for k, v in opts.items())))
            with _SLOCK:
                if key not in _SIMULATORS:
                    _SIMULATORS[key] = make_simulator(spec, **opts, **curriculum)
                self.simulator = _SIMULATORS[key]
        else:
            self.simulator = (
                make_simulator(spec, **opts, **curriculum) if not isinstance(spec, Simulator) else spec
            )
        return _EpisodeSearch(self)

    def _check_mode(self) -> None:
        if self.mode == "eval" and self.grounding == "answer_aware":
            raise InvalidConfig(
                "SimSearchQA-v0 with grounding='answer_aware' shows the simulator the gold answer, so it "
                "cannot be used for evaluation; pass grounding='blind' (`agentgym eval --env-kwargs '{\"grounding\": \"blind\"}'`) "
                "or evaluate on SearchQA-v0 with the real retriever"
            )

    def on_evaluation(self) -> None:
        """Called by `agentgym eval` on every env it builds: switch to eval mode (refuses answer_aware)."""
        self.mode = "eval"
        self._check_mode()

    # ------------------------------------------------------------------ curriculum
    def set_training_progress(self, step: int, total: int) -> None:
        """Move the noise curriculum to `step` of `total` (the trainer calls this every step)."""
        self.progress = (int(step), max(int(total), 1))

    @property
    def noise_p(self) -> float:
        """The current probability that a search call is answered with noisy documents."""
        _, _, p_s, p_e, b, _ = self._sim_spec  # the env's own curriculum (LLM simulators are shared)
        return zerosearch_noise(*self.progress, p_s, p_e, b)

    def sim_context(self) -> SimContext | None:
        """What an answer-aware simulator may see for the current task (None when blind)."""
        if self.grounding != "answer_aware" or self.task is None:
            return None
        golds = self.task.answer if isinstance(self.task.answer, list) else [str(self.task.answer)]
        return SimContext(
            self.task.prompt, [str(g) for g in golds], list(self.task.private.get("gold_docs") or [])
        )

    # ------------------------------------------------------------------ env hooks
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        progress = (options or {}).get("training_progress")
        if progress is not None:
            self.set_training_progress(*progress)
        obs, info = super().reset(seed=seed, options=options)
        self._sim_seed = int(self.np_random.integers(2**62))
        info["noise_p"] = self.noise_p
        return obs, info

    def extra_state(self) -> dict[str, Any]:
        return {
            **super().extra_state(),
            "sim_seed": self._sim_seed,
            "sim_calls": dict(self._sim_calls),
            "progress": list(self.progress),
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self._sim_seed = int(state.get("sim_seed", self._sim_seed))
        self._sim_calls = dict(state.get("sim_calls", {"noisy": 0, "useful": 0}))
        if "progress" in state:
            self.progress = (int(state["progress"][0]), int(state["progress"][1]))

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        info.update(
            noise_p=self.noise_p,
            sim_noisy_calls=self._sim_calls["noisy"],
            sim_useful_calls=self._sim_calls["useful"],
        )
        return obs, reward, terminated, truncated, info

    def fork_unwrapped(self) -> SimSearchQAEnv:
        """A copy whose search tool draws for the copy (the shallow copy would share this env's tool)."""
        new = super().fork_unwrapped()
        assert isinstance(new, SimSearchQAEnv)
        new._sim_lock = threading.Lock()
        new.retriever = _EpisodeSearch(new)
        new.toolset = Toolset([search_tool(new.retriever, k=self.k, **self._tool_opts)])
        return new
