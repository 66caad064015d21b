"""The example in docs/evaluation.md runs and does what the text says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"


def test_custom_agent_example_runs() -> None:
    block = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[0]
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(block, namespace)
    summary = namespace["summary"]
    assert summary["overall"]["episodes"] == 12
    assert summary["usage"]["tool_calls_by_name"] == {
        "read_file": 8
    }  # levels 1 and 3 (4 tasks each of 12) have attachments
    assert str(summary["overall"]["success_rate"]) in out.getvalue()
