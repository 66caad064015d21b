"""Sandboxed Python execution: one `Sandbox` interface, `process` and `docker` backends.

`make_sandbox("process")` (bubblewrap jail, the default) or `make_sandbox("docker")` (a
container per run from a warm pool). Both run untrusted code with limits and report what it
did as an `ExecResult`; `sandbox.session()` keeps an interpreter alive across calls. See
docs/sandbox.md for the threat model.
"""

from __future__ import annotations

from typing import Any

from agentgym.errors import InvalidConfig, did_you_mean
from agentgym.tools.sandbox.base import ExecResult, Limits, Sandbox, Session
from agentgym.tools.sandbox.process import ProcessSandbox, bwrap_available
from agentgym.tools.sandbox.session import InterpreterSession

__all__ = [
    "BACKENDS",
    "ExecResult",
    "InterpreterSession",
    "Limits",
    "ProcessSandbox",
    "Sandbox",
    "Session",
    "bwrap_available",
    "make_sandbox",
]

BACKENDS = ("process", "docker")


def make_sandbox(backend: str = "process", **kwargs: Any) -> Sandbox:
    """Build a sandbox.

    Args:
        backend: "process" (bubblewrap jail; default) or "docker" (needs a Docker-API engine).
        **kwargs: limits (`timeout`, `memory_mb`, `cpu_seconds`, `max_output_bytes`,
            `max_processes`, `max_file_mb`, `max_open_files`, `tmpfs_mb`) and backend options
            (process: `isolation`, `strict`, `python`, `uid`; docker: `image`, `pool_size`,
            `base_url`, `user`).

    >>> sb = make_sandbox("process", timeout=5)  # doctest: +SKIP
    >>> sb.run("print(1 + 1)").stdout  # doctest: +SKIP
    '2\\n'
    """
    limits = Limits.from_kwargs(kwargs)
    if backend == "process":
        return ProcessSandbox(limits, **kwargs)
    if backend == "docker":
        from agentgym.tools.sandbox.docker_backend import DockerSandbox

        return DockerSandbox(limits, **kwargs)
    raise InvalidConfig(
        f"unknown sandbox backend {backend!r}; expected one of {BACKENDS}." + did_you_mean(backend, BACKENDS)
    )
