"""Multi-turn RL: the `Trainer`, algorithm registry, advantage estimators, loss terms and schedules.

Heavy modules (torch, transformers) load on first attribute access.

>>> from agentgym.trainers import get_algorithm
>>> get_algorithm("grpo").name
'grpo'
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Algorithm",
    "AlgorithmConfig",
    "Batch",
    "RunConfig",
    "SFTConfig",
    "SFTTrainer",
    "Trainer",
    "algorithm_names",
    "get_algorithm",
    "load_run_config",
    "register_algorithm",
    "run_training",
]

_LAZY = {
    "Algorithm": "agentgym.trainers.algorithm",
    "AlgorithmConfig": "agentgym.trainers.algorithm",
    "Batch": "agentgym.trainers.algorithm",
    "algorithm_names": "agentgym.trainers.algorithm",
    "get_algorithm": "agentgym.trainers.algorithm",
    "register_algorithm": "agentgym.trainers.algorithm",
    "RunConfig": "agentgym.trainers.run_config",
    "load_run_config": "agentgym.trainers.run_config",
    "Trainer": "agentgym.trainers.trainer",
    "run_training": "agentgym.trainers.job",
    "SFTConfig": "agentgym.trainers.sft",
    "SFTTrainer": "agentgym.trainers.sft",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentgym.trainers' has no attribute {name!r}")
