"""`agentgym world generate` and `agentgym index build` write usable files."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agentgym.cli import app
from agentgym.envs.worlds import World
from agentgym.tools.search import load_index


def test_world_generate_then_index_build(tmp_path):
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["world", "generate", "--seed", "5", "--docs", "120", "--out", str(tmp_path / "w"), "--hops", "1,2"],
    )
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output.strip().splitlines()[-1])
    assert summary["docs"] == 120 and sum(summary["questions"].values()) == 240
    world = World.load(tmp_path / "w")
    assert {q.hops for q in world.questions} == {1, 2}
    out = runner.invoke(
        app,
        [
            "index",
            "build",
            str(tmp_path / "w" / "corpus.jsonl"),
            "--kind",
            "bm25",
            "--out",
            str(tmp_path / "idx"),
        ],
    )
    assert out.exit_code == 0, out.output
    retriever = load_index(tmp_path / "idx")
    doc = world.documents[4]
    assert retriever.search(doc.title, 1)[0].id == doc.id
    bad = runner.invoke(
        app,
        [
            "index",
            "build",
            str(tmp_path / "w" / "corpus.jsonl"),
            "--kind",
            "bm52",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert bad.exit_code == 2
