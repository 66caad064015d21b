"""The `python` tool: run a code cell in the episode's sandboxed interpreter session.

An env owns one `Session` per episode and hands the tool a zero-argument callable that
returns it, so the tool always talks to the current episode's interpreter (reset swaps it).

>>> from agentgym.tools.sandbox import make_sandbox  # doctest: +SKIP
>>> sb = make_sandbox("process"); s = sb.session()  # doctest: +SKIP
>>> python = python_tool(lambda: s)  # doctest: +SKIP
>>> python(code="x = 21\\nx * 2").content  # doctest: +SKIP
'42'
"""

from __future__ import annotations

from collections.abc import Callable

from agentgym.errors import SandboxError
from agentgym.tools.base import FunctionTool, ToolResult
from agentgym.tools.sandbox.base import ExecResult, Session, describe_exit, trim_middle

__all__ = ["python_tool", "render_exec"]

DESCRIPTION = (
    "Run Python code in a persistent, sandboxed interpreter (no network; variables and imports persist "
    "between calls; the value of a final expression is shown). Returns stdout, stderr and any traceback."
)


def render_exec(result: ExecResult, max_chars: int = 4000) -> str:
    """The text an agent sees for one cell: output, traceback, and notes on limits hit."""
    parts: list[str] = []
    if result.stdout:
        parts.append(trim_middle(result.stdout.rstrip("\n"), max_chars))
    if result.stderr and not result.state_lost:
        parts.append("[stderr]\n" + trim_middle(result.stderr.rstrip("\n"), max_chars))
    if result.truncated:
        parts.append("[note] output was truncated at the sandbox's output limit.")
    if result.state_lost:
        parts.append("[note] " + result.stderr)
    elif result.timed_out:
        parts.append(f"[note] the run timed out ({result.reason}).")
    elif result.oom:
        parts.append("[note] the run ran out of memory.")
    elif result.reason == "signal":
        parts.append(f"[note] the process was {describe_exit(result.exit_code)}.")
    return "\n".join(parts) if parts else "(no output)"


def python_tool(
    session: Callable[[], Session] | Session,
    *,
    name: str = "python",
    timeout: float | None = None,
    max_output_chars: int = 4000,
) -> FunctionTool:
    """Build the `python` tool bound to a session (or a callable returning the current one).

    Args:
        session: the episode's interpreter session, or a zero-argument callable returning it.
        name: tool name (the xml tag in xml action format).
        timeout: per-cell wall-clock limit; None uses the sandbox's limit.
        max_output_chars: stdout and stderr are each trimmed (head and tail kept) to this size.
    """
    get = session if callable(session) and not hasattr(session, "run") else (lambda: session)

    def python(code: str) -> ToolResult:
        """Run Python code in the sandboxed interpreter session.

        Args:
            code: Python source to execute; the value of a trailing expression is printed.
        """
        try:
            result = get().run(code, timeout=timeout)
        except SandboxError as exc:
            return ToolResult(error=f"the sandbox is unavailable: {exc}")
        return ToolResult(
            content=render_exec(result, max_output_chars), data=result, truncated=result.truncated
        )

    # the sandbox enforces the wall clock itself and restarts hung sessions; no thread timeout here
    return FunctionTool(
        python, name=name, description=DESCRIPTION, timeout=None, max_output_chars=4 * max_output_chars
    )
