"""Grade a candidate solution against hidden tests in a sandbox.

The candidate and tests run in one fresh sandboxed program (`harness.py`); each test is
counted separately, so the reward is the fraction that passed. Nothing the candidate does —
exiting early, crashing, hanging, printing fake results — can raise here or inflate its score.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.core.env import Task
from agentgym.tools.sandbox.base import ExecResult, Sandbox

__all__ = ["Grade", "extract_code", "grade"]

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.S | re.I)
_HARNESS = (Path(__file__).parent / "harness.py").read_text()


@dataclass
class Grade:
    """The result of grading one candidate."""

    passed: int
    total: int
    loaded: bool
    errors: list[str] = field(default_factory=list)
    run: ExecResult | None = None

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def success(self) -> bool:
        return self.loaded and self.total > 0 and self.passed == self.total


def extract_code(answer: str) -> str:
    """The last fenced code block of an answer, or the whole answer when it has none."""
    blocks = _FENCE.findall(answer or "")
    return blocks[-1] if blocks else (answer or "").strip("`\n ")


def grade(
    sandbox: Sandbox, candidate: str, task: Task, *, test_timeout: float = 5.0, max_seconds: float = 120.0
) -> Grade:
    """Run `candidate` (source code) against `task.private["tests"]` in `sandbox`."""
    p = task.private
    tests: list[str] = list(p["tests"])
    nonce = "@@agentgym-" + secrets.token_hex(8) + "@@"
    job: dict[str, Any] = {
        "nonce": nonce,
        "candidate": candidate,
        "prompt": p.get("prompt_code", ""),
        "entry_point": p.get("entry_point", ""),
        "setup": p.get("setup", ""),
        "tests": tests,
        "test_timeout": test_timeout,
    }
    timeout = min(max_seconds, test_timeout * (len(tests) + 2) + 2.0)
    run = sandbox.run(_HARNESS, stdin=json.dumps(job), timeout=timeout)
    loaded, ok, errors = False, set(), []
    for line in run.stdout.splitlines():
        if not line.startswith(nonce):
            continue
        rec = json.loads(line[len(nonce) :])
        if "loaded" in rec:
            loaded = bool(rec["loaded"])
            if not loaded:
                errors.append(f"solution: {rec.get('error', '')}")
        elif rec.get("ok"):
            ok.add(int(rec["test"]))
        else:
            errors.append(f"test {rec['test']}: {rec.get('error', '')}")
    if not loaded and not errors:
        errors.append(f"the grading run stopped early ({run.reason or 'exit code ' + str(run.exit_code)})")
    return Grade(passed=len(ok), total=len(tests), loaded=loaded, errors=errors, run=run)
