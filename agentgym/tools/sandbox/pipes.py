"""Host-side plumbing of the process sandbox: pipes with deadlines and caps, process-group kills."""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable

from agentgym.tools.sandbox.session import PipeReader

__all__ = ["PipeChannel", "collect", "data_fd", "kill_group"]

log = logging.getLogger(__name__)


def data_fd(data: str | bytes) -> int:
    """An fd positioned at the start of an unlinked temp file holding `data` (never blocks like a pipe)."""
    f = tempfile.TemporaryFile()
    f.write(data.encode() if isinstance(data, str) else data)
    f.flush()
    f.seek(0)
    fd = os.dup(f.fileno())
    f.close()
    return fd


class PipeChannel:
    """A `Channel` over a jailed `repl.py` process's stdin/stdout."""

    def __init__(self, proc: subprocess.Popen[bytes], cleanup: Callable[[], None]):
        self.proc = proc
        self._cleanup = cleanup
        assert proc.stdout is not None and proc.stdin is not None
        self._reader = PipeReader(proc.stdout.fileno())

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_line(self, deadline: float) -> bytes | None:
        return self._reader.read_line(deadline)

    def exit_code(self) -> int | None:
        try:
            status = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None
        return -(status - 128) if 128 < status < 128 + 65 else status

    def kill(self) -> None:
        self._cleanup()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the sandbox's process group; the pid namespace takes every descendant with it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log.warning("sandbox process %s did not exit after SIGKILL", proc.pid)


def collect(proc: subprocess.Popen[bytes], deadline: float, cap: int) -> tuple[bytes, bytes, bool, bool]:
    """Read stdout/stderr until both close, the deadline passes, or either passes `cap` bytes."""
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    bufs = {out_fd: bytearray(), err_fd: bytearray()}
    open_fds = set(bufs)
    timed_out = exceeded = False
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(list(open_fds), [], [], left)
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.discard(fd)
                continue
            buf = bufs[fd]
            buf += chunk
            if len(buf) > cap:
                del buf[cap:]
                exceeded = True
        if exceeded:
            break
    if timed_out or exceeded:
        kill_group(proc)
    for f in (proc.stdout, proc.stderr):
        f.close()
    return bytes(bufs[out_fd]), bytes(bufs[err_fd]), timed_out, exceeded
