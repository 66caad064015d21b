"""Replay buffers: SPEAR's trajectory buffer and ArCHer's transition ring buffer.

Both keep the behaviour log-probs their off-policy ratios need (inside the stored items), and
both take an injectable `numpy.random.Generator` so sampling is reproducible and testable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from agentgym.errors import InvalidConfig

__all__ = [
    "Entry",
    "ReplayBatch",
    "TrajectoryReplayBuffer",
    "Transition",
    "TransitionBuffer",
    "recalibrate",
    "replay_batch_size",
]

T = TypeVar("T")


def recalibrate(
    returns: Sequence[float] | np.ndarray,
    baseline_history: Sequence[float] | np.ndarray,
    *,
    std_history: Sequence[float] | np.ndarray | None = None,
    norm_by_std: bool = False,
) -> np.ndarray:
    """Â = R − p50(group-mean history), optionally ÷ p50(std history) (Eq. 3).

    The caller drops entries with Â < 0. p50 is numpy's linear-interpolation median.

    >>> recalibrate([1.0, 0.4], [0.2, 0.4, 0.6, 0.8]).round(6).tolist()
    [0.5, -0.1]
    """
    r = np.asarray(returns, dtype=np.float64)
    if len(baseline_history) == 0:
        raise ValueError("recalibration needs a non-empty baseline history of group-mean rewards")
    adv = r - float(np.percentile(np.asarray(baseline_history, dtype=np.float64), 50))
    if norm_by_std:
        if std_history is None or len(std_history) == 0:
            raise ValueError("norm_by_std=True needs a non-empty std_history")
        adv = adv / (float(np.percentile(np.asarray(std_history, dtype=np.float64), 50)) + 1e-6)
    return adv


@dataclass
class Entry(Generic[T]):
    """One admitted trajectory: its return, on-policy advantage, admission step and payload."""

    reward: float
    advantage: float
    step: int
    item: T


@dataclass
class ReplayBatch(Generic[T]):
    """What `TrajectoryReplayBuffer.sample` hands to the self-imitation pass."""

    items: list[T]
    advantages: np.ndarray
    eligible: int


class TrajectoryReplayBuffer(Generic[T]):
    """SPEAR's `TrajectoryBufferBatch`: admission, staleness, baseline history, trigger, replay.

    Args:
        capacity: `trajectory_buffer_size` (2048); also the cap of a replay batch.
        tolerate_steps: entries older than this many steps behind the newest are evicted (5).
        baseline_size: how many group-mean rewards (and stds) the history keeps (10240).
        trigger_factor: replay starts when more than `trigger_factor·capacity` entries beat p50 (1.5).
        norm_by_std: divide recalibrated advantages by p50 of the std history (Dr.BoT: off).
    """

    def __init__(
        self,
        capacity: int = 2048,
        *,
        tolerate_steps: int = 5,
        baseline_size: int = 10240,
        trigger_factor: float = 1.5,
        norm_by_std: bool = False,
    ):
        if capacity < 1 or tolerate_steps < 0 or baseline_size < 1 or trigger_factor <= 0:
            raise InvalidConfig(
                f"TrajectoryReplayBuffer needs capacity >= 1, tolerate_steps >= 0, baseline_size >= 1 and "
                f"trigger_factor > 0; got {capacity}, {tolerate_steps}, {baseline_size}, {trigger_factor}"
            )
        self.capacity, self.tolerate_steps, self.trigger_factor = capacity, tolerate_steps, trigger_factor
        self.norm_by_std = norm_by_std
        self.entries: list[Entry[T]] = []
        self.group_means: deque[float] = deque(maxlen=baseline_size)
        self.group_stds: deque[float] = deque(maxlen=baseline_size)

    def __len__(self) -> int:
        return len(self.entries)

    def add(
        self, items: Sequence[T], rewards: Sequence[float], advantages: Sequence[float], step: int
    ) -> int:
        """Admit the items whose on-policy advantage is > 0, stamped with `step`; evict stale ones.

        Returns the number admitted.
        """
        admitted = 0
        for item, r, a in zip(items, rewards, advantages, strict=True):
            if a > 0:
                self.entries.append(Entry(float(r), float(a), int(step), item))
                admitted += 1
        self.evict(step)
        return admitted

    def evict(self, step: int) -> None:
        """Drop entries more than `tolerate_steps` behind `step`."""
        self.entries = [e for e in self.entries if step - e.step <= self.tolerate_steps]

    def update_baseline(self, group_means: Iterable[float], group_stds: Iterable[float] = ()) -> None:
        """Append this step's per-prompt-group mean rewards (and stds) to the history."""
        self.group_means.extend(float(x) for x in group_means)
        self.group_stds.extend(float(x) for x in group_stds)

    def num_above_baseline(self) -> int:
        if not self.group_means:
            return 0
        p50 = float(np.percentile(np.asarray(self.group_means), 50))
        return sum(e.reward > p50 for e in self.entries)

    def ready(self) -> bool:
        """The replay trigger: more than trigger_factor·capacity entries beat p50 of the history."""
        return self.num_above_baseline() > self.trigger_factor * self.capacity

    def sample(self, rng: np.random.Generator) -> ReplayBatch[T]:
        """Recalibrate, drop Â < 0, replay a random power-of-two subset (≤ capacity), then clear."""
        if not self.entries or not self.group_means:
            self.entries = []
            return ReplayBatch([], np.zeros(0), 0)
        adv = recalibrate(
            [e.reward for e in self.entries],
            list(self.group_means),
            std_history=list(self.group_stds),
            norm_by_std=self.norm_by_std,
        )
        keep = np.flatnonzero(adv >= 0)
        size = replay_batch_size(len(keep), self.capacity)
        chosen = rng.choice(keep, size=size, replace=False) if size else np.zeros(0, dtype=int)
        batch = ReplayBatch([self.entries[i].item for i in chosen], adv[chosen], len(keep))
        self.entries = []
        return batch


def replay_batch_size(eligible: int, cap: int) -> int:
    """2^⌊log₂ N⌋ capped at `cap` (0 for N = 0): SPEAR replays a power-of-two batch.

    >>> replay_batch_size(3100, 2048), replay_batch_size(1000, 2048), replay_batch_size(0, 2048)
    (2048, 512, 0)
    """
    if eligible <= 0:
        return 0
    return min(1 << (int(eligible).bit_length() - 1), cap)


@dataclass
class Transition:
    """One utterance-level step for ArCHer: (s, a, r, s', done) plus the Monte-Carlo return."""

    observation: str
    action: str
    reward: float
    next_observation: str
    done: bool
    mc_return: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class TransitionBuffer:
    """ArCHer's circular transition buffer with uniform sampling with replacement."""

    def __init__(self, capacity: int = 100_000):
        if capacity < 1:
            raise InvalidConfig(f"TransitionBuffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._data: list[Transition] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._data)

    def add(self, transition: Transition) -> None:
        if len(self._data) < self.capacity:
            self._data.append(transition)
        else:
            self._data[self._next] = transition
        self._next = (self._next + 1) % self.capacity

    def add_episode(self, transitions: Sequence[Transition], gamma: float) -> None:
        """Insert an episode's transitions with their discounted Monte-Carlo returns filled in."""
        g = 0.0
        returns = []
        for t in reversed(transitions):
            g = t.reward + gamma * g * (0.0 if t.done else 1.0)
            returns.append(g)
        for t, g in zip(transitions, reversed(returns), strict=True):
            t.mc_return = g
            self.add(t)

    def sample(self, batch_size: int, rng: np.random.Generator) -> list[Transition]:
        if not self._data:
            raise ValueError("cannot sample from an empty TransitionBuffer; add transitions first")
        return [self._data[i] for i in rng.integers(0, len(self._data), size=batch_size)]
