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

import numpy as np

__all__ = [
    "ARPOBranching",
    "attribute_turn_advantages",
    "branch_probability",
    "hierarchical_reward",
    "normalized_topk_entropy",
    "should_branch",
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
    total = 0.0
    for candidates in top_logprobs:
        for lp in candidates:
            total -= math.exp(lp) * lp
    return total / math.log(vocab_size)


def hierarchical_reward(f1: float, *, format_ok: bool, used_tools: set[str] | frozenset[str] = frozenset(),
                        multi_tool_bonus: float = 0.1, multi_tools: tuple[str, ...] = ("search", "python")) -> float:
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
        raise ValueError(f"need one advantage per branch: {len(advantages)} advantages, {len(segment_ids)} branches")
    if mode == "soft":
        return [np.full(len(ids), float(a)) for a, ids in zip(advantages, segment_ids)]
    if mode != "hard":
        raise ValueError(f"attribution mode must be 'soft' or 'hard', got {mode!r}")
    through: dict[Hashable, list[float]] = defaultdict(list)
    for a, ids in zip(advantages, segment_ids):
        for sid in set(ids):
            through[sid].append(float(a))
    mean = {sid: float(np.mean(v)) for sid, v in through.items()}
    return [np.array([mean[sid] for sid in ids], dtype=np.float64) for ids in segment_ids]
