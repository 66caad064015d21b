"""Sandbox records and protocols: `Limits`, `ExecResult`, `Sandbox`, `Session`.

Every backend runs untrusted Python and reports what happened as an `ExecResult`; nothing
the code does (crash, hang, flood of output, fork bomb) becomes an exception on the host.
Exceptions (`SandboxError`) are reserved for a sandbox that cannot start at all.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from agentgym.errors import InvalidConfig

__all__ = ["ExecResult", "Files", "Limits", "Sandbox", "Session", "describe_exit", "trim_middle"]

Files = Mapping[str, "str | bytes"]


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Resource limits of one sandboxed run (or one session cell).

    Attributes:
        timeout: wall-clock seconds before the whole process tree is killed.
        memory_mb: address-space (process backend) or cgroup memory (docker) limit.
        cpu_seconds: CPU-time limit; None means `timeout + 1` (a spin cannot outlive the wall clock).
        max_output_bytes: stdout and stderr are each cut at this size; the run is stopped when exceeded.
        max_processes: processes/threads the sandbox user may have (fork-bomb guard).
        max_file_mb: largest file the code may write.
        max_open_files: file-descriptor limit.
        tmpfs_mb: size of the private writable `/work` and `/tmp` filesystems.
    """

    timeout: float = 10.0
    memory_mb: int = 1024
    cpu_seconds: float | None = None
    max_output_bytes: int = 1_000_000
    max_processes: int = 64
    max_file_mb: int = 64
    max_open_files: int = 256
    tmpfs_mb: int = 256

    def __post_init__(self) -> None:
        for name in (
            "timeout",
            "memory_mb",
            "max_output_bytes",
            "max_processes",
            "max_file_mb",
            "max_open_files",
            "tmpfs_mb",
        ):
            if getattr(self, name) <= 0:
                raise InvalidConfig(f"sandbox limit `{name}` must be > 0, got {getattr(self, name)!r}")
        if self.cpu_seconds is not None and self.cpu_seconds <= 0:
            raise InvalidConfig(f"sandbox limit `cpu_seconds` must be > 0 or None, got {self.cpu_seconds!r}")

    @property
    def cpu(self) -> int:
        """Whole CPU seconds for RLIMIT_CPU."""
        return max(1, int((self.cpu_seconds if self.cpu_seconds is not None else self.timeout + 1) + 0.999))

    def with_timeout(self, timeout: float | None) -> Limits:
        return self if timeout is None else replace(self, timeout=float(timeout))

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> Limits:
        """Pop the limit fields out of `kwargs` (the rest belong to the backend)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: kwargs.pop(k) for k in list(kwargs) if k in names})


@dataclass
class ExecResult:
    """What a sandboxed run did.

    `exit_code` is the process status (negative: killed by that signal; None: never finished).
    `reason` names the limit that stopped the run ("timeout", "cpu", "memory", "output",
    "signal", "crash"), is "sandbox" when the jail itself failed to start, or "" for a normal exit. `state_lost` is set by sessions whose
    interpreter had to be restarted, so earlier variables are gone.
    """

    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = 0
    timed_out: bool = False
    oom: bool = False
    truncated: bool = False
    duration: float = 0.0
    reason: str = ""
    state_lost: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Finished normally with exit code 0."""
        return self.exit_code == 0 and not self.timed_out and not self.oom and not self.reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "oom": self.oom,
            "truncated": self.truncated,
            "duration": round(self.duration, 4),
            "reason": self.reason,
            "state_lost": self.state_lost,
        }


@runtime_checkable
class Session(Protocol):
    """A persistent interpreter: variables survive across `run` calls until `close`."""

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult: ...

    def restart(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Sandbox(Protocol):
    """Runs untrusted Python with limits; a context manager that cleans up on exit."""

    backend: str
    limits: Limits

    def run(
        self,
        code: str,
        *,
        stdin: str | bytes | None = None,
        timeout: float | None = None,
        files: Files | None = None,
    ) -> ExecResult: ...

    def session(self) -> Session: ...

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc: object) -> None: ...


def trim_middle(text: str, limit: int) -> str:
    """Keep the head and tail of a long text (tracebacks end with the useful line)."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[-tail:]}"


def describe_exit(code: int | None) -> str:
    """'exit code 3' or 'killed by SIGSEGV' for a process status."""
    if code is None:
        return "did not finish"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def classify(
    exit_code: int | None, stderr: str, *, timed_out: bool, output_exceeded: bool
) -> tuple[str, bool, bool]:
    """Return (reason, timed_out, oom) from how a run ended.

    RLIMIT_CPU sends SIGXCPU then SIGKILL; RLIMIT_AS makes Python raise MemoryError (or the
    allocator abort); a cgroup OOM kill is a SIGKILL with no wall timeout.
    """
    tail = stderr[-2000:]
    if timed_out:
        return "timeout", True, False
    if output_exceeded:
        return "output", False, False
    if exit_code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return "cpu", True, False
    if "MemoryError" in tail or "Cannot allocate memory" in tail or "std::bad_alloc" in tail:
        return "memory", False, True
    if exit_code is not None and exit_code < 0:
        return "signal", False, exit_code == -signal.SIGKILL
    return "", False, False
