"""The first example of docs/search.md runs offline and shows what the text says."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "search.md"


def test_default_world_example_runs(capsys):
    block = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)[0]
    namespace: dict = {}
    exec(block, namespace)
    out = capsys.readouterr().out
    assert out.startswith("Question: ")
    assert "<information>Doc 1 (Title: The Storm of Hofediam)" in out
