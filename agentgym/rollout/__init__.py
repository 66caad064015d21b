"""Trajectories, the batched multi-turn collector, and oracle demonstrations.

>>> from agentgym.rollout import collect, Trajectory, Turn, pad_batch
"""

from __future__ import annotations

from agentgym.rollout.collector import Collector, EpisodeStart, collect, rollout_metrics
from agentgym.rollout.tensors import pad_batch
from agentgym.rollout.trajectory import Trajectory, Turn

__all__ = [
    "Collector",
    "EpisodeStart",
    "Trajectory",
    "Turn",
    "collect",
    "collect_demos",
    "pad_batch",
    "rollout_metrics",
]


def __getattr__(name: str):
    if name == "collect_demos":
        from agentgym.rollout.demos import collect_demos

        return collect_demos
    raise AttributeError(f"module 'agentgym.rollout' has no attribute {name!r}")
