"""`agentgym sft` end to end on the tiny model (a few steps)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentgym.cli import app


@pytest.mark.integration
def test_sft_command_trains_evaluates_and_saves(tmp_path):
    out = tmp_path / "run"
    args = ["sft", "--env", "Calculator-v0", "--model", "tiny", "--episodes", "16", "--out", str(out), "--steps", "3",
            "--batch-size", "4", "--eval-episodes", "2", "--env-kwargs", '{"difficulty": 1}']  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 3 and "eval/success/mean" in rows[-1]
    assert (out / "final" / "config.json").exists() and (out / "checkpoint" / "trainer_state.pt").exists()
    bad = CliRunner().invoke(app, ["sft", "--env", "Calculator-v0", "--out", str(out), "--env-kwargs", "[1]"])
    assert bad.exit_code == 2
    fresh = tmp_path / "bad-eval"
    bad_eval = CliRunner().invoke(
        app, [*args[:8], str(fresh), *args[9:], "--eval-env-kwargs", '{"difficulty": 9}']
    )
    assert bad_eval.exit_code == 2 and "difficulty" in bad_eval.output
    assert not (fresh / "metrics.jsonl").exists()  # refused before any training step


@pytest.mark.integration
def test_sft_command_mixes_envs(tmp_path):
    """Repeated --env mixes demonstrations; kwargs are keyed by env id; eval is reported per env."""
    out = tmp_path / "mix"
    kw = json.dumps({"Calculator-v0": {"difficulty": 1}})  # GuessNumber-v0: its defaults
    args = ["sft", "--env", "Calculator-v0", "--env", "GuessNumber-v0", "--model", "tiny", "--episodes", "6",
            "--out", str(out), "--steps", "2", "--batch-size", "4", "--eval-episodes", "2",
            "--eval-env-kwargs", json.dumps({"Calculator-v0": {"difficulty": 2}}), "--env-kwargs", kw]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "6 demonstrations from Calculator-v0" in res.output
    assert "6 demonstrations from GuessNumber-v0" in res.output
    echoed = json.loads(next(line for line in res.output.splitlines() if line.startswith('{"env"')))
    assert echoed["env_kwargs"]["Calculator-v0"] == {"difficulty": 1}
    assert echoed["eval_env_kwargs"] == {"Calculator-v0": {"difficulty": 2}, "GuessNumber-v0": {}}
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    per_env = [last["eval/Calculator-v0/success/mean"], last["eval/GuessNumber-v0/success/mean"]]
    assert last["eval/success/mean"] == pytest.approx(sum(per_env) / 2)
    flat = CliRunner().invoke(app, [*args[:-1], '{"difficulty": 1}'])
    assert flat.exit_code == 2 and "maps env ids to objects" in flat.output


@pytest.mark.integration
def test_sft_command_stops_at_a_step_and_goes_on(tmp_path):
    """--stop-at leaves a checkpoint mid-schedule (no final/); rerunning without it finishes the run."""
    import torch

    out = tmp_path / "split"
    args = ["sft", "--env", "Calculator-v0", "--model", "tiny", "--episodes", "8", "--out", str(out), "--steps", "4",
            "--batch-size", "4", "--eval-episodes", "1", "--env-kwargs", '{"difficulty": 1}']  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--stop-at", "2"])
    assert first.exit_code == 0, first.output
    assert torch.load(out / "checkpoint" / "trainer_state.pt", weights_only=False)["step"] == 2
    assert not (out / "final").exists()
    rest = CliRunner().invoke(app, args)
    assert rest.exit_code == 0, rest.output
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 4 and (out / "final" / "config.json").exists()
    bad = CliRunner().invoke(app, [*args, "--stop-at", "0"])
    assert bad.exit_code == 2 and "--stop-at" in bad.output
