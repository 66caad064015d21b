"""Hostile programs against every sandbox backend: each must be contained with a clear ExecResult.

Every case runs in the `process` backend (bubblewrap) and, with a Docker engine, in the
`docker` backend (marked `docker`). After the suite the host must be unchanged (files, no
surviving sandbox processes, a sentinel process alive) and the sandbox must still run code.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentgym.tools.sandbox import ExecResult

REPO = Path(__file__).resolve().parents[2]
TAG = uuid.uuid4().hex[:8]
MARK = str(int(TAG, 16) % 10**6)
WATCHED = [REPO, REPO / "agentgym", Path("/root"), Path("/etc"), Path("/usr/local")]


@dataclass
class Ctx:
    port: int
    secret_file: str
    secret: str
    env_secret: str
    accepted: list[Any]


def _snapshot() -> dict[str, list[str]]:
    return {str(d): sorted(os.listdir(d)) for d in WATCHED if d.exists()}


def _host_processes(pattern: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "uid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if pattern in line and "ps -eo" not in line]


@pytest.fixture(scope="module")
def host():
    """A TCP server on 127.0.0.1, a root-only 0600 file, a secret env var; checks the host afterwards."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    accepted: list[Any] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    threading.Thread(target=serve, daemon=True).start()
    secret_file = f"/etc/agentgym-secret-{TAG}" if os.geteuid() == 0 else ""
    if secret_file:  # only root can make a file the sandbox's uid must not read
        Path(secret_file).write_text(f"root-only-{TAG}")
        os.chmod(secret_file, 0o600)
    os.environ["AGENTGYM_HOST_SECRET"] = f"env-secret-{TAG}"
    snapshot = _snapshot()
    yield Ctx(server.getsockname()[1], secret_file, f"root-only-{TAG}", f"env-secret-{TAG}", accepted)
    stop.set()
    server.close()
    after = _snapshot()
    if secret_file:
        os.unlink(secret_file)
    del os.environ["AGENTGYM_HOST_SECRET"]
    # other processes on a shared host may add files; nothing the sandboxed programs targeted may appear
    for d, names in after.items():
        new = set(names) - set(snapshot.get(d, []))
        assert not [n for n in new if TAG in n or n.startswith("sbx")], f"the sandbox wrote into {d}: {new}"
    assert not Path(f"/tmp/{TAG}").exists(), "the sandbox wrote into the host's /tmp"


def _blocked(r: ExecResult, ctx: Ctx, expect: str = "BLOCKED") -> None:
    assert expect in r.stdout, r
    assert "ESCAPED" not in r.stdout, r


# Each case: (id, code template formatted with ctx fields, check(result, ctx)).
CASES: list[tuple[str, str, Callable[[ExecResult, Ctx], None]]] = [
    (
        "tcp_connect_host",
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1); print('ESCAPED')\n"
        "except OSError as e:\n    print('BLOCKED', e)",
        lambda r, c: (
            _blocked(r, c),
            time.sleep(0.2),
            c.accepted == [] or pytest.fail("the host server got a connection"),
        ),
    ),
    (
        "dns_lookup",
        "import socket\ntry:\n    print('ESCAPED', socket.getaddrinfo('deb.debian.org', 80))\nexcept OSError as e:\n    print('BLOCKED', e)",
        _blocked,
    ),
    (
        "udp_out",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n    s.sendto(b'x', ('8.8.8.8', 53)); print('ESCAPED')\n"
        "except OSError as e:\n    print('BLOCKED', e)",
        _blocked,
    ),
    (
        "only_loopback",
        "import socket\nprint('IFACES', sorted(n for _, n in socket.if_nameindex()))",
        lambda r, c: (
            r.ok or pytest.fail(str(r)),
            set(eval(r.stdout.split("IFACES", 1)[1])) <= {"lo"} or pytest.fail(r.stdout),
        ),
    ),
    (
        "write_repo_dir",
        f"p = {str(REPO / ('sbx-' + TAG))!r}\ntry:\n    open(p, 'w').write('x'); print('ESCAPED')\nexcept OSError as e:\n    print('BLOCKED', e)",
        lambda r, c: (_blocked(r, c), (REPO / f"sbx-{TAG}").exists() and pytest.fail("wrote into the repo")),
    ),
    (
        "write_root",
        f"try:\n    open('/root/sbx-{TAG}', 'w').write('x'); print('ESCAPED')\nexcept OSError as e:\n    print('BLOCKED', e)",
        lambda r, c: (_blocked(r, c), Path(f"/root/sbx-{TAG}").exists() and pytest.fail("wrote into /root")),
    ),
    (
        "write_etc",
        f"try:\n    open('/etc/sbx-{TAG}', 'w').write('x'); print('ESCAPED')\nexcept OSError as e:\n    print('BLOCKED', e)",
        lambda r, c: (_blocked(r, c), Path(f"/etc/sbx-{TAG}").exists() and pytest.fail("wrote into /etc")),
    ),
    (
        "write_host_tmp",
        f"import os\ntry:\n    os.makedirs('/tmp/{TAG}'); open('/tmp/{TAG}/x', 'w').write('x'); print('OK-PRIVATE')\nexcept OSError as e:\n    print('BLOCKED', e)",
        lambda r, c: Path(f"/tmp/{TAG}").exists() and pytest.fail("the sandbox's /tmp is the host's"),
    ),
    (
        "read_root_only_file",
        "try:\n    print('ESCAPED', open({secret_file!r}).read())\nexcept OSError as e:\n    print('BLOCKED', e)",
        lambda r, c: (
            _blocked(r, c),
            c.secret in r.stdout + r.stderr and pytest.fail("read the root-only file"),
        ),
    ),
    (
        "read_shadow",
        "try:\n    print('ESCAPED', open('/etc/shadow').read()[:20])\nexcept OSError as e:\n    print('BLOCKED', e)",
        _blocked,
    ),
    (
        "host_env_vars",
        "import os\nprint(dict(os.environ))\ntry:\n    print(open('/proc/1/environ').read())\nexcept OSError as e:\n    print('BLOCKED', e)",
        lambda r, c: c.env_secret in r.stdout + r.stderr and pytest.fail("saw a host environment variable"),
    ),
    (
        "host_processes_invisible",
        "import os\nprint('PIDS', len([p for p in os.listdir('/proc') if p.isdigit()]))",
        lambda r, c: int(r.stdout.split()[1]) < 10 or pytest.fail(f"sees host processes: {r.stdout}"),
    ),
    (
        "setuid_root",
        "import os\ntry:\n    os.setuid(0); print('ESCAPED')\nexcept OSError as e:\n    print('BLOCKED', e)",
        _blocked,
    ),
    (
        "sysrq_and_kernel_knobs",
        "out = []\nfor p in ['/proc/sysrq-trigger', '/proc/sys/kernel/hostname', '/sys/kernel/uevent_helper']:\n"
        "    try:\n        open(p, 'w').write('x'); out.append('ESCAPED ' + p)\n    except OSError:\n        out.append('BLOCKED')\nprint(out)",
        lambda r, c: _blocked(r, c),
    ),
    (
        "fork_bomb",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        lambda r, c: r.timed_out or r.exit_code != 0 or pytest.fail(str(r)),
    ),
    (
        "thread_bomb",
        "import threading, time\nn = 0\ntry:\n    while True:\n        threading.Thread(target=time.sleep, args=(30,), daemon=True).start(); n += 1\n"
        "except RuntimeError as e:\n    print('LIMITED', n, flush=True)\nimport os\nos._exit(0)",
        lambda r, c: ("LIMITED" in r.stdout or r.exit_code != 0 or r.timed_out) or pytest.fail(str(r)),
    ),
    (
        "memory_bomb_once",
        "x = bytearray(64 * 1024 ** 3)",
        lambda r, c: (r.oom or pytest.fail(str(r)), r.exit_code != 0 or pytest.fail(str(r))),
    ),
    (
        "memory_bomb_gradual",
        "chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 1024 ** 2))",
        lambda r, c: r.oom or pytest.fail(str(r)),
    ),
    (
        "cpu_spin",
        "while True:\n    pass",
        lambda r, c: (r.timed_out or pytest.fail(str(r)), r.duration < 6 or pytest.fail(str(r))),
    ),
    (
        "sleep_past_timeout",
        "import time\ntime.sleep(60)\nprint('ESCAPED')",
        lambda r, c: (
            (r.timed_out and r.reason == "timeout") or pytest.fail(str(r)),
            r.duration < 6 or pytest.fail(str(r)),
        ),
    ),
    (
        "stop_self",
        "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)",
        lambda r, c: r.timed_out or pytest.fail(str(r)),
    ),
    (
        "ignore_sigterm_and_hang",
        "import signal, time\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n    signal.signal(s, signal.SIG_IGN)\ntime.sleep(60)",
        lambda r, c: r.timed_out or pytest.fail(str(r)),
    ),
    (
        "stdout_100mb",
        "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)",
        lambda r, c: (
            r.truncated or pytest.fail(str(r)[:300]),
            len(r.stdout) <= 200_000 or pytest.fail("cap ignored"),
        ),
    ),
    (
        "stderr_100mb_one_line",
        "import os\nos.write(2, b'e' * (100 << 20))",
        lambda r, c: (
            r.truncated or r.exit_code != 0 or pytest.fail(str(r)[:300]),
            len(r.stderr) <= 200_000 or pytest.fail("cap ignored"),
        ),
    ),
    (
        "outlive_the_run",
        "import os, subprocess\nsubprocess.Popen(['sleep', '4242.{mark}'], start_new_session=True)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '4243.{mark}'])\n    os._exit(0)\nprint('DAEMONS STARTED')",
        lambda r, c: (
            r.ok or pytest.fail(str(r)),
            time.sleep(1.0),
            _host_processes(f".{MARK}") == []
            or pytest.fail(f"a child outlived the run: {_host_processes(MARK)}"),
        ),
    ),
    (
        "kill_the_parent_and_everyone",
        "import os, signal\nfor target in (os.getppid(), 1, -1):\n    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError as e:\n        print('BLOCKED', target, e)\nprint('still here')",
        lambda r, c: r.exit_code is not None or r.timed_out or pytest.fail(str(r)),
    ),
    (
        "write_1gb_file",
        "import os\nchunk = b'0' * (1 << 20)\nwritten = 0\ntry:\n    with open('big.bin', 'wb') as f:\n        for _ in range(1024):\n"
        "            f.write(chunk); written += 1\n    print('ESCAPED', written)\nexcept OSError as e:\n    print('BLOCKED', written, e)",
        lambda r, c: ("ESCAPED" not in r.stdout) or pytest.fail(str(r)[:300]),
    ),
    (
        "exhaust_file_descriptors",
        "import os\nfds = []\ntry:\n    while True:\n        fds.append(os.open('/dev/null', os.O_RDONLY))\nexcept OSError as e:\n    print('LIMITED', len(fds), e.errno)",
        lambda r, c: ("LIMITED" in r.stdout and int(r.stdout.split()[1]) < 100_000) or pytest.fail(str(r)),
    ),
    (
        "segfault_ctypes",
        "import ctypes\nctypes.string_at(0)",
        lambda r, c: (r.exit_code == -11 or pytest.fail(str(r)), r.reason == "signal" or pytest.fail(str(r))),
    ),
    (
        "close_std_streams_and_spin",
        "import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass",
        lambda r, c: r.timed_out or pytest.fail(str(r)),
    ),
    (
        "deep_recursion",
        "import sys\nsys.setrecursionlimit(10 ** 7)\ndef f(n):\n    return f(n + 1)\nf(0)",
        lambda r, c: r.exit_code != 0 or pytest.fail(str(r)),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_contained(sandbox, host: Ctx, case) -> None:
    name, template, check = case
    if name == "read_root_only_file" and not host.secret_file:
        pytest.skip("creating a root-only file needs root")
    code = template.format(port=host.port, secret_file=host.secret_file, mark=MARK)
    start = time.monotonic()
    result = sandbox.run(code)
    assert isinstance(result, ExecResult)
    assert time.monotonic() - start < sandbox.limits.timeout + 8, f"{name} was not stopped in time"
    check(result, host)


def test_sandbox_still_works_after_the_suite(sandbox, host: Ctx) -> None:
    r = sandbox.run(
        "import sys\nprint(sum(range(10)), sys.stdin.read())", stdin="hi", files={"d/in.txt": "data"}
    )
    assert r.ok and r.stdout == "45 hi\n", r
    assert sandbox.run("print(open('d/in.txt').read())", files={"d/in.txt": "data"}).stdout == "data\n"


def test_no_sandbox_process_survives(sandbox, host: Ctx) -> None:
    time.sleep(0.5)
    assert _host_processes("agentgym/main.py") == [] or sandbox.backend == "docker"
    assert _host_processes(f".{MARK}") == []
