"""Process-backend specifics: limits, degraded fallback, strict mode, make_sandbox."""

from __future__ import annotations

import logging
import os

import pytest

from agentgym.errors import InvalidConfig, SandboxError
from agentgym.tools.sandbox import Limits, ProcessSandbox, make_sandbox
from agentgym.tools.sandbox import process as process_mod

from .conftest import LIMITS, make_process


def test_limits_validate_and_split_kwargs() -> None:
    with pytest.raises(InvalidConfig, match="memory_mb"):
        Limits(memory_mb=0)
    kw = {"timeout": 3, "memory_mb": 128, "isolation": "bwrap"}
    limits = Limits.from_kwargs(kw)
    assert limits.timeout == 3 and limits.memory_mb == 128 and kw == {"isolation": "bwrap"}
    assert Limits(timeout=2.2).cpu == 4 and Limits(cpu_seconds=1.5).cpu == 2


def test_make_sandbox_rejects_unknown_backend() -> None:
    with pytest.raises(InvalidConfig, match="Did you mean `process`"):
        make_sandbox("proces")


def test_runs_as_unprivileged_uid_with_clean_env_in_private_workdir() -> None:
    with make_process() as sb:
        r = sb.run("import os\nprint(os.getuid(), os.getcwd(), sorted(os.environ))")
        uid, cwd, env = r.stdout.split(" ", 2)
        assert int(uid) != 0 and cwd == "/work", r
        assert set(eval(env)) <= {*process_mod.CLEAN_ENV, "PWD"}, env
        assert (
            sb.run("print(open('/work/a/b.txt').read())", files={"a/b.txt": b"\x00bin"}).stdout == "\x00bin\n"
        )


def test_each_run_is_fresh() -> None:
    with make_process() as sb:
        assert sb.run("open('left.txt', 'w').write('x')").ok
        r = sb.run("import os\nprint(os.listdir('.'))")
        assert r.stdout == "[]\n", r


def test_bad_file_names_are_rejected() -> None:
    with make_process() as sb, pytest.raises(InvalidConfig, match="relative"):
        sb.run("pass", files={"../escape": "x"})


def test_closed_sandbox_refuses() -> None:
    sb = make_process()
    sb.close()
    with pytest.raises(SandboxError, match="closed"):
        sb.run("pass")


def test_strict_refuses_without_bubblewrap(monkeypatch) -> None:
    monkeypatch.setattr(process_mod, "bwrap_available", lambda uid=None: False)
    with pytest.raises(SandboxError, match="bubblewrap"):
        ProcessSandbox(LIMITS, strict=True)
    with pytest.raises(SandboxError, match="bubblewrap"):
        ProcessSandbox(LIMITS, isolation="bwrap")


def test_unshare_fallback_warns_once_and_still_blocks_network(monkeypatch, caplog) -> None:
    monkeypatch.setattr(process_mod, "bwrap_available", lambda uid=None: False)
    monkeypatch.setattr(process_mod, "_warned_degraded", False)
    with caplog.at_level(logging.WARNING, logger=process_mod.__name__):
        sb = ProcessSandbox(LIMITS)
        ProcessSandbox(LIMITS).close()
    assert sb.isolation == "unshare"
    assert sum("NOT the filesystem" in rec.getMessage() for rec in caplog.records) == 1
    try:
        r = sb.run(
            "import socket, os\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\n    print('ESCAPED')\n"
            "except OSError:\n    print('BLOCKED', os.getuid())"
        )
        if "unshare failed" in r.stderr:
            pytest.skip(f"unshare cannot create namespaces here: {r.stderr.strip()}")
        assert r.stdout.startswith("BLOCKED"), r
        assert sb.run("while True: pass", timeout=1).timed_out
        assert sb.run("print(input())", stdin="in", files={"f.txt": "x"}).stdout == "in\n"
    finally:
        sb.close()


def test_unshare_sessions_of_different_sandboxes_share_no_scratch_files(monkeypatch) -> None:
    """Degraded mode shares the host's /tmp; a session's capture files must be its own.

    They once lived at a fixed /tmp path, so the first sandbox uid to create them locked every later
    session (another uid) out: each cell read "the interpreter died".
    """
    monkeypatch.setattr(process_mod, "bwrap_available", lambda uid=None: False)
    monkeypatch.setattr(process_mod, "_warned_degraded", True)
    boxes = [ProcessSandbox(LIMITS, isolation="unshare") for _ in range(2)]
    try:
        probe = boxes[0].run("print(1)")
        if "unshare failed" in probe.stderr:
            pytest.skip(f"unshare cannot create namespaces here: {probe.stderr.strip()}")
        sessions = [b.session() for b in boxes]
        first = sessions[0].run("x = 41\nx + 1")
        assert first.stdout == "42\n", first
        # a second jail (another uid) runs while the first is alive, then the first again
        assert sessions[1].run("import os\nprint('two', os.getuid())").stdout.startswith("two"), sessions[1]
        assert sessions[0].run("print(x)").stdout == "41\n"
        assert not sessions[0].run("print(x)").state_lost
    finally:
        for b in boxes:
            b.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="the root-only-file check needs root to create the file")
def test_sessions_also_drop_privileges() -> None:
    with make_process() as sb, sb.session() as s:
        r = s.run("import os\nos.getuid()")
        assert int(r.stdout) != 0, r
