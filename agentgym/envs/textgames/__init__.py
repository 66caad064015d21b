"""Command-driven text games: TextWorld, ScienceWorld and ALFWorld behind one `TextGameEnv` base.

The adapters import their game packages lazily, so `import agentgym.envs.textgames` works
without the ``textworld`` extra; making an env without it raises a clear error.
"""

from __future__ import annotations

from agentgym.envs.textgames.base import GameBackend, GameStep, TextGameEnv, action, normalize_command

__all__ = ["GameBackend", "GameStep", "TextGameEnv", "action", "normalize_command"]
