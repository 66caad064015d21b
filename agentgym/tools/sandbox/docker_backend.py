"""The `docker` sandbox: one throw-away container per run, taken from a warm pool.

Containers (from docker/sandbox.Dockerfile) run with no network, a read-only root, size-capped
tmpfs at /work and /tmp, memory/CPU/pids limits, all capabilities dropped, no-new-privileges
and a non-root uid. A run is a `docker exec` of a tiny boot script that receives the code,
files and stdin over the exec's stdin, applies rlimits and execs Python on the code. A
container is never reused across runs (files or processes could leak between them): after a
run it is removed and a fresh one is started in the background to keep the pool warm.
Works with any Docker-API engine (Docker, or Podman's API socket).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import select
import struct
import threading
import time
import weakref
from typing import Any

from agentgym.errors import SandboxError
from agentgym.tools.sandbox.base import ExecResult, Files, Limits, classify
from agentgym.tools.sandbox.session import InterpreterSession, repl_source

__all__ = ["DEFAULT_IMAGE", "DockerSandbox"]

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "agentgym/sandbox:latest"
LABEL = "agentgym.sandbox"

# Runs inside the container: read "<len>\n<json>" from stdin, write files, set rlimits, exec the code.
BOOT = r"""
import json, os, resource, signal, sys
n = int(sys.stdin.buffer.readline())
job = json.loads(sys.stdin.buffer.read(n))
os.chdir("/work")
for name, data in job["files"].items():
    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
    with open(name, "wb") as f:
        f.write(data.encode("latin-1"))
with open("/tmp/.agentgym_main.py", "w") as f:
    f.write(job["code"])
with open("/tmp/.agentgym_stdin", "wb") as f:
    f.write(job["stdin"].encode("latin-1"))
pid = os.fork()
if pid == 0:
    fd = os.open("/tmp/.agentgym_stdin", os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    for name, value in job["rlimits"].items():
        resource.setrlimit(getattr(resource, name), tuple(value))
    os.execv(sys.executable, [sys.executable, "-I", "/tmp/.agentgym_main.py"])
_, status = os.waitpid(pid, 0)
try:
    os.kill(-1, signal.SIGKILL)  # daemonised leftovers of this uid (not us, not the container's init)
except OSError:
    pass
os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
"""


def _latin1(data: str | bytes) -> str:
    """Bytes as a JSON-safe string (latin-1 maps every byte to one code point)."""
    return (data.encode() if isinstance(data, str) else data).decode("latin-1")


class _ExecStream:
    """A hijacked `docker exec` connection: send stdin bytes, read demultiplexed frames."""

    def __init__(self, api: Any, container_id: str, cmd: list[str], user: str):
        self.api = api
        self.exec_id = api.exec_create(
            container_id, cmd, stdin=True, stdout=True, stderr=True, user=user, workdir="/work"
        )["Id"]
        sock = api.exec_start(self.exec_id, socket=True)
        self.sock = getattr(sock, "_sock", sock)
        self._keep = sock  # keeps the response (and its socket) alive
        self.raw = b""
        self.eof = False
        self.streams: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def pump(self, deadline: float) -> bool:
        """Read what is available (waiting until `deadline`); False when nothing came in time."""
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            return False
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            self.eof = True
            return True
        self.raw += chunk
        while len(self.raw) >= 8:
            kind, size = struct.unpack(">BxxxL", self.raw[:8])
            if len(self.raw) < 8 + size:
                break
            self.streams.setdefault(kind, bytearray()).extend(self.raw[8 : 8 + size])
            self.raw = self.raw[8 + size :]
        return True

    def exit_code(self) -> int | None:
        for _ in range(20):
            info = self.api.exec_inspect(self.exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                code = int(info["ExitCode"])
                return -(code - 128) if 128 < code < 128 + 65 else code
            time.sleep(0.01)
        return None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class DockerSandbox:
    """Runs Python in throw-away containers from a warm pool (see the module docstring)."""

    backend = "docker"

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        image: str = DEFAULT_IMAGE,
        pool_size: int = 2,
        base_url: str | None = None,
        user: str = "65534:65534",
        python: str = "python3",
        cpus: float = 1.0,
    ):
        try:
            import docker
        except ImportError as exc:
            raise SandboxError(
                "the docker backend needs the docker SDK: pip install 'agentgym[code]'"
            ) from exc
        if not hasattr(docker, "DockerClient"):  # the repo's docker/ folder imported as a namespace package
            raise SandboxError("the docker backend needs the docker SDK: pip install 'agentgym[code]'")
        self.limits = limits or Limits()
        self.image, self.user, self.python, self.cpus = image, user, python, cpus
        self.pool_size = max(0, pool_size)
        try:
            self.client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
            self.client.ping()
        except docker.errors.DockerException as exc:
            where = base_url or os.environ.get("DOCKER_HOST", "the default socket")
            raise SandboxError(
                f"cannot reach a Docker-API engine at {where} ({exc}); start dockerd (or `podman system service`) "
                "and set DOCKER_HOST or pass base_url=..."
            ) from exc
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxError(
                f"the sandbox image {image!r} is missing; build it with "
                f"`docker build -t {image} -f docker/sandbox.Dockerfile docker/` (see docs/sandbox.md for the offline build)"
            ) from exc
        self._pool: queue.Queue[Any] = queue.Queue()
        self._live: set[str] = set()
        self._lock = threading.Lock()
        self._refill_lock = threading.Lock()
        self._sessions: list[InterpreterSession] = []
        self._closed = False
        self._refill()
        atexit.register(_close_ref, weakref.ref(self))

    # ------------------------------------------------------------------ containers
    def _create(self) -> Any:
        from docker.types import Ulimit

        import docker

        mb = self.limits.memory_mb
        # no working_dir: docker would re-create /work as root 0755 over the tmpfs (the boot script chdirs)
        tmpfs = f"size={self.limits.tmpfs_mb}m,mode=1777"
        try:
            c = self.client.containers.create(
                self.image,
                ["sleep", "infinity"],
                network_mode="none",
                read_only=True,
                tmpfs={"/work": tmpfs, "/tmp": tmpfs},
                mem_limit=f"{mb}m",
                memswap_limit=f"{mb}m",
                nano_cpus=int(self.cpus * 1e9),
                pids_limit=self.limits.max_processes,
                user=self.user,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                ulimits=[
                    Ulimit(name="nofile", soft=self.limits.max_open_files, hard=self.limits.max_open_files)
                ],
                environment={"HOME": "/work", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"},
                labels={LABEL: str(os.getpid())},
            )
        except docker.errors.DockerException as exc:
            raise SandboxError(f"could not create a sandbox container from {self.image!r}: {exc}") from exc
        try:
            c.start()
        except docker.errors.DockerException as exc:
            c.remove(force=True)
            raise SandboxError(f"could not start a sandbox container from {self.image!r}: {exc}") from exc
        with self._lock:
            self._live.add(c.id)
        return c

    def _refill(self) -> None:
        def work() -> None:
            with self._refill_lock:  # one filler at a time, so the pool never overshoots
                while not self._closed and self._pool.qsize() < self.pool_size:
                    try:
                        c = self._create()
                    except SandboxError as exc:  # the engine went away; runs will report it
                        log.warning("could not pre-start a sandbox container: %s", exc)
                        return
                    if self._closed:  # closed while we were creating it
                        self._remove(c.id)
                        return
                    self._pool.put(c)

        threading.Thread(target=work, daemon=True, name="agentgym-docker-pool").start()

    def _take(self) -> Any:
        if self._closed:
            raise SandboxError("this sandbox is closed; create a new one with make_sandbox('docker')")
        try:
            c = self._pool.get_nowait()
        except queue.Empty:
            c = self._create()
        self._refill()
        return c

    def _remove(self, cid: str) -> None:
        try:
            self.client.api.remove_container(cid, force=True)
        except Exception as exc:  # already gone (a discard thread and close() may race)
            log.debug("container %s removal: %s", cid[:12], exc)
        with self._lock:
            self._live.discard(cid)

    def _discard(self, c: Any) -> None:
        """Remove a used container in the background (close() removes any still alive)."""
        threading.Thread(target=self._remove, args=(c.id,), daemon=True).start()

    def _rlimits(self, cpu: int) -> dict[str, list[int]]:
        mb = 1024 * 1024
        return {
            "RLIMIT_CPU": [cpu, cpu + 1],
            "RLIMIT_FSIZE": [self.limits.max_file_mb * mb] * 2,
            "RLIMIT_AS": [self.limits.memory_mb * mb] * 2,
            "RLIMIT_CORE": [0, 0],
        }

    # ------------------------------------------------------------------ public API
    def run(
        self,
        code: str,
        *,
        stdin: str | bytes | None = None,
        timeout: float | None = None,
        files: Files | None = None,
    ) -> ExecResult:
        """Run `code` as a fresh program in a fresh container; never raises for what the code does."""
        limits = self.limits.with_timeout(timeout)
        c = self._take()
        start = time.monotonic()  # the wall clock covers the code, not the container's start-up
        job = {
            "code": code,
            "files": {k: _latin1(v) for k, v in (files or {}).items()},
            "stdin": _latin1(stdin or b""),
            "rlimits": self._rlimits(limits.cpu),
        }
        payload = json.dumps(job).encode()
        try:
            stream = _ExecStream(self.client.api, c.id, [self.python, "-I", "-c", BOOT], self.user)
            stream.send(str(len(payload)).encode() + b"\n" + payload)
            timed_out = exceeded = False
            deadline = start + limits.timeout
            while not stream.eof:
                if not stream.pump(deadline) and time.monotonic() >= deadline:
                    timed_out = True
                    break
                if max(len(stream.streams[1]), len(stream.streams[2])) > limits.max_output_bytes:
                    exceeded = True
                    break
            exit_code = None if (timed_out or exceeded) else stream.exit_code()
            stream.close()
        finally:
            self._discard(c)
        cap = limits.max_output_bytes
        stdout = bytes(stream.streams[1][:cap]).decode("utf-8", "replace")
        stderr = bytes(stream.streams[2][:cap]).decode("utf-8", "replace")
        reason, timed, oom = classify(exit_code, stderr, timed_out=timed_out, output_exceeded=exceeded)
        return ExecResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=exit_code,
            timed_out=timed,
            oom=oom,
            truncated=exceeded,
            duration=time.monotonic() - start,
            reason=reason,
            extra={"container": c.id[:12]},
        )

    def session(self) -> InterpreterSession:
        """A persistent interpreter in its own container (replaced when a cell hangs or crashes)."""

        def start() -> _DockerChannel:
            c = self._take()
            stream = _ExecStream(
                self.client.api, c.id, [self.python, "-I", "-u", "-c", repl_source()], self.user
            )
            return _DockerChannel(self, c, stream)

        s = InterpreterSession(start, self.limits, backend=self.backend)
        self._sessions.append(s)
        return s

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for s in self._sessions:
            s.close()
        while not self._pool.empty():
            self._pool.get_nowait()
        with self._refill_lock:  # wait for a filler that is creating a container
            pass
        with self._lock:
            live = list(self._live)
        for cid in live:
            self._remove(cid)

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DockerSandbox(image={self.image!r}, pool_size={self.pool_size}, limits={self.limits})"


class _DockerChannel:
    """A `Channel` over `repl.py` running by `docker exec` in a container of its own."""

    def __init__(self, sandbox: DockerSandbox, container: Any, stream: _ExecStream):
        self.sandbox, self.container, self.stream = sandbox, container, stream
        self._consumed = 0

    def send(self, data: bytes) -> None:
        self.stream.send(data)

    def read_line(self, deadline: float) -> bytes | None:
        while True:
            out = self.stream.streams[1]
            nl = out.find(b"\n", self._consumed)
            if nl >= 0:
                line = bytes(out[self._consumed : nl + 1])
                self._consumed = nl + 1
                return line
            if self.stream.eof:
                return b""
            if not self.stream.pump(deadline) and time.monotonic() >= deadline:
                return None

    def exit_code(self) -> int | None:
        return self.stream.exit_code()

    def kill(self) -> None:
        self.stream.close()
        self.sandbox._discard(self.container)


def _close_ref(ref: weakref.ReferenceType[DockerSandbox]) -> None:
    sandbox = ref()
    if sandbox is not None:
        sandbox.close()
