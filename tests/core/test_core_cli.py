"""The `agentgym` CLI: list, info, check, play (with piped stdin)."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from agentgym.cli import app

runner = CliRunner()


def test_list_and_info() -> None:
    out = runner.invoke(app, ["list"])
    assert out.exit_code == 0 and "agentgym/Calculator-v0" in out.output
    out = runner.invoke(app, ["info", "agentgym/Calculator-v0"])
    assert out.exit_code == 0 and "calculator" in out.output and "action format" in out.output


def test_check_passes() -> None:
    out = runner.invoke(app, ["check", "agentgym/Calculator-v0", "--seeds", "3"])
    assert out.exit_code == 0, out.output
    assert out.output.count("PASS") == 5


def test_play_with_piped_stdin() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentgym", "play", "agentgym/Calculator-v0", "--seed", "4"],
        input="<calculator>1+1</calculator>\n/oracle\n/oracle\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "<information>2</information>" in proc.stdout
    assert "episode over (success)" in proc.stdout


def test_unknown_env_exits_nonzero() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentgym", "info", "agentgym/Calculater-v0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "Did you mean" in proc.stderr
