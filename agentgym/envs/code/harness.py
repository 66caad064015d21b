"""The grading harness that runs *inside* the sandbox (stdlib only, no agentgym imports).

It reads its whole job from stdin as JSON before any candidate code runs, so the candidate
cannot see the tests' source or the nonce in a file. Each hidden test runs separately with its
own alarm; results go straight to fd 1 as nonce-tagged lines, so a candidate that exits,
crashes or floods stdout midway still leaves the earlier results readable, and cannot forge
them without the nonce.
"""

import json
import os
import signal
import sys

_job = json.loads(sys.stdin.read())
_nonce = _job.pop("nonce")
_write = os.write
_dumps = json.dumps


class _TestTimeout(BaseException):
    pass


def _emit(obj):
    _write(1, ("\n" + _nonce + _dumps(obj) + "\n").encode())


def _alarm(signum, frame):
    raise _TestTimeout()


def _run(source, name, namespace, seconds):
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(compile(source, name, "exec"), namespace)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _describe(exc):
    if isinstance(exc, _TestTimeout):
        return "timed out"
    text = f"{type(exc).__name__}: {exc}"
    return text[:300]


def main():
    job, seconds = _job, float(_job["test_timeout"])
    namespace = {"__name__": "solution"}
    try:
        _run(job["setup"], "<setup>", namespace, seconds)
        entry, prompt = job.get("entry_point"), job.get("prompt")
        try:
            _run(job["candidate"], "<solution>", namespace, seconds)
            body_only = False
        except SyntaxError:  # e.g. an indented function body
            if not prompt:
                raise
            body_only = True
        if prompt and (body_only or (entry and entry not in namespace)):
            # the answer was only a function body: complete it with the prompt (HumanEval style)
            _run(prompt + job["candidate"], "<solution>", namespace, seconds)
        if entry and not callable(namespace.get(entry)):
            raise NameError(f"the solution does not define a function named {entry!r}")
    except BaseException as exc:  # the candidate's failure is a result, not a harness crash
        _emit({"loaded": False, "error": _describe(exc)})
        return
    _emit({"loaded": True})
    for i, test in enumerate(job["tests"]):
        try:
            _run(test, f"<test {i}>", namespace, seconds)
            _emit({"test": i, "ok": True})
        except BaseException as exc:
            _emit({"test": i, "ok": False, "error": _describe(exc)})


main()
