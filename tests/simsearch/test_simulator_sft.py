"""`agentgym simulator sft`: ZeroSearch-style SFT data and a short fine-tune of the tiny simulator."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentgym.tools.search.simulated import SimContext, parse_documents, simulator_sft_examples


def test_sft_examples_are_labelled_and_rendered_like_the_simulator(world, bm25):
    qs = world.questions_for("train")[:30]
    ctxs = [SimContext(q.question, list(q.answers), list(q.gold_docs)) for q in qs]
    ex = simulator_sft_examples(ctxs, [q.expert_queries for q in qs], world, retriever=bm25, k=3)
    assert {e.label for e in ex} == {"useful", "noisy"}
    for e in ex:
        docs = parse_documents(e.target, 3)
        assert 1 <= len(docs) <= 3 and all(len(d.text.split()) <= 30 for d in docs)
        assert f"Query: {e.query}" in e.prompt
        assert ("do not contain the correct answer" in e.prompt) == (e.label == "noisy")
        if e.label == "useful":
            ctx = next(c for c, q in zip(ctxs, qs, strict=True) if e.query in q.expert_queries)
            gold_titles = {world.doc(g).title for g in ctx.gold_docs}
            hit = any(d.title in gold_titles for d in docs) or any(
                a.lower() in e.target.lower() for a in ctx.answers
            )
            assert hit
    blind = simulator_sft_examples(
        ctxs[:3], [q.expert_queries for q in qs[:3]], world, retriever=bm25, grounding="blind"
    )
    assert not any("correct answer is" in e.prompt for e in blind)


@pytest.mark.integration
def test_cli_builds_data_and_fine_tunes(tmp_path):
    from agentgym.cli import app

    out = tmp_path / "sim"
    args = ["simulator", "sft", "--out", str(out), "--world", "3", "--questions", "6", "--steps", "1"]
    res = CliRunner().invoke(
        app, [*args, "--batch-size", "4", "--holdout", "2", "--words", "8", "--device", "cpu"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    rows = (out / "sft_data.jsonl").read_text().splitlines()
    assert summary["examples"] == len(rows) == summary["useful"] + summary["noisy"] > 6
    assert summary["loss_last"] is not None and (out / "final" / "config.json").exists()
    assert 0.0 <= summary["format_rate_after"] <= 1.0
