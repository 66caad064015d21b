"""Persistent interpreter sessions, shared by every backend.

A backend supplies a `Channel` (a byte pipe to `repl.py` running in its sandbox); the
`InterpreterSession` speaks the line protocol over it, enforces the wall timeout, and when a
cell hangs or kills the interpreter it starts a fresh one and says that state was lost.
"""

from __future__ import annotations

import json
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from agentgym.errors import SandboxError
from agentgym.tools.sandbox.base import ExecResult, Limits, classify, describe_exit

__all__ = ["Channel", "InterpreterSession", "PipeReader", "repl_source"]

log = logging.getLogger(__name__)


def repl_source() -> str:
    """Source of the in-sandbox interpreter server."""
    return (Path(__file__).parent / "repl.py").read_text()


class Channel(Protocol):
    """A running interpreter server: send request lines, read reply lines."""

    def send(self, data: bytes) -> None: ...

    def read_line(self, deadline: float) -> bytes | None:
        """One reply line; b"" when the server died; None when `deadline` passed first."""
        ...

    def exit_code(self) -> int | None: ...

    def kill(self) -> None: ...


class PipeReader:
    """Line reads with a deadline from a raw file descriptor."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buf = b""

    def read_line(self, deadline: float) -> bytes | None:
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return b""
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"


class InterpreterSession:
    """A persistent Python interpreter in a sandbox; variables survive across `run` calls.

    Not deep-copyable (it owns a process); to fork an episode, replay `cells` into a new
    session (`replay`). Thread-safe: cells of one session run one at a time.
    """

    def __init__(
        self,
        start: Callable[[], Channel],
        limits: Limits,
        *,
        backend: str = "",
        startup_timeout: float = 60.0,
    ):
        self._start = start
        self.startup_timeout = startup_timeout
        self.limits = limits
        self.backend = backend
        self.cells: list[str] = []
        self.restarts = 0
        self._chan: Channel | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _channel(self) -> Channel:
        if self._closed:
            raise SandboxError("this session is closed; open a new one with sandbox.session()")
        if self._chan is None:
            chan = self._start()
            ready = chan.read_line(time.monotonic() + self.startup_timeout)
            if not ready:
                chan.kill()
                what = "timed out" if ready is None else "exited"
                raise SandboxError(
                    f"the sandboxed interpreter {what} while starting (waited up to {self.startup_timeout:g} s); "
                    "check that the sandbox's python runs (see docs/sandbox.md)"
                )
            self._chan = chan
        return self._chan

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run one cell; a hang or crash restarts the interpreter (`state_lost=True`)."""
        limits = self.limits.with_timeout(timeout)
        with self._lock:
            chan = self._channel()
            start = time.monotonic()
            request = json.dumps({"code": code, "cap": limits.max_output_bytes}).encode() + b"\n"
            try:
                chan.send(request)
                line = chan.read_line(start + limits.timeout)
            except OSError as exc:  # the server is gone (broken pipe)
                log.debug("session channel failed: %s", exc)
                line = b""
            duration = time.monotonic() - start
            if line:
                reply = json.loads(line)
                self.cells.append(code)
                reason, timed_out, oom = classify(
                    reply["exit"], reply["stderr"], timed_out=False, output_exceeded=False
                )
                return ExecResult(
                    stdout=reply["stdout"],
                    stderr=reply["stderr"],
                    exit_code=reply["exit"],
                    truncated=reply["truncated"],
                    duration=duration,
                    reason=reason,
                    oom=oom,
                    timed_out=timed_out,
                )
            return self._lost(chan, timed_out=line is None, duration=duration, limits=limits)

    def _lost(self, chan: Channel, *, timed_out: bool, duration: float, limits: Limits) -> ExecResult:
        """The interpreter hung or died: kill it, start afresh, and say what was lost."""
        chan.kill()
        code = None if timed_out else chan.exit_code()
        self._chan = None
        self.cells = []
        self.restarts += 1
        what = (
            f"timed out after {limits.timeout:g} s"
            if timed_out
            else f"the interpreter died ({describe_exit(code)})"
        )
        note = f"The cell {what}; the session was restarted and all earlier variables and imports were lost."
        reason, timed, oom = classify(code, "", timed_out=timed_out, output_exceeded=False)
        return ExecResult(
            stderr=note,
            exit_code=code,
            timed_out=timed,
            oom=oom,
            duration=duration,
            reason=reason or "crash",
            state_lost=True,
        )

    def replay(self, cells: list[str]) -> list[ExecResult]:
        """Run `cells` in order (to rebuild a forked episode's interpreter state)."""
        return [self.run(c) for c in cells]

    def restart(self) -> None:
        """Drop all interpreter state."""
        with self._lock:
            if self._chan is not None:
                self._chan.kill()
                self._chan = None
            self.cells = []

    def close(self) -> None:
        self.restart()
        self._closed = True

    def __enter__(self) -> InterpreterSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._chan is not None:
                self._chan.kill()
        except Exception:  # interpreter shutdown: best effort only
            pass
