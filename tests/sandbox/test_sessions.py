"""Persistent sessions and the `python` tool, on every backend."""

from __future__ import annotations

import pytest

from agentgym.tools.python_tool import python_tool, render_exec
from agentgym.tools.sandbox import ExecResult


def test_session_keeps_variables_and_imports(sandbox) -> None:
    with sandbox.session() as s:
        assert s.run("import math\nx = 20").ok
        r = s.run("x += 1\nprint(math.sqrt(x * x))\nx * 2")
        assert r.ok and r.stdout == "21.0\n42\n", r
        assert s.cells == ["import math\nx = 20", "x += 1\nprint(math.sqrt(x * x))\nx * 2"]


def test_session_captures_subprocess_output_and_traceback(sandbox) -> None:
    with sandbox.session() as s:
        r = s.run("import os, sys\nos.system('echo from-child')\nprint('err', file=sys.stderr)")
        assert "from-child" in r.stdout and r.stderr == "err\n", r
        r = s.run("def f():\n    return 1 / 0\nf()")
        assert r.exit_code == 1 and "ZeroDivisionError" in r.stderr and "<cell 2>" in r.stderr, r
        assert "repl.py" not in r.stderr, "the server's own frames leak into tracebacks"
        assert s.run("print('still alive')").stdout == "still alive\n"


def test_session_timeout_restarts_and_says_state_was_lost(sandbox) -> None:
    with sandbox.session() as s:
        s.run("secret = 7")
        r = s.run("import time\ntime.sleep(30)", timeout=1.0)
        assert r.timed_out and r.state_lost, r
        assert "restarted" in r.stderr and "lost" in r.stderr
        after = s.run("print(secret)")
        assert "NameError" in after.stderr and not after.state_lost, after
        assert s.restarts == 1


def test_session_survives_interpreter_death(sandbox) -> None:
    with sandbox.session() as s:
        r = s.run("import os\nos._exit(3)")
        assert r.state_lost and r.exit_code == 3, r
        r = s.run("import ctypes\nctypes.string_at(0)")
        assert r.state_lost and r.exit_code == -11 and r.reason == "signal", r
        assert s.run("1 + 1").stdout == "2\n"


def test_session_output_is_capped(sandbox) -> None:
    with sandbox.session() as s:
        r = s.run("print('y' * 5_000_000)")
        assert r.truncated and len(r.stdout) <= sandbox.limits.max_output_bytes, len(r.stdout)
        assert s.run("print('ok')").stdout == "ok\n"


def test_python_tool_renders_output_errors_and_notes(sandbox) -> None:
    with sandbox.session() as s:
        tool = python_tool(s, timeout=1.0)
        assert tool.name == "python" and tool.parameters["required"] == ["code"]
        assert tool(code="v = 3\nv * 14").content == "42"
        res = tool(code="undefined_name")
        assert res.ok and "NameError" in res.content and "[stderr]" in res.content
        res = tool(code="while True: pass")
        assert "timed out" in res.content and "lost" in res.content
        assert tool(code="pass").content == "(no output)"
        assert tool(code=5).error is not None  # a wrong argument type is an error result, not an exception


def test_render_exec_notes() -> None:
    assert "truncated" in render_exec(ExecResult(stdout="a", truncated=True))
    assert "out of memory" in render_exec(ExecResult(stderr="MemoryError", exit_code=1, oom=True))
    assert "SIGSEGV" in render_exec(ExecResult(exit_code=-11, reason="signal"))
    long = render_exec(ExecResult(stdout="x" * 10_000), max_chars=100)
    assert len(long) < 300 and "cut" in long


def test_closed_session_refuses(sandbox) -> None:
    s = sandbox.session()
    s.close()
    with pytest.raises(Exception, match="closed"):
        s.run("1")
