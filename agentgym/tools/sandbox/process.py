"""The `process` sandbox: bubblewrap + an unprivileged uid + rlimits + a wall-clock kill.

Layers, outermost first (each holds if an inner one fails):

1. `setpriv` drops from root to a sandbox-only uid (no groups, no capabilities, no-new-privs),
   so root-only files stay unreadable and RLIMIT_NPROC counts (it is ignored for uid 0).
2. bubblewrap unshares every namespace (network, pid, ipc, uts, user, cgroup), builds a root
   from read-only binds of the system directories only (no /home, /root, /work/<repo>, ...),
   private size-capped tmpfs at /tmp and /work, a fresh /proc, and dies with its parent.
3. rlimits (set by `prlimit` before anything else runs): address space, CPU, file size, open
   files, processes, no core dumps.
4. The host side kills the process group at the wall timeout or when output passes its cap;
   with the pid namespace gone, every child (including daemonised ones) dies with it.

Without bubblewrap it falls back to `unshare` (own network, pid and user namespaces) +
setpriv + rlimits, and warns once that the filesystem is not isolated; `strict=True` refuses.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO

from agentgym.errors import InvalidConfig, SandboxError
from agentgym.tools.sandbox.base import ExecResult, Files, Limits, classify
from agentgym.tools.sandbox.pipes import PipeChannel, collect, data_fd, kill_group
from agentgym.tools.sandbox.session import InterpreterSession, repl_source

__all__ = ["ProcessSandbox", "bwrap_available", "find_interpreter"]

log = logging.getLogger(__name__)

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
CLEAN_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/work",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}
ISOLATIONS = ("auto", "bwrap", "unshare")
_UID_BASE = 200_000
_uid_counter = itertools.count()
_warned_degraded = False
_probe_lock = threading.Lock()
_probe_cache: dict[str, bool] = {}


def _world_executable(path: str) -> bool:
    """True when any uid can reach and run `path` (every parent dir o+x, the file o+x)."""
    p = Path(path)
    try:
        if not p.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in p.parents)
    except OSError:
        return False


def find_interpreter() -> str:
    """A Python 3 interpreter an unprivileged uid can run (a venv under /root is not one)."""
    candidates = [
        getattr(sys, "_base_executable", ""),
        sys.executable,
        "/usr/bin/python3",
        "/usr/local/bin/python3",
    ]
    for cand in candidates:
        if cand and os.path.exists(cand):
            real = os.path.realpath(cand)
            if _world_executable(real):
                return real
    raise SandboxError(
        f"no Python interpreter that an unprivileged user can run; tried {candidates}. "
        "Install python3 system-wide (apt-get install -y python3) or pass python=PATH."
    )


def bwrap_available(uid: int | None = None) -> bool:
    """True when bubblewrap exists and can create its namespaces here (probed once)."""
    if shutil.which("bwrap") is None:
        return False
    key = f"bwrap-{uid}"
    with _probe_lock:
        if key not in _probe_cache:
            argv = [*_drop_privileges(uid), "bwrap", "--unshare-all", "--ro-bind", "/", "/", "true"]
            try:
                ok = subprocess.run(argv, capture_output=True, timeout=10, env=CLEAN_ENV).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            _probe_cache[key] = ok
        return _probe_cache[key]


def _drop_privileges(uid: int | None) -> list[str]:
    if uid is None or os.geteuid() != 0:
        return []
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--no-new-privs",
    ]


def _rlimit_prefix(limits: Limits, *, cpu: int) -> list[str]:
    """A `prlimit … --` prefix: the limits are set before the first exec and inherited from then on.

    An exec of util-linux's prlimit rather than a `preexec_fn`, because a preexec_fn forces CPython
    to fork() instead of vfork(): 2.4 ms more per run here (benchmarks/sandbox.py).
    """
    mb = 1024 * 1024
    return [
        "prlimit",
        f"--as={limits.memory_mb * mb}",
        f"--cpu={cpu}:{cpu + 1}",
        f"--fsize={limits.max_file_mb * mb}",
        f"--nofile={limits.max_open_files}",
        f"--nproc={limits.max_processes}",
        "--core=0",
        "--",
    ]


def _check_name(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise InvalidConfig(
            f"sandbox file names are relative paths inside the work dir without '..'; got {name!r}"
        )
    return p


class ProcessSandbox:
    """Runs Python in a bubblewrap jail as an unprivileged uid (see the module docstring).

    >>> with ProcessSandbox() as sb:  # doctest: +SKIP
    ...     sb.run("print(6 * 7)").stdout
    '42\\n'
    """

    backend = "process"

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        isolation: str = "auto",
        strict: bool = False,
        python: str | None = None,
        uid: int | None = None,
    ):
        if isolation not in ISOLATIONS:
            raise InvalidConfig(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
        self.limits = limits or Limits()
        self.python = python or find_interpreter()
        self.fixed_uid = uid
        self.uid = self._next_uid()
        if shutil.which("prlimit") is None:
            raise SandboxError(
                "the process sandbox needs `prlimit` (util-linux); apt-get install -y util-linux"
            )
        if os.geteuid() == 0 and shutil.which("setpriv") is None:
            raise SandboxError(
                "running as root needs `setpriv` (util-linux) to drop privileges; apt-get install -y util-linux"
            )
        self.isolation = self._choose(isolation, strict)
        self._sessions: list[InterpreterSession] = []
        self._closed = False

    def _choose(self, isolation: str, strict: bool) -> str:
        global _warned_degraded
        if isolation in ("auto", "bwrap") and bwrap_available(self._as_uid(self.uid)):
            return "bwrap"
        if isolation == "bwrap" or strict:
            raise SandboxError(
                "bubblewrap is missing or cannot create namespaces here, and strict isolation was requested; "
                "install it (apt-get install -y bubblewrap) or pass strict=False to accept unshare-only isolation"
            )
        if shutil.which("unshare") is None:
            raise SandboxError("neither bubblewrap nor unshare is available; apt-get install -y bubblewrap")
        if not _warned_degraded:
            _warned_degraded = True
            why = "was requested" if isolation == "unshare" else "is in use because bubblewrap is unavailable"
            log.warning(
                "unshare-only isolation %s: the process sandbox isolates network and processes but NOT the "
                "filesystem (code can read world-readable files and write where its uid may). Install bubblewrap "
                "(apt-get install -y bubblewrap) for full isolation.",
                why,
            )
        return "unshare"

    def _next_uid(self) -> int:
        """A fresh uid per jail, so one run's dying processes never count against the next's RLIMIT_NPROC."""
        if self.fixed_uid is not None:
            return self.fixed_uid
        return _UID_BASE + (os.getpid() % 1000) * 1000 + next(_uid_counter) % 1000

    @staticmethod
    def _as_uid(uid: int) -> int | None:
        """The uid to switch to, or None when we are not root (then we already are unprivileged)."""
        return uid if os.geteuid() == 0 else None

    # ------------------------------------------------------------------ command lines
    def _mounts(self) -> list[str]:
        args: list[str] = []
        for d in SYSTEM_DIRS:
            if os.path.islink(d):
                args += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                args += ["--ro-bind", d, d]
        prefix = str(Path(self.python).parents[1])
        if not any(prefix == d or prefix.startswith(d + "/") for d in SYSTEM_DIRS):
            args += ["--ro-bind", prefix, prefix]
        tmpfs = str(self.limits.tmpfs_mb * 1024 * 1024)
        args += ["--dev", "/dev", "--proc", "/proc", "--size", tmpfs, "--tmpfs", "/tmp"]
        args += ["--size", tmpfs, "--tmpfs", "/work"]
        return args

    def _bwrap_argv(self, uid: int, main_fd: int, file_fds: list[tuple[int, PurePosixPath]]) -> list[str]:
        argv = [
            *_drop_privileges(self._as_uid(uid)),
            "bwrap",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
        ]
        argv += self._mounts()
        argv += ["--ro-bind-data", str(main_fd), "/run/agentgym/main.py"]
        made: set[str] = set()
        for fd, rel in file_fds:
            for parent in reversed(rel.parents[:-1] if len(rel.parts) > 1 else []):
                if str(parent) not in made:
                    made.add(str(parent))
                    argv += ["--dir", f"/work/{parent}"]
            argv += ["--file", str(fd), f"/work/{rel}"]
        argv += ["--chdir", "/work", "--remount-ro", "/", self.python, "-I", "/run/agentgym/main.py"]
        return argv

    def _unshare_argv(self, uid: int, workdir: str, code: str, files: Files) -> list[str]:
        """Degraded mode: the code and files go to a host temp dir owned by the sandbox uid."""
        for name, data in files.items():
            dest = Path(workdir, _check_name(name))
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data.encode() if isinstance(data, str) else data)
        Path(workdir, ".agentgym_main.py").write_text(code)
        if os.geteuid() == 0:
            for root, dirs, names in os.walk(workdir):
                for n in [root, *(os.path.join(root, x) for x in dirs + names)]:
                    os.chown(n, uid, uid)
        unshare = [
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
        ]
        return [*_drop_privileges(self._as_uid(uid)), *unshare, self.python, "-I", ".agentgym_main.py"]

    def _spawn(
        self,
        code: str,
        files: Files,
        limits: Limits,
        *,
        cpu: int,
        stdin: int | IO[bytes] | None,
        pipe_stdin: bool = False,
    ) -> tuple[subprocess.Popen[bytes], Callable[[], None]]:
        """Start the jailed interpreter on `code`; returns the process and a cleanup function."""
        if self._closed:
            raise SandboxError("this sandbox is closed; create a new one with make_sandbox()")
        fds: list[int] = []
        workdir: str | None = None
        uid = self.uid = self._next_uid()  # local: runs may be concurrent (tool calls run in threads)
        if self.isolation == "bwrap":
            fds.append(data_fd(code))
            file_fds = []
            for name, data in files.items():
                fds.append(data_fd(data))
                file_fds.append((fds[-1], _check_name(name)))
            argv, cwd = self._bwrap_argv(uid, fds[0], file_fds), "/"
        else:
            workdir = tempfile.mkdtemp(prefix="agentgym-sbx-")
            argv, cwd = self._unshare_argv(uid, workdir, code, files), workdir
        argv = [*_rlimit_prefix(limits, cpu=cpu), *argv]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if pipe_stdin else (stdin if stdin is not None else subprocess.DEVNULL),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL if pipe_stdin else subprocess.PIPE,
                # degraded mode shares the host's /tmp: keep the jail's temp files in its own workdir
                env=dict(CLEAN_ENV) if workdir is None else {**CLEAN_ENV, "TMPDIR": workdir},
                cwd=cwd,
                pass_fds=fds,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxError(f"could not start the sandboxed interpreter ({argv[0]}): {exc}") from exc
        finally:
            for fd in fds:
                os.close(fd)

        def cleanup() -> None:
            kill_group(proc)
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)

        return proc, cleanup

    # ------------------------------------------------------------------ public API
    def run(
        self,
        code: str,
        *,
        stdin: str | bytes | None = None,
        timeout: float | None = None,
        files: Files | None = None,
    ) -> ExecResult:
        """Run `code` as a fresh program in the jail; never raises for what the code does."""
        limits = self.limits.with_timeout(timeout)
        stdin_file = None
        if stdin is not None:
            stdin_file = tempfile.TemporaryFile()
            stdin_file.write(stdin.encode() if isinstance(stdin, str) else stdin)
            stdin_file.seek(0)
        start = time.monotonic()
        try:
            proc, cleanup = self._spawn(code, files or {}, limits, cpu=limits.cpu, stdin=stdin_file)
        finally:
            if stdin_file is not None:
                stdin_file.close()
        try:
            out, err, timed_out, exceeded = collect(proc, start + limits.timeout, limits.max_output_bytes)
        finally:
            cleanup()
        status = proc.wait()
        exit_code = status if status <= 128 or timed_out or exceeded else -(status - 128)
        stdout = out.decode("utf-8", "replace")
        stderr = err.decode("utf-8", "replace")
        reason, timed, oom = classify(exit_code, stderr, timed_out=timed_out, output_exceeded=exceeded)
        if stderr.startswith(("bwrap: ", "setpriv: ", "unshare: ", "prlimit: ")) and not stdout:
            reason = "sandbox"  # the jail itself failed to start (e.g. namespaces or processes exhausted)
            log.warning("the process sandbox failed to start: %s", stderr.strip()[:300])
        return ExecResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=None if timed_out else exit_code,
            timed_out=timed,
            oom=oom,
            truncated=exceeded,
            duration=time.monotonic() - start,
            reason=reason,
            extra={"isolation": self.isolation},
        )

    def session(self) -> InterpreterSession:
        """A persistent interpreter in its own jail (variables survive across cells)."""
        limits = self.limits
        cpu = max(limits.cpu, 3600)  # RLIMIT_CPU is cumulative; the per-cell wall timeout guards hangs

        def start() -> PipeChannel:
            proc, cleanup = self._spawn(repl_source(), {}, limits, cpu=cpu, stdin=None, pipe_stdin=True)
            return PipeChannel(proc, cleanup)

        s = InterpreterSession(start, limits, backend=self.backend)
        self._sessions.append(s)
        return s

    def close(self) -> None:
        for s in self._sessions:
            s.close()
        self._sessions.clear()
        self._closed = True

    def __enter__(self) -> ProcessSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProcessSandbox(isolation={self.isolation!r}, uid={self.uid}, limits={self.limits})"
