"""The code in docs/envs.md and docs/tools.md runs and does what the text says."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium

from agentgym.core.checks import check_contract

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _python_blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), re.S)


def test_envs_md_example_registers_a_working_env() -> None:
    namespace: dict = {}
    exec(_python_blocks("envs.md")[0], namespace)
    try:
        results = check_contract("agentgym/Capitals-v0", seeds=range(4))
        assert all(r.ok for r in results), [(r.name, r.detail) for r in results]
    finally:
        gymnasium.registry.pop("agentgym/Capitals-v0", None)


def test_tools_md_example() -> None:
    namespace: dict = {}
    exec(_python_blocks("tools.md")[0], namespace)
    wc = namespace["word_count"]
    assert wc(text="a b a").content == "3"
    assert wc(text="a b a", unique=True).content == "2"
    assert wc(text=3).error == "word_count: argument `text` must be string, got int 3"
