"""Hand freed heap memory back to the OS between training steps.

On Linux/glibc, CPU training steps whose tensors change shape every step (ArCHer's actor: fresh
utterances over replayed states) leave the freed activations scattered through malloc's heap, so
the process keeps them: measured on GuessNumber-v0 with the `small` policy, RSS grew from 0.5 GB to
8 GB within a few actor iterations, and a 30-iteration run was killed for memory. `malloc_trim(0)`
returns those free pages (7.3 GB → 0.7 GB in the same run). Elsewhere it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

__all__ = ["release_freed_memory"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_freed_memory() -> bool:
    """Return freed heap pages to the OS; True where glibc's `malloc_trim` ran."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
