"""`TreeSampler`: entropy-guided tree rollouts for ARPO and AEPO (ALGORITHMS.md §6.3, §7.1).

Per prompt a global budget of `n` paths. `initial_rollouts` paths start from the prompt; after each
tool result the policy's entropy over the first `k` tokens of the next segment is compared with
the path's *root* entropy (ΔH = H_t − H_root; children inherit their root's value, fixing the
official code's stale per-index dict), and with probability `rule.probability(ΔH, c_q)` the path
forks into up to `beam_size − 1` children *before* that segment: each child gets `agentgym.fork`
of the env and a copy of the prefix tokens, and samples its own segment next round. A prompt whose
paths have all ended gets `fill_per_round` fresh rollouts per round until it has `n`. The budget is
never exceeded and never padded with duplicates: if `max_rounds` runs out first, the shortfall is
reported in `metrics["tree/unfilled"]`.

Entropy estimators, labelled in `TreeBatch.estimator`: ``full-vocab`` (the backend's per-token
full-vocabulary entropies, e.g. `HFPolicy`), ``top-k`` (Σ −p·log p over top-k logprobs, a lower
bound, as ARPO's vLLM code) and ``surprisal`` (−log p of the sampled tokens, an unbiased
single-sample estimate, for backends that return neither).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from agentgym.core.env import fork
from agentgym.errors import InvalidConfig
from agentgym.llm.base import Completion
from agentgym.llm.chat import stop_strings_for
from agentgym.rollout.collector import Collector, EpisodeStart
from agentgym.rollout.trajectory import Trajectory

__all__ = [
    "BranchDecision",
    "BranchRule",
    "TreeBatch",
    "TreeNode",
    "TreeSampler",
    "segment_entropy",
    "topk_entropy",
]

log = logging.getLogger(__name__)


class BranchRule(Protocol):
    """P(branch) from the entropy change and the prompt's consecutive-branch count."""

    def probability(self, delta_h: float, consecutive: int = 0) -> float: ...


def topk_entropy(top_logprobs: Sequence[Sequence[float]]) -> float:
    """Σ over tokens and their top-k candidates of −p·log p (ARPO's rollout-time proxy, unnormalised)."""
    return float(sum(-math.exp(lp) * lp for cands in top_logprobs for lp in cands))


def segment_entropy(comp: Completion, k: int, *, reduce: str = "sum") -> tuple[float, str]:
    """Entropy of the first `k` tokens of a segment and the estimator used.

    `reduce="sum"` sums over the tokens (ARPO's code), `"mean"` averages them.
    """
    top = getattr(comp, "top_logprobs", None)
    if comp.entropies:
        vals, est = [float(x) for x in comp.entropies[:k]], "full-vocab"
    elif top:
        vals, est = [topk_entropy([c]) for c in top[:k]], "top-k"
    else:
        vals, est = [-float(x) for x in comp.logprobs[:k]], "surprisal"
    if not vals:
        return 0.0, est
    return (float(sum(vals)) if reduce == "sum" else float(np.mean(vals))), est


@dataclass
class TreeNode:
    """Where one materialised path came from.

    `parent` is the index (in `TreeBatch.nodes`) of the path it forked from (None for a root),
    `fork_turn` the number of turns it shares with the parent, `segment_ids[t]` the index of the
    path that sampled its turn t (equal ids = shared tokens; used for hard advantage attribution).
    """

    index: int
    prompt_index: int
    parent: int | None = None
    fork_turn: int = 0
    fresh_fill: bool = False
    root_entropy: float | None = None
    segment_ids: list[int] = field(default_factory=list)
    env: Any = None


@dataclass
class BranchDecision:
    """One branch decision: which path, after how many turns, ΔH, the prompt's consecutive-branch
    count c_q, P(branch), the outcome and the number of children it made (budget-capped)."""

    path: int
    turn: int
    delta_h: float
    consecutive: int
    probability: float
    branched: bool
    children: int = 0


@dataclass
class TreeBatch:
    """The result: trajectories (prompt-major, `n` per prompt) with their tree records.

    Each trajectory's `info["tree"]` repeats its node's record (node, parent, fork_turn,
    segment_ids, root_entropy), so the record survives batching and serialisation.
    """

    trajectories: list[Trajectory]
    nodes: list[TreeNode]
    decisions: list[BranchDecision]
    metrics: dict[str, float]
    estimator: str = "none"


@dataclass
class _Path:
    traj: Trajectory
    start: EpisodeStart
    node: TreeNode


class TreeSampler(Collector):
    """Tree rollouts on top of `Collector` (same policy, chat format, limits and failure handling).

    Args:
        policy, sampling, max_turns, max_context_tokens, chat: as for `Collector`.
        rule: the branch rule (`agentgym.trainers.arpo.ARPOBranching`, `aepo.AEPOBranching`).
        beam_size: a branching path forks into up to `beam_size − 1` children (paper 2).
        entropy_tokens: k, the segment tokens whose entropy is measured (paper 20).
        entropy_reduce: "sum" over the k tokens (official code) or "mean".
        normalize_by_log_vocab: divide entropies by log|V| (the official normalisation).
        fill_per_round: fresh rollouts per round for a prompt whose paths all ended (official 1).
        max_rounds: safety cap on generation rounds; a shortfall is reported, never padded.
        rng: the generator of branch decisions (injectable for tests).
    """

    def __init__(
        self,
        policy: Any,
        *,
        rule: BranchRule,
        beam_size: int = 2,
        entropy_tokens: int = 20,
        entropy_reduce: str = "sum",
        normalize_by_log_vocab: bool = True,
        fill_per_round: int = 1,
        max_rounds: int = 1000,
        rng: np.random.Generator | None = None,
        **collector_kwargs: Any,
    ):
        super().__init__(policy, **collector_kwargs)
        if beam_size < 1 or entropy_tokens < 1 or fill_per_round < 1 or max_rounds < 1:
            raise InvalidConfig(
                f"TreeSampler needs beam_size, entropy_tokens, fill_per_round, max_rounds >= 1; got "
                f"{beam_size}, {entropy_tokens}, {fill_per_round}, {max_rounds}"
            )
        if entropy_reduce not in ("sum", "mean"):
            raise InvalidConfig(f"entropy_reduce must be 'sum' or 'mean', got {entropy_reduce!r}")
        self.rule, self.beam_size, self.k = rule, beam_size, entropy_tokens
        self.reduce, self.fill_per_round, self.max_rounds = entropy_reduce, fill_per_round, max_rounds
        self.rng = rng if rng is not None else np.random.default_rng()
        vocab = len(getattr(self.chat, "tokenizer", None) or []) if normalize_by_log_vocab else 0
        self._log_vocab = math.log(vocab) if vocab > 1 else 1.0

    # ----------------------------------------------------------------- public
    def sample(
        self,
        make_env: str | Callable[[], Any],
        seeds: Sequence[int],
        *,
        n: int,
        initial_rollouts: int | Sequence[int],
        keep_envs: bool = False,
        env_id: str = "",
        **env_kwargs: Any,
    ) -> TreeBatch:
        """Sample `n` paths for each seed; `initial_rollouts` (one int or one per seed) start as roots."""
        factory = _factory(make_env, env_kwargs)
        env_id = env_id or (make_env if isinstance(make_env, str) else "")
        init = (
            [initial_rollouts] * len(seeds) if isinstance(initial_rollouts, int) else list(initial_rollouts)
        )
        if n < 1 or len(init) != len(seeds) or not all(1 <= m <= n for m in init):
            raise InvalidConfig(
                f"need n >= 1 and 1 <= initial_rollouts <= n per seed; got n={n}, initial={init}"
            )
        state = _State(seeds=list(seeds), n=n, env_id=env_id, factory=factory)
        with ThreadPoolExecutor(max_workers=max(1, self.num_workers)) as pool:
            for q, m in enumerate(init):
                for _ in range(m):
                    self._new_root(state, q, fresh=False)
            self._set_stops(state)
            rounds = 0
            while rounds < self.max_rounds and not state.finished():
                rounds += 1
                self._round(state, pool)
        return self._finish(state, rounds, keep_envs)

    def entropy_of(self, comp: Completion) -> tuple[float, str]:
        """This sampler's segment entropy (first k tokens, reduced, normalised) and its estimator."""
        h, est = segment_entropy(comp, self.k, reduce=self.reduce)
        return h / self._log_vocab, est

    # ----------------------------------------------------------------- rounds
    def _round(self, st: _State, pool: ThreadPoolExecutor) -> None:
        created = [0] * len(st.seeds)
        for q in range(len(st.seeds)):
            if not st.live(q) and st.count(q) < st.n:
                for _ in range(min(self.fill_per_round, st.n - st.count(q))):
                    self._new_root(st, q, fresh=True)
                    created[q] += 1
        self._set_stops(st)
        live = [p for p in st.paths if not p.traj.done]
        comps = self._generate([p.traj for p in live]) if live else []
        for p, comp in zip(live, comps, strict=True):
            created[p.node.prompt_index] += self._decide(st, p, comp)
        list(pool.map(lambda a: self._advance_path(*a), zip(live, comps, strict=True)))
        for q, c in enumerate(created):
            st.consecutive[q] = st.consecutive[q] + 1 if c else 0

    def _decide(self, st: _State, p: _Path, comp: Completion) -> int:
        """Measure the segment entropy; maybe fork `p` before this segment. Returns #children."""
        h, est = self.entropy_of(comp)
        st.estimators.add(est)
        if p.node.root_entropy is None:
            p.node.root_entropy = h
            return 0
        if p.node.parent is not None and len(p.traj.turns) == p.node.fork_turn:
            return 0  # a child's first segment re-samples its fork point: that decision was made
        q = p.node.prompt_index
        dh = h - p.node.root_entropy
        prob = float(self.rule.probability(dh, st.consecutive[q]))
        branched = bool(self.rng.random() < prob)
        kids = min(self.beam_size - 1, st.n - st.count(q)) if branched else 0
        st.decisions.append(
            BranchDecision(p.node.index, len(p.traj.turns), dh, st.consecutive[q], prob, branched, kids)
        )
        for _ in range(kids):
            self._fork(st, p)
        return kids

    def _advance_path(self, p: _Path, comp: Completion) -> None:
        p.node.segment_ids.append(p.node.index)
        self._advance(p.start, p.traj, comp)

    # ----------------------------------------------------------------- path creation
    def _new_root(self, st: _State, q: int, *, fresh: bool) -> None:
        idx = len(st.paths)
        start = EpisodeStart(
            st.factory(),
            seed=int(st.seeds[q]),
            group_id=f"{st.env_id}/{st.seeds[q]}",
            sample_index=st.count(q),
            env_id=st.env_id,
        )
        node = TreeNode(idx, q, fresh_fill=fresh)
        st.add(_Path(self._begin(start), start, node))

    def _fork(self, st: _State, parent: _Path) -> None:
        idx, q, turns = len(st.paths), parent.node.prompt_index, len(parent.traj.turns)
        start = EpisodeStart(
            fork(parent.start.env),
            seed=parent.start.seed,
            group_id=parent.traj.group_id,
            sample_index=st.count(q),
            prefix=parent.traj.prefix(turns),
            env_id=st.env_id,
        )
        node = TreeNode(
            idx,
            q,
            parent=parent.node.index,
            fork_turn=turns,
            root_entropy=parent.node.root_entropy,
            segment_ids=list(parent.node.segment_ids[:turns]),
        )
        st.add(_Path(self._begin(start), start, node))

    def _set_stops(self, st: _State) -> None:
        stops = set(self.sampling.stop)
        if self.stop_at_tool_tags and st.paths:
            stops |= set(stop_strings_for(st.paths[0].start.env))
        self._stop = tuple(sorted(stops))

    def _finish(self, st: _State, rounds: int, keep_envs: bool) -> TreeBatch:
        order = sorted(st.paths, key=lambda p: (p.node.prompt_index, p.node.index))
        remap = {p.node.index: i for i, p in enumerate(order)}
        nodes = []
        for p in order:
            node = p.node
            node.index = remap[node.index]
            node.parent = None if node.parent is None else remap[node.parent]
            node.segment_ids = [remap[s] for s in node.segment_ids]
            node.env = p.start.env if keep_envs else None
            p.traj.info["tree"] = {
                "node": node.index,
                "parent": node.parent,
                "fork_turn": node.fork_turn,
                "segment_ids": list(node.segment_ids),
                "root_entropy": node.root_entropy,
            }
            if not keep_envs:
                p.start.env.close()
            nodes.append(node)
        for d in st.decisions:
            d.path = remap[d.path]
        unfilled = sum(max(0, st.n - st.count(q)) for q in range(len(st.seeds)))
        if unfilled:
            log.warning("tree budget not filled after %d rounds: %d paths short", rounds, unfilled)
        branched = sum(d.branched for d in st.decisions)
        metrics = {
            "tree/paths": float(len(order)),
            "tree/unfilled": float(unfilled),
            "tree/decisions": float(len(st.decisions)),
            "tree/branch_rate": branched / len(st.decisions) if st.decisions else 0.0,
            "tree/forks": float(sum(n.parent is not None for n in nodes)),
            "tree/fresh_fills": float(sum(n.fresh_fill for n in nodes)),
            "tree/rounds": float(rounds),
        }
        return TreeBatch(
            [p.traj for p in order], nodes, st.decisions, metrics, "+".join(sorted(st.estimators)) or "none"
        )


@dataclass
class _State:
    seeds: list[int]
    n: int
    env_id: str
    factory: Callable[[], Any]
    paths: list[_Path] = field(default_factory=list)
    decisions: list[BranchDecision] = field(default_factory=list)
    estimators: set[str] = field(default_factory=set)
    consecutive: list[int] = field(default_factory=list)
    _counts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.consecutive = [0] * len(self.seeds)
        self._counts = [0] * len(self.seeds)

    def add(self, p: _Path) -> None:
        self.paths.append(p)
        self._counts[p.node.prompt_index] += 1

    def count(self, q: int) -> int:
        return self._counts[q]

    def live(self, q: int) -> bool:
        return any(not p.traj.done for p in self.paths if p.node.prompt_index == q)

    def finished(self) -> bool:
        return all(self._counts[q] >= self.n for q in range(len(self.seeds))) and not any(
            not p.traj.done for p in self.paths
        )


def _factory(make_env: str | Callable[[], Any], kwargs: dict[str, Any]) -> Callable[[], Any]:
    if isinstance(make_env, str):
        import agentgym

        return lambda: agentgym.make(make_env, **kwargs)
    return make_env
