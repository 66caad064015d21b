"""ARPO: Agentic Reinforced Policy Optimization (arXiv 2507.19849).

ARPO is GRPO (§1 of docs/algorithms.md) over *tree* samples: after each tool result the policy's
entropy over the first k tokens of the next segment is compared with the path's root entropy, and
high-entropy steps fork extra branches (`agentgym.rollout.TreeSampler`).

    ΔH_t = H_t − H_root                                              (Eq. 1)
    P(branch at t) = clip(α + β·ΔH_t, 0, 1)    α = `base`, β = `weight`   (Eq. 2)
    R = −1 (bad format) | F1 + r_M·[multi-tool] (F1 > 0) | 0          (Eq. 3, hierarchical reward)
    Â_shared = (1/d) Σ_{j≤d} Â_j   over the d branches through a token  (Eq. 4, hard attribution)

Code-vs-paper notes. The official rollout draws U ~ U(0,1) and branches iff U − w·ΔH ≤ α; that is
Eq. 2 with a uniform threshold (`should_branch`). The official code keeps a never-cleared dict of
root entropies indexed by path number, so after the first batch H_root is stale; here every path
carries the root entropy of its own root and children inherit it. *Soft* attribution (the default)
is plain GRPO over the materialised branches: copies of a shared prefix have identical ratios, so the
summed gradient already equals the mean advantage while clipping is inactive. *Hard* attribution
gives every copy of a shared turn the mean advantage of the branches through it (Eq. 4), which
differs from soft only where the ratio is clipped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from agentgym.core.env import fork
from agentgym.errors import InvalidConfig
from agentgym.rollout.tree import TreeSampler, topk_entropy
from agentgym.trainers.advantages import grpo_advantages
from agentgym.trainers.algorithm import Algorithm, AlgorithmConfig, Batch, register_algorithm

__all__ = [
    "ARPO",
    "ARPOBranching",
    "ARPOConfig",
    "attribute_turn_advantages",
    "branch_probability",
    "hierarchical_reward",
    "normalized_topk_entropy",
    "should_branch",
    "trajectory_reward",
]


def branch_probability(delta_h: float, *, base: float = 0.5, weight: float = 0.2) -> float:
    """P(branch) = clip(base + weight·ΔH, 0, 1) (Eq. 2).

    >>> round(branch_probability(0.3), 4), branch_probability(-0.5), branch_probability(0.0)
    (0.56, 0.4, 0.5)
    """
    return float(min(1.0, max(0.0, base + weight * delta_h)))


def should_branch(delta_h: float, u: float, *, base: float = 0.5, weight: float = 0.2) -> bool:
    """The official code's decision rule: branch iff clip(U − w·ΔH, 0, 1) ≤ base, U ~ U(0, 1).

    Kept as the oracle of `branch_probability`: over uniform U it branches with exactly that probability.
    """
    return min(1.0, max(0.0, u - weight * delta_h)) <= base


@dataclass(frozen=True)
class ARPOBranching:
    """Branch rule for `TreeSampler`: ARPO ignores the consecutive-branch count."""

    base: float = 0.5
    weight: float = 0.2

    def probability(self, delta_h: float, consecutive: int = 0) -> float:
        return branch_probability(delta_h, base=self.base, weight=self.weight)


def normalized_topk_entropy(top_logprobs: Sequence[Sequence[float]], vocab_size: int) -> float:
    """ARPO's rollout-time entropy proxy from top-k logprobs, normalised by log|V|.

    Σ over the segment's first tokens and their top-k candidates of −p·log p, divided by log|V|.
    It is a *sum* over tokens (as in the official code), and a lower bound of the true entropy
    because the tail of the vocabulary is ignored; `TreeSampler` labels which estimator it used.

    >>> round(normalized_topk_entropy([[math.log(0.5), math.log(0.5)]], 151646), 5)
    0.0581
    """
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2 for a normalised entropy, got {vocab_size}")
    return topk_entropy(top_logprobs) / math.log(vocab_size)


def hierarchical_reward(
    f1: float,
    *,
    format_ok: bool,
    used_tools: set[str] | frozenset[str] = frozenset(),
    multi_tool_bonus: float = 0.1,
    multi_tools: tuple[str, ...] = ("search", "python"),
) -> float:
    """ARPO's reward (Eq. 3): −1 for bad format, F1 (+ r_M when all `multi_tools` were used) if F1 > 0, else 0.

    >>> hierarchical_reward(0.5, format_ok=True, used_tools={"search", "python"})
    0.6
    >>> hierarchical_reward(1.0, format_ok=False)
    -1.0
    """
    if not format_ok:
        return -1.0
    if f1 <= 0:
        return 0.0
    bonus = multi_tool_bonus if all(t in used_tools for t in multi_tools) else 0.0
    return float(f1 + bonus)


def attribute_turn_advantages(
    advantages: Sequence[float], segment_ids: Sequence[Sequence[Hashable]], *, mode: str = "soft"
) -> list[np.ndarray]:
    """Per-turn advantages of tree samples (Eq. 4).

    Args:
        advantages: one scalar advantage per materialised branch (e.g. GRPO over its group).
        segment_ids: per branch, one id per turn; turns shared through a fork carry the same id.
        mode: ``"soft"`` (every turn keeps its branch's advantage) or ``"hard"`` (a shared turn gets
            the mean advantage of the branches through it).

    Returns:
        One float64 array per branch with one advantage per turn.

    >>> [a.tolist() for a in attribute_turn_advantages([1.0, -1.0], [["r0", "a"], ["r0", "b"]], mode="hard")]
    [[0.0, 1.0], [0.0, -1.0]]
    """
    if len(advantages) != len(segment_ids):
        raise ValueError(
            f"need one advantage per branch: {len(advantages)} advantages, {len(segment_ids)} branches"
        )
    if mode == "soft":
        return [np.full(len(ids), float(a)) for a, ids in zip(advantages, segment_ids, strict=True)]
    if mode != "hard":
        raise ValueError(f"attribution mode must be 'soft' or 'hard', got {mode!r}")
    through: dict[tuple[Hashable, int], list[float]] = defaultdict(list)
    for a, ids in zip(advantages, segment_ids, strict=True):
        for turn, sid in enumerate(ids):
            through[(sid, turn)].append(float(a))  # turn t of segment `sid` is one span of tokens
    mean = {key: float(np.mean(v)) for key, v in through.items()}
    return [np.array([mean[(sid, t)] for t, sid in enumerate(ids)], dtype=np.float64) for ids in segment_ids]


def trajectory_reward(
    traj: Any,
    *,
    mode: str = "env",
    multi_tool_bonus: float = 0.1,
    multi_tools: tuple[str, ...] = ("search", "python"),
) -> float:
    """R_i of a trajectory: the env's total reward, or ARPO's hierarchical reward (Eq. 3) from its score.

    Format is good when no turn had a parse error and the episode ended with an answer.
    """
    if mode == "env":
        return float(traj.total_reward)
    ok = traj.terminated and not any(t.info.get("parse_error") for t in traj.turns)
    used = {c.get("name") for t in traj.turns for c in t.info.get("tool_calls", [])}
    return hierarchical_reward(
        traj.score, format_ok=ok, used_tools=used, multi_tool_bonus=multi_tool_bonus, multi_tools=multi_tools
    )


@dataclass(frozen=True, kw_only=True)
class ARPOConfig(AlgorithmConfig):
    """ARPO; the shared loss fields are documented on AlgorithmConfig. The budget n is `trainer.group_size`."""

    name: str = "arpo"
    """Algorithm name."""
    initial_rollouts: int = 8
    """N, full rollouts per prompt before branching (paper 8 of n = 16); clamped to group_size."""
    beam_size: int = 2
    """A branching path forks into up to beam_size − 1 children (paper 2)."""
    branch_probability: float = 0.5
    """α, base branch probability (paper 0.5)."""
    entropy_weight: float = 0.2
    """β, weight of ΔH in P(branch) (paper scripts 0.2; yaml default 0.5)."""
    entropy_tokens: int = 20
    """k, segment tokens whose entropy is measured (paper 20)."""
    entropy_reduce: Literal["sum", "mean"] = "sum"
    """Sum (official code) or mean of the k token entropies, each divided by log|V|."""
    attribution: Literal["soft", "hard"] = "soft"
    """Advantage attribution over shared prefixes (paper default soft)."""
    reward: Literal["env", "hierarchical"] = "env"
    """R_i: the env's reward, or ARPO's hierarchical reward (−1 bad format, F1 + multi-tool bonus)."""
    multi_tool_bonus: float = 0.1
    """r_M, bonus for using all of `multi_tools` in a correct answer (paper 0.1)."""
    multi_tools: tuple[str, ...] = ("search", "python")
    """Tools that must all be used for the multi-tool bonus."""
    scale_by_std: bool = True
    """GRPO std normalisation (ARPO uses GRPO's default)."""
    branch_seed: int = 0
    """Seed of the branch-decision RNG."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.initial_rollouts < 1 or self.beam_size < 1 or self.entropy_tokens < 1:
            raise InvalidConfig(
                f"initial_rollouts, beam_size and entropy_tokens must be >= 1; got {self.initial_rollouts}, "
                f"{self.beam_size}, {self.entropy_tokens}"
            )


@register_algorithm
class ARPO(Algorithm):
    """GRPO over entropy-branched tree samples (`sampler = "tree"`: the trainer calls `collect`)."""

    name = "arpo"
    config_class = ARPOConfig
    sampler = "tree"
    cfg: ARPOConfig

    def __init__(self, cfg: AlgorithmConfig, *, total_steps: int = 1):
        super().__init__(cfg, total_steps=total_steps)
        self.rng = np.random.default_rng(self.cfg.branch_seed)
        self._tree_metrics: dict[str, float] = {}

    def state_dict(self) -> dict[str, Any]:
        return {"branch_rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "branch_rng" in state:
            self.rng.bit_generator.state = state["branch_rng"]

    def branch_rule(self) -> Any:
        return ARPOBranching(base=self.cfg.branch_probability, weight=self.cfg.entropy_weight)

    def initial_rollouts(
        self, n: int, sampler: TreeSampler, make_env: Any, seeds: Sequence[int]
    ) -> list[int]:
        """N per prompt (AEPO overrides this with entropy pre-monitoring)."""
        return [min(self.cfg.initial_rollouts, n)] * len(seeds)

    def collect(
        self,
        policy: Any,
        envs: Sequence[Any],
        seeds: Sequence[int],
        group: int,
        sampling: Any,
        *,
        max_turns: int | None = None,
        max_context_tokens: int | None = None,
    ) -> list[Any]:
        """Tree rollouts: `group` paths per seed; new roots and forks are copies of `envs[0]`."""
        cfg = self.cfg
        sampler = TreeSampler(
            policy, rule=self.branch_rule(), beam_size=cfg.beam_size, entropy_tokens=cfg.entropy_tokens,
            entropy_reduce=cfg.entropy_reduce, rng=self.rng, sampling=sampling, max_turns=max_turns,
            max_context_tokens=max_context_tokens,
        )  # fmt: skip
        template = envs[0]
        spec = getattr(template, "spec", None)
        env_id = spec.id.split("/", 1)[-1] if spec is not None else type(template).__name__
        make_env = lambda: fork(template)  # noqa: E731
        init = self.initial_rollouts(group, sampler, make_env, seeds)
        tree = sampler.sample(make_env, seeds, n=group, initial_rollouts=init, env_id=env_id)
        for k, v in tree.metrics.items():
            self._tree_metrics[k] = self._tree_metrics.get(k, 0.0) + v
        self._tree_metrics["tree/initial_rollouts/mean"] = float(np.mean(init))
        return tree.trajectories

    def on_batch(self, batch: Batch, ctx: Any) -> None:
        batch.extras.setdefault("metrics", {}).update(self._tree_metrics)
        self._tree_metrics = {}

    def advantages(self, batch: Batch) -> torch.Tensor:
        cfg = self.cfg
        rewards = [
            trajectory_reward(
                t, mode=cfg.reward, multi_tool_bonus=cfg.multi_tool_bonus, multi_tools=cfg.multi_tools
            )
            for t in batch.trajectories
        ]  # Eq. (3)
        a = grpo_advantages(rewards, batch.group_ids, scale_by_std=cfg.scale_by_std)
        if cfg.attribution == "soft":
            return batch.broadcast(a)
        segs = [
            [(g, s) for s in (t.info.get("tree") or {}).get("segment_ids", [f"own{i}"] * len(t.turns))]
            for i, (g, t) in enumerate(zip(batch.group_ids, batch.trajectories, strict=True))
        ]
        return batch.broadcast_turns(attribute_turn_advantages(a.tolist(), segs, mode="hard"))  # Eq. (4)
