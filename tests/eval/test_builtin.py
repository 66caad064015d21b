"""The built-in GAIA-style set: deterministic, solvable by its oracle, honest about the floor."""

from __future__ import annotations

import json
from pathlib import Path

import agentgym
from agentgym.core.checks import check_contract
from agentgym.envs.gaia.builtin import generate_builtin
from agentgym.eval.metrics import gaia_score, mean
from agentgym.eval.runner import EvalConfig, run_eval


def test_generation_is_deterministic_and_gaia_formatted(tmp_path: Path) -> None:
    a, b = generate_builtin(tmp_path / "a", n=30, seed=5), generate_builtin(tmp_path / "b", n=30, seed=5)
    assert (a / "metadata.jsonl").read_text() == (b / "metadata.jsonl").read_text()
    rows = [json.loads(line) for line in (a / "metadata.jsonl").read_text().splitlines()]
    assert {r["Level"] for r in rows} == {1, 2, 3}
    for r in rows:
        assert {"task_id", "Question", "Level", "Final answer", "file_name"} <= set(r)
        if r["file_name"]:
            assert (a / r["file_name"]).is_file()
        assert (
            "," not in r["Final answer"] or r["kind"] == "json_list"
        )  # numbers without thousands separators
    assert (a / "metadata.jsonl").read_text() != generate_builtin(tmp_path / "c", n=30, seed=6).joinpath(
        "metadata.jsonl"
    ).read_text()


def test_levels_need_search_arithmetic_and_attachments(tmp_path: Path) -> None:
    rows = [
        json.loads(x)
        for x in generate_builtin(tmp_path, n=30).joinpath("metadata.jsonl").read_text().splitlines()
    ]
    tools = {lvl: set().union(*(r["tools"] for r in rows if r["Level"] == lvl)) for lvl in (1, 2, 3)}
    assert "read_file" in tools[1] and "search" not in tools[1]
    assert {"search", "calculator"} <= tools[2]
    assert all({"read_file", "search", "calculator"} <= set(r["tools"]) for r in rows if r["Level"] == 3)


def test_env_contract() -> None:
    failures = [r for r in check_contract("agentgym/GAIA-v0", seeds=range(3)) if not r.ok]
    assert not failures, failures


def test_oracle_scores_100_percent(tmp_path: Path) -> None:
    summary = run_eval(
        EvalConfig(env_id="agentgym/GAIA-v0", out=tmp_path, model="oracle", concurrency=4), progress=False
    )
    o = summary["overall"]
    assert o["episodes"] == 60 and o["success_rate"] == 1.0 and o["errors"] == 0
    assert set(summary["by"]["level"]) == {"1", "2", "3"}
    assert (
        summary["usage"]["tool_calls_by_name"]["search"] > 0
        and summary["usage"]["tool_calls_by_name"]["read_file"] > 0
    )


def test_constant_zero_scores_what_the_gold_distribution_implies(tmp_path: Path) -> None:
    env = agentgym.make("agentgym/GAIA-v0")
    golds = [env.unwrapped.get_task(t).answer for t in env.unwrapped.task_ids()]
    expected = mean([float(gaia_score("0", g)) for g in golds])
    assert 0 < expected < 0.5  # the set has some zero answers, so this floor is a real check
    summary = run_eval(
        EvalConfig(env_id="agentgym/GAIA-v0", out=tmp_path, model="constant:0"), progress=False
    )
    assert summary["overall"]["success_rate"] == expected
    assert (
        summary["overall"]["success_rate_ci95"][0] <= expected <= summary["overall"]["success_rate_ci95"][1]
    )
