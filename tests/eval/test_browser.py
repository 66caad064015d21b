"""report.html in headless Chromium: the summary and a transcript render; a screenshot is saved."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agentgym.eval.records import read_records
from agentgym.eval.report import episode_anchor
from agentgym.eval.runner import EvalConfig, run_eval

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "headless Chromium is not installed (Debian: apt-get install -y chromium; .ci/suites/40-browser.sh does it)"
    )


def _headless(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--virtual-time-budget=3000",
    ]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.browser
def test_report_renders_in_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    run_eval(EvalConfig(env_id="agentgym/GAIA-v0", out=tmp_path, model="oracle", n=12), progress=False)
    rec = next(r for r in read_records(tmp_path / "episodes.jsonl") if r.meta.get("level") == 3)
    url = (tmp_path / "report.html").as_uri() + "#" + episode_anchor(rec)
    dom = _headless(browser, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert '<section id="summary">' in html and "12 shown" in html  # the filter script ran in the browser
    before, after = html.split(f'id="{episode_anchor(rec)}"', 1)
    assert " open" in before.rsplit("<details", 1)[1] + after.split(">", 1)[0], (
        "report.html#<episode> did not expand it"
    )
    assert "tool call" in after.split("</details>", 1)[0] and "observation" in after.split("</details>", 1)[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "eval_report.png"
    shot.unlink(missing_ok=True)
    res = _headless(browser, f"--screenshot={shot}", "--window-size=1280,3600", url)
    assert res.returncode == 0 and shot.is_file() and shot.stat().st_size > 20_000, res.stderr[-2000:]
