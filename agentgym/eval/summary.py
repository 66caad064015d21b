"""The summary of an evaluation: overall and grouped metrics with bootstrap confidence intervals.

Success rate, mean score and mean reward are averaged per task first (over its samples) and the
bootstrap resamples tasks, so several samples of one task are not counted as independent
evidence. Timing goes under ``perf`` (it differs between runs); everything else is a pure
function of the records and the seed, so a resumed run summarises exactly like an
uninterrupted one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from agentgym.eval.metrics import bootstrap_ci, mean, pass_at_k
from agentgym.eval.records import EpisodeRecord

__all__ = ["GROUP_FIELDS", "TOOL_BUCKETS", "format_summary", "summarize"]

GROUP_FIELDS: tuple[str, ...] = ("level", "difficulty", "hops", "kind")
TOOL_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("0", 0, 0),
    ("1-2", 1, 2),
    ("3-5", 3, 5),
    ("6+", 6, 1 << 30),
)


def _per_task(records: Sequence[EpisodeRecord], value: Any) -> list[float]:
    by_task: dict[str, list[float]] = defaultdict(list)
    for r in records:
        by_task[r.task_key].append(float(value(r)))
    return [mean(v) for _, v in sorted(by_task.items())]


def _block(records: Sequence[EpisodeRecord], seed: int, with_ci: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"episodes": len(records), "tasks": len({r.task_key for r in records})}
    for name, value in (
        ("success_rate", lambda r: r.success),
        ("score", lambda r: r.score),
        ("reward", lambda r: r.reward),
    ):
        per_task = _per_task(records, value)
        out[name] = mean(per_task)
        if with_ci:
            out[f"{name}_ci95"] = list(bootstrap_ci(per_task, seed=seed))
    return out


def _pass_at(records: Sequence[EpisodeRecord], samples: int) -> dict[str, float]:
    by_task: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        by_task[r.task_key].append(r.success)
    ks = sorted({k for k in (1, 2, 4, 8, 16, 32, samples) if k <= samples})
    out = {}
    for k in ks:
        vals = [pass_at_k(len(v), sum(v), k) for v in by_task.values() if len(v) >= k]
        out[f"pass@{k}"] = mean(vals)
    return out


def summarize(records: Sequence[EpisodeRecord], *, samples: int = 1, seed: int = 0) -> dict[str, Any]:
    """Overall metrics, pass@k, by level/difficulty/hops/kind, by tool use, usage and perf."""
    overall = _block(records, seed)
    overall.update(_pass_at(records, samples))
    overall["errors"] = sum(r.error is not None for r in records)
    overall["truncated"] = sum(r.truncated for r in records)
    groups: dict[str, dict[str, Any]] = {}
    for name in GROUP_FIELDS:
        values = {r.meta[name] for r in records if name in r.meta}
        if values:
            groups[name] = {
                str(v): _block([r for r in records if r.meta.get(name) == v], seed, with_ci=False)
                for v in sorted(values, key=lambda x: (str(type(x)), x))
            }
    by_tools = {
        label: _block(sel, seed, with_ci=False)
        for label, lo, hi in TOOL_BUCKETS
        if (sel := [r for r in records if lo <= r.tool_calls <= hi])
    }
    tool_names: dict[str, int] = defaultdict(int)
    for r in records:
        for s in r.steps:
            for c in s.tool_calls:
                tool_names[str(c.get("name"))] += 1
    usage = {
        "tokens_in_mean": mean([r.tokens_in for r in records]),
        "tokens_out_mean": mean([r.tokens_out for r in records]),
        "tool_calls_mean": mean([r.tool_calls for r in records]),
        "turns_mean": mean([len(r.steps) for r in records]),
        "cost_total": float(sum(r.cost for r in records)),
        "tool_calls_by_name": dict(sorted(tool_names.items())),
    }
    lat = sorted(r.latency_s for r in records)
    perf = {
        "latency_s_mean": mean(lat),
        "latency_s_p50": lat[len(lat) // 2] if lat else float("nan"),
        "latency_s_p90": lat[int(len(lat) * 0.9)] if lat else float("nan"),
    }
    return {"overall": overall, "by": groups, "by_tool_use": by_tools, "usage": usage, "perf": perf}


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.1f}%"


def format_summary(summary: dict[str, Any]) -> Any:
    """A rich renderable: the overall line, then one table per grouping."""
    from rich.console import Group
    from rich.table import Table

    o = summary["overall"]
    head = Table(
        "episodes",
        "tasks",
        "success",
        "95% CI",
        "score",
        "reward",
        *[k for k in o if k.startswith("pass@")],
        "errors",
        "truncated",
        title="overall",
    )
    ci = o.get("success_rate_ci95", [float("nan")] * 2)
    head.add_row(
        str(o["episodes"]), str(o["tasks"]), _pct(o["success_rate"]), f"{_pct(ci[0])} – {_pct(ci[1])}",
        f"{o['score']:.3f}", f"{o['reward']:.3f}", *[_pct(v) for k, v in o.items() if k.startswith("pass@")],
        str(o["errors"]), str(o["truncated"]),
    )  # fmt: skip
    tables: list[Any] = [head]
    judge = o.get("llm_judge")
    if judge:
        tables.append(f"{judge['label']}: {_pct(judge['accuracy'])} of {judge['judged']} answers")
    sections = [(f"by {name}", rows) for name, rows in summary["by"].items()] + [
        ("by tool calls", summary["by_tool_use"])
    ]
    for title, rows in sections:
        t = Table("group", "episodes", "success", "score", title=title)
        for k, b in rows.items():
            t.add_row(k, str(b["episodes"]), _pct(b["success_rate"]), f"{b['score']:.3f}")
        tables.append(t)
    return Group(*tables)
