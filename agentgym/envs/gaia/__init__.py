"""`agentgym/GAIA-v0`: GAIA-format benchmarks and a built-in generated GAIA-style set."""

from __future__ import annotations

from agentgym.envs.gaia.data import DataProblem, GAIADataset, load_gaia
from agentgym.envs.gaia.env import GAIAEnv

__all__ = ["DataProblem", "GAIADataset", "GAIAEnv", "load_gaia"]
