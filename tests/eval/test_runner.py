"""The eval runner: resume after kill -9, OpenAI-compatible server at concurrency 8, reports, compare, CLI."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentgym.cli import app
from agentgym.eval.agents import AgentReply
from agentgym.eval.records import EpisodeRecord, EpisodeStore, read_records
from agentgym.eval.runner import EvalConfig, run_eval


def _eval_cmd(out: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "agentgym", "eval", "--env", "agentgym/GAIA-v0", "--model", f"openai:{url}#fake",
        "--out", str(out), "--n", "20", "--samples", "2", "--concurrency", "4", "--no-progress", *extra,
    ]  # fmt: skip


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "perf"}


def test_kill_9_then_resume_gives_each_pair_once_and_the_same_summary(tmp_path: Path, openai_server) -> None:
    rng = random.Random(os.getpid())
    killed, full = tmp_path / "killed", tmp_path / "full"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for attempt in range(2):  # kill twice, at random points
        proc = subprocess.Popen(
            _eval_cmd(killed, openai_server.url),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        target = len(_lines(killed / "episodes.jsonl")) + rng.randint(3, 12)
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            path = killed / "episodes.jsonl"
            if path.exists() and path.read_bytes().count(b"\n") >= target:
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"attempt {attempt}: the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done_before = len(_lines(killed / "episodes.jsonl"))
    assert 0 < done_before < 40
    subprocess.run(_eval_cmd(killed, openai_server.url, "--resume"), env=env, check=True, capture_output=True)
    uninterrupted = EvalConfig(
        env_id="agentgym/GAIA-v0", out=full, model=f"openai:{openai_server.url}#fake", n=20, samples=2
    )
    run_eval(uninterrupted, progress=False)
    rows = _lines(killed / "episodes.jsonl")
    keys = [(r["task_key"], r["sample"]) for r in rows]
    assert len(keys) == len(set(keys)) == 40
    a = json.loads((killed / "summary.json").read_text())
    b = json.loads((full / "summary.json").read_text())
    assert _comparable(a) == _comparable(b)

    def outcomes(rs: list[dict]) -> list[tuple]:
        return sorted((r["task_key"], r["sample"], r["answer"], r["success"], len(r["steps"])) for r in rs)

    assert outcomes(rows) == outcomes(_lines(full / "episodes.jsonl"))


def test_torn_last_line_is_dropped_and_redone(tmp_path: Path) -> None:
    cfg = EvalConfig(env_id="agentgym/GAIA-v0", out=tmp_path, model="oracle", n=6, report=False)
    first = run_eval(cfg, progress=False)
    path = tmp_path / "episodes.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:4]) + lines[4][: len(lines[4]) // 2])  # a kill in the middle of a write
    assert len(read_records(path)) == 4
    again = run_eval(cfg, progress=False)
    assert len(read_records(path)) == 6 and path.read_bytes().count(b"\n") == 6
    assert _comparable(first) == _comparable(again)


def test_store_never_writes_a_key_twice(tmp_path: Path) -> None:
    with EpisodeStore(tmp_path / "e.jsonl") as store:
        assert store.append(EpisodeRecord("t", 0)) and not store.append(EpisodeRecord("t", 0))
    with EpisodeStore(tmp_path / "e.jsonl") as store:
        assert store.done == {("t", 0)} and not store.append(EpisodeRecord("t", 0))


def test_openai_server_eval_with_concurrency_8(tmp_path: Path, openai_server) -> None:
    before = openai_server.requests
    openai_server.max_in_flight = 0
    cfg = EvalConfig(
        env_id="agentgym/GAIA-v0", out=tmp_path, model=f"openai:{openai_server.url}#fake", n=24, concurrency=8,
        price_in=1.0, price_out=2.0,
    )  # fmt: skip
    summary = run_eval(cfg, progress=False)
    assert summary["overall"]["episodes"] == 24 and summary["overall"]["errors"] == 0
    assert openai_server.requests - before == 48  # two turns per episode: a calculator call, then an answer
    assert openai_server.max_in_flight > 1, "requests never overlapped: the run was not concurrent"
    rec = read_records(tmp_path / "episodes.jsonl")[0]
    assert rec.tokens_in > 0 and rec.tokens_out > 0 and rec.tool_calls == 1
    assert rec.cost == pytest.approx(rec.tokens_in / 1000 + 2 * rec.tokens_out / 1000)
    assert summary["usage"]["cost_total"] > 0
    assert rec.steps[0].tool_calls[0]["name"] == "calculator"


def test_report_is_self_contained_and_shows_transcripts(tmp_path: Path) -> None:
    run_eval(EvalConfig(env_id="agentgym/GAIA-v0", out=tmp_path, model="oracle", n=9), progress=False)
    html = (tmp_path / "report.html").read_text()
    assert (
        "<script src" not in html and "<link" not in html and "http://" not in html and "https://" not in html
    )
    assert html.count('<details class="ep"') == 9 and "<svg" in html
    assert "success by level" in html and "tool calls per episode" in html
    assert "&lt;read_file&gt;" in html and 'class="call"' in html and 'class="obs"' in html


def test_submission_file(tmp_path: Path) -> None:
    cfg = EvalConfig(
        env_id="agentgym/GAIA-v0",
        out=tmp_path / "r",
        model="oracle",
        n=5,
        samples=2,
        submission=tmp_path / "sub.jsonl",
        report=False,
    )
    run_eval(cfg, progress=False)
    rows = _lines(tmp_path / "sub.jsonl")
    assert len(rows) == 5 and set(rows[0]) == {"task_id", "model_answer", "reasoning_trace"}
    assert rows[0]["reasoning_trace"].endswith("</answer>")


def test_pass_at_k_in_summary_for_seeded_env(tmp_path: Path) -> None:
    cfg = EvalConfig(
        env_id="agentgym/Calculator-v0", out=tmp_path, model="oracle", n=4, samples=4, report=False
    )
    summary = run_eval(cfg, progress=False)
    assert summary["overall"]["pass@1"] == 1.0 and summary["overall"]["pass@4"] == 1.0
    assert summary["overall"]["episodes"] == 16 and summary["overall"]["tasks"] == 4
    assert set(summary["by"]["difficulty"]) <= {"1", "2", "3"}


def test_cli_eval_report_compare(tmp_path: Path) -> None:
    runner = CliRunner()
    a, b = tmp_path / "a", tmp_path / "b"
    r1 = runner.invoke(
        app,
        [
            "eval",
            "--env",
            "agentgym/GAIA-v0",
            "--model",
            "oracle",
            "--out",
            str(a),
            "--n",
            "12",
            "--no-progress",
        ],
    )
    r2 = runner.invoke(
        app,
        [
            "eval",
            "--env",
            "agentgym/GAIA-v0",
            "--model",
            "constant:0",
            "--out",
            str(b),
            "--n",
            "12",
            "--no-progress",
        ],
    )
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert "100.0%" in r1.output
    (a / "report.html").unlink()
    assert runner.invoke(app, ["report", str(a)]).exit_code == 0 and (a / "report.html").is_file()
    out = runner.invoke(app, ["compare", str(a), str(b)])
    assert out.exit_code == 0 and "A wins" in out.output
    assert runner.invoke(app, ["report", str(tmp_path / "none")]).exit_code == 2
    again = runner.invoke(
        app,
        [
            "eval",
            "--env",
            "agentgym/GAIA-v0",
            "--model",
            "oracle",
            "--out",
            str(a),
            "--n",
            "12",
            "--no-resume",
        ],
    )
    assert again.exit_code != 0


def _judge_reply(messages: list[dict]) -> str:
    """A judge 'model' that compares the gold and model answers leniently (case and spaces)."""
    text = messages[-1]["content"]
    gold = text.split("Gold answer: ", 1)[1].split("\n", 1)[0]
    answer = text.split("Model answer: ", 1)[1].split("\n", 1)[0]
    same = gold.replace(" ", "").lower() == answer.replace(" ", "").lower()
    return "CORRECT" if same else "INCORRECT"


def test_llm_judge_is_reported_separately_and_resumes(tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason="the scripted server needs the server extra")
    from agentgym.eval.judge import JUDGE_FILE
    from agentgym.eval.scripted_server import scripted_chat_server

    with scripted_chat_server(_judge_reply) as judge:
        cfg = EvalConfig(
            env_id="agentgym/GAIA-v0",
            out=tmp_path,
            model="constant:0",
            n=12,
            judge=f"openai:{judge.url}#judge",
        )
        summary = run_eval(cfg, progress=False)
        verdict = summary["overall"]["llm_judge"]
        assert "not the benchmark's official score" in verdict["label"] and verdict["judged"] == 12
        assert (
            verdict["accuracy"] == summary["overall"]["success_rate"]
            and verdict["agrees_with_official"] == 1.0
        )
        calls = judge.requests
        run_eval(cfg, progress=False)  # verdicts are cached: nothing is judged twice
        assert judge.requests == calls
    assert len((tmp_path / JUDGE_FILE).read_text().splitlines()) == 12
    assert "LLM-judge accuracy" in (tmp_path / "report.html").read_text()


def test_a_failing_agent_fails_its_episodes_not_the_run(tmp_path: Path) -> None:
    class Flaky:
        def act(self, messages, env, *, seed):
            if env.unwrapped.task.meta["level"] == 2:
                raise RuntimeError("model backend down")
            return AgentReply(env.unwrapped.oracle_action())

    summary = run_eval(
        EvalConfig(env_id="agentgym/GAIA-v0", out=tmp_path, n=9, report=False), agent=Flaky(), progress=False
    )
    rows = {r.task_key: r for r in read_records(tmp_path / "episodes.jsonl")}
    assert summary["overall"]["errors"] == 3 and summary["by"]["level"]["1"]["success_rate"] == 1.0
    failed = [r for r in rows.values() if r.error]
    assert all(
        "agent failed: RuntimeError: model backend down" in r.error and r.meta["level"] == 2 for r in failed
    )
