"""`agentgym compare DIR1 DIR2`: two runs side by side, and per-task wins and losses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.eval.metrics import mean
from agentgym.eval.records import EpisodeRecord, read_records
from agentgym.eval.summary import summarize

__all__ = ["Comparison", "compare_runs"]


@dataclass
class Comparison:
    """Summaries of both runs and the tasks each one solved more often (mean success over samples)."""

    a: dict[str, Any]
    b: dict[str, Any]
    wins: list[str] = field(default_factory=list)  # tasks where A beats B
    losses: list[str] = field(default_factory=list)  # tasks where B beats A
    ties: int = 0
    only_a: int = 0
    only_b: int = 0


def _per_task(records: list[EpisodeRecord]) -> dict[str, float]:
    by: dict[str, list[float]] = defaultdict(list)
    for r in records:
        by[r.task_key].append(float(r.success))
    return {k: mean(v) for k, v in by.items()}


def compare_runs(dir_a: str | Path, dir_b: str | Path) -> Comparison:
    from agentgym.eval.runner import RECORDS_FILE

    ra, rb = read_records(Path(dir_a) / RECORDS_FILE), read_records(Path(dir_b) / RECORDS_FILE)
    ta, tb = _per_task(ra), _per_task(rb)
    cmp = Comparison(summarize(ra), summarize(rb))
    for key in sorted(set(ta) & set(tb)):
        if ta[key] > tb[key]:
            cmp.wins.append(key)
        elif ta[key] < tb[key]:
            cmp.losses.append(key)
        else:
            cmp.ties += 1
    cmp.only_a, cmp.only_b = len(set(ta) - set(tb)), len(set(tb) - set(ta))
    return cmp


def comparison_table(cmp: Comparison, name_a: str, name_b: str) -> Any:
    """A rich table: overall metrics and group success side by side, then wins/losses."""
    from rich.table import Table

    t = Table("metric", name_a, name_b, "Δ (B − A)", title="comparison")

    def row(label: str, x: float, y: float, pct: bool = True) -> None:
        f = (lambda v: "-" if v != v else f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.3f}")
        d = y - x
        t.add_row(label, f(x), f(y), "-" if d != d else (f"{100 * d:+.1f} pt" if pct else f"{d:+.3f}"))

    oa, ob = cmp.a["overall"], cmp.b["overall"]
    t.add_row("episodes", str(oa["episodes"]), str(ob["episodes"]), "")
    row("success", oa["success_rate"], ob["success_rate"])
    row("mean score", oa["score"], ob["score"], pct=False)
    row("mean reward", oa["reward"], ob["reward"], pct=False)
    for name in sorted(set(cmp.a["by"]) | set(cmp.b["by"])):
        ga, gb = cmp.a["by"].get(name, {}), cmp.b["by"].get(name, {})
        for v in sorted(set(ga) | set(gb)):
            nan = {"success_rate": float("nan")}
            row(f"success, {name}={v}", ga.get(v, nan)["success_rate"], gb.get(v, nan)["success_rate"])
    t.add_row("tasks A wins / B wins / ties", str(len(cmp.wins)), str(len(cmp.losses)), str(cmp.ties))
    if cmp.only_a or cmp.only_b:
        t.add_row("tasks only in one run", str(cmp.only_a), str(cmp.only_b), "")
    return t
