"""The persistent interpreter that runs *inside* a sandbox (stdlib only, no agentgym imports).

Protocol: the server first writes ``{"ready": true}``; then the host writes one JSON line per cell, ``{"code": str, "cap": int}``, to stdin; the
server answers one JSON line, ``{"stdout", "stderr", "truncated", "exit"}``, on the stdout it
had at start. During a cell, file descriptors 1 and 2 point at fresh files in a directory private to
this interpreter (made in $TMPDIR), so subprocesses and C extensions are captured too, the protocol
stream cannot be corrupted, and sessions that share a /tmp (unshare-only isolation) never collide.
Like a notebook, the value of a trailing expression is printed.
"""

import ast
import json
import os
import sys
import tempfile
import traceback

SELF = globals().get("__file__", "<string>")


def _read_capped(path, cap):
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            data = f.read(cap)
    except OSError:
        return "", False
    return data.decode("utf-8", "replace"), size > cap


def _compile(code, name):
    """Compile a cell; a trailing expression becomes a printed value (as in a notebook)."""
    tree = ast.parse(code, name, "exec")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop()
        show = ast.parse("__agentgym_show__(None)", name, "exec").body[0]
        show.value.args[0] = last.value
        ast.copy_location(show, last)
        ast.fix_missing_locations(show)
        tree.body.append(show)
    return compile(tree, name, "exec")


def _show(value):
    """The cell's trailing value goes to the cell's stdout (what the agent reads), like a REPL."""
    if value is not None:
        sys.stdout.write(repr(value) + "\n")


def _run_cell(code, namespace, n):
    status = 0
    try:
        exec(_compile(code, f"<cell {n}>"), namespace)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # the cell's own failure is its output, as in a REPL
        etype, value, tb = sys.exc_info()
        while tb is not None and tb.tb_frame.f_code.co_filename == SELF:
            tb = tb.tb_next  # hide this server's frames
        sys.stderr.write("".join(traceback.format_exception(etype, value, tb)))
        status = 1
    return status


def main():
    proto_in = os.fdopen(os.dup(0), "rb", 0)
    proto_out = os.fdopen(os.dup(1), "wb", 0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "__agentgym_show__": _show}
    scratch = tempfile.mkdtemp(prefix=".agentgym-cell-")
    out_path, err_path = os.path.join(scratch, "out"), os.path.join(scratch, "err")
    proto_out.write(b'{"ready": true}\n')  # start-up time must not count against the first cell
    n = 0
    for line in proto_in:
        request = json.loads(line)
        n += 1
        for fd, path in ((1, out_path), (2, err_path)):
            tmp = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(tmp, fd)
            os.close(tmp)
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        status = _run_cell(request["code"], namespace, n)
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        cap = int(request.get("cap", 1_000_000))
        out, t1 = _read_capped(out_path, cap)
        err, t2 = _read_capped(err_path, cap)
        reply = {"stdout": out, "stderr": err, "truncated": t1 or t2, "exit": status}
        proto_out.write(json.dumps(reply).encode() + b"\n")


if __name__ == "__main__":
    main()
