"""Token-level policies run through the training collector (agentgym.rollout.Collector)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgym.eval.runner import EvalConfig, run_eval


@pytest.mark.integration
def test_tiny_policy_runs_through_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request
) -> None:
    pytest.importorskip("torch", reason="token-level policies need the train extra (torch)")
    pytest.importorskip("agentgym.rollout.collector")
    monkeypatch.delenv("AGENTGYM_CACHE", raising=False)  # share the tiny model the rollout tests build
    cfg = EvalConfig(
        env_id="agentgym/Calculator-v0",
        out=tmp_path,
        model="tiny",
        n=2,
        samples=2,
        concurrency=4,
        max_tokens=12,
        max_turns=2,
    )
    summary = run_eval(cfg, progress=False)
    assert summary["overall"]["episodes"] == 4 and summary["overall"]["errors"] == 0
    rows = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert sorted((r["task_key"], r["sample"]) for r in rows) == [
        ("seed-0", 0),
        ("seed-0", 1),
        ("seed-1", 0),
        ("seed-1", 1),
    ]
    for r in rows:
        assert 1 <= len(r["steps"]) <= 2 and r["tokens_out"] > 0 and r["tokens_in"] > r["tokens_out"]
        assert r["first_observation"] and r["system_prompt"]
    # the samples of one task share its reset (same task), as in training groups
    assert (
        rows[0]["first_observation"]
        == next(r for r in rows if r["task_key"] == rows[0]["task_key"] and r is not rows[0])[
            "first_observation"
        ]
    )
