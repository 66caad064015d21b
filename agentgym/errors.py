"""Exceptions raised by agentgym.

Every message says what was expected, what arrived and how to fix it. Inside a rollout, bad
actions and tool failures are *data* (observations), never these exceptions; these are for
programming and configuration mistakes, which should fail loudly.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AgentGymError",
    "EnvNotAvailable",
    "EnvNotFound",
    "InvalidConfig",
    "ParseError",
    "ProviderError",
    "SandboxError",
    "ToolError",
    "did_you_mean",
]


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return a " Did you mean ...?" suffix for `name`, or "" when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(f"`{m}`" for m in matches) + "?"


class AgentGymError(Exception):
    """Base class of every agentgym exception."""


class EnvNotFound(AgentGymError, KeyError):
    """An environment id is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class EnvNotAvailable(AgentGymError):
    """An environment is registered but its data or runtime is missing here."""


class InvalidConfig(AgentGymError, ValueError):
    """A configuration field has a wrong value or type."""


class ToolError(AgentGymError):
    """A tool failed; inside an episode this becomes an error observation."""


class ParseError(AgentGymError, ValueError):
    """An action could not be parsed; inside an episode this becomes an observation."""


class ProviderError(AgentGymError):
    """An LLM backend or external service failed (after its retries)."""


class SandboxError(AgentGymError):
    """A code sandbox could not be started or refused to run."""
