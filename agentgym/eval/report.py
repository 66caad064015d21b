"""`report.html`: a self-contained page (inline CSS, SVG and a few lines of JS; no CDN).

Summary tables, success by level/difficulty/hops, tool-use and token histograms, a filterable
episode list, and per-episode transcripts where each turn's action, tool calls, observation
and reward are marked. `agentgym report DIR` regenerates it from ``DIR/episodes.jsonl``.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from agentgym.eval.records import EpisodeRecord, StepRecord, read_records, sorted_records
from agentgym.eval.summary import summarize
from agentgym.eval.svg import bar_chart, histogram

__all__ = ["MAX_SHOWN_CHARS", "episode_anchor", "render_report", "write_report"]

MAX_SHOWN_CHARS = 6000

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.charts,.groups{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0}figcaption{font-size:12px;color:#555;text-align:center}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}
details.ep{border:1px solid #ddd;border-radius:6px;margin:6px 0;padding:4px 10px}
summary{cursor:pointer}.turn{margin:8px 0 8px 8px;border-left:3px solid #ccc;padding-left:10px}
.action{background:#eef4ff}.call{background:#fff6d6}.obs{background:#f2f2f2}.err{background:#ffe3e3}
pre{white-space:pre-wrap;word-break:break-word;margin:2px 0;padding:4px 6px;border-radius:4px;font-size:12.5px}
.tag{display:inline-block;font-size:11px;color:#fff;background:#666;border-radius:3px;padding:0 5px;margin-right:4px}
.reward{font-weight:600}#filters{margin:8px 0}#filters input,#filters select{margin-right:8px}
"""

_JS = """
function applyFilter(){
 const q=document.getElementById('q').value.toLowerCase(), st=document.getElementById('st').value;
 let shown=0;
 document.querySelectorAll('details.ep').forEach(d=>{
  const ok=(!q||d.dataset.search.includes(q))&&(!st||d.dataset.status===st);
  d.style.display=ok?'':'none'; if(ok)shown++;});
 document.getElementById('count').textContent=shown+' shown';
}
function openFromHash(){
 const d=location.hash&&document.getElementById(decodeURIComponent(location.hash.slice(1)));
 if(d&&d.tagName==='DETAILS'){d.open=true;d.scrollIntoView();}
}
window.addEventListener('hashchange',openFromHash);
"""


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f'<th class="{"l" if i == 0 else ""}">{escape(h)}</th>' for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i == 0 else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def _summary_html(summary: dict[str, Any]) -> str:
    o = summary["overall"]
    ci = o.get("success_rate_ci95", [float("nan")] * 2)
    passes = [k for k in o if k.startswith("pass@")]
    overall = _table(
        ["episodes", "tasks", "success", "95% CI", "mean score", "mean reward", *passes, "errors", "truncated"],
        [[str(o["episodes"]), str(o["tasks"]), _pct(o["success_rate"]), f"{_pct(ci[0])} – {_pct(ci[1])}", f"{o['score']:.3f}",
          f"{o['reward']:.3f}", *[_pct(o[k]) for k in passes], str(o["errors"]), str(o["truncated"])]],
        "overall",
    )  # fmt: skip
    groups = []
    for name, rows in [*summary["by"].items(), ("tool calls", summary["by_tool_use"])]:
        body = [
            [escape(k), str(b["episodes"]), _pct(b["success_rate"]), f"{b['score']:.3f}"]
            for k, b in rows.items()
        ]
        groups.append(
            f"<div><h3>by {escape(name)}</h3>"
            + _table([name, "episodes", "success", "score"], body)
            + "</div>"
        )
    parts = [overall, '<div class="groups">' + "".join(groups) + "</div>"]
    if "llm_judge" in o:
        j = o["llm_judge"]
        parts.insert(
            1,
            f'<p class="judge"><b>{escape(j["label"])}</b>: {_pct(j["accuracy"])} of {j["judged"]} answers</p>',
        )
    u = summary["usage"]
    parts.append(
        "<h3>usage</h3>"
        + _table(["tokens in (mean)", "tokens out (mean)", "tool calls (mean)", "turns (mean)", "cost"],
                 [[f"{u['tokens_in_mean']:.0f}", f"{u['tokens_out_mean']:.0f}", f"{u['tool_calls_mean']:.2f}",
                   f"{u['turns_mean']:.2f}", f"{u['cost_total']:.4f}"]])
    )  # fmt: skip
    return "\n".join(parts)


def _charts(summary: dict[str, Any], records: list[EpisodeRecord]) -> str:
    charts = []
    for name in ("level", "difficulty", "hops"):
        rows = summary["by"].get(name)
        if rows:
            charts.append(
                bar_chart(
                    list(rows),
                    [b["success_rate"] for b in rows.values()],
                    title=f"success by {name}",
                    vmax=1.0,
                )
            )
    charts.append(histogram([float(r.tool_calls) for r in records], title="tool calls per episode"))
    charts.append(histogram([float(r.tokens_out) for r in records], title="tokens out per episode"))
    charts.append(histogram([float(len(r.steps)) for r in records], title="turns per episode"))
    return '<div class="charts">' + "".join(charts) + "</div>"


def _cap(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """Long observations are cut in the page (episodes.jsonl keeps them whole)."""
    return (
        text
        if len(text) <= limit
        else text[:limit] + f"\n[... {len(text) - limit} more characters in episodes.jsonl]"
    )


def _turn_html(i: int, s: StepRecord) -> str:
    parts = [
        f'<div class="turn"><span class="tag">turn {i + 1}</span><span class="reward">reward {s.reward:+.3f}</span>'
    ]
    parts.append(f'<pre class="action"><span class="tag">action</span>{escape(s.action)}</pre>')
    for call, res in zip(s.tool_calls, s.tool_results or [{}] * len(s.tool_calls), strict=False):
        args = escape(json.dumps(call.get("arguments", {}), ensure_ascii=False))
        parts.append(
            f'<pre class="call"><span class="tag">tool call</span>{escape(str(call.get("name")))}({args})</pre>'
        )
        if res.get("error"):
            parts.append(
                f'<pre class="err"><span class="tag">tool error</span>{escape(str(res["error"]))}</pre>'
            )
    if s.parse_error:
        parts.append(f'<pre class="err"><span class="tag">parse error</span>{escape(s.parse_error)}</pre>')
    parts.append(
        f'<pre class="obs"><span class="tag">observation</span>{escape(_cap(s.observation))}</pre></div>'
    )
    return "".join(parts)


def episode_anchor(r: EpisodeRecord) -> str:
    """The element id of an episode (``report.html#ep-TASK-SAMPLE`` opens its transcript)."""
    return "ep-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in r.task_key) + f"-{r.sample}"


def _episode_html(r: EpisodeRecord) -> str:
    status = "error" if r.error else ("success" if r.success else "failure")
    mark = '<span class="ok">✔</span>' if r.success else '<span class="bad">✘</span>'
    meta = " ".join(f"{k}={v}" for k, v in r.meta.items() if k in ("level", "difficulty", "hops", "kind"))
    search = escape(f"{r.task_id} {r.task_key} {meta} {r.first_observation[:300]}".lower(), quote=True)
    head = (
        f"<summary>{mark} <b>{escape(r.task_id or r.task_key)}</b> #{r.sample} · {escape(meta)} · score {r.score:.2f} · "
        f"{len(r.steps)} turns · {r.tool_calls} tool calls · answer <code>{escape(str(r.answer))}</code>"
        f" · gold <code>{escape(str(r.gold))}</code></summary>"
    )
    body = [f'<pre class="obs"><span class="tag">task</span>{escape(r.first_observation)}</pre>']
    if r.error:
        body.append(f'<pre class="err"><span class="tag">error</span>{escape(r.error)}</pre>')
    body += [_turn_html(i, s) for i, s in enumerate(r.steps)]
    anchor = escape(episode_anchor(r), quote=True)
    return f'<details class="ep" id="{anchor}" data-status="{status}" data-search="{search}">{head}{"".join(body)}</details>'


def render_report(
    records: list[EpisodeRecord], summary: dict[str, Any], *, title: str = "agentgym evaluation"
) -> str:
    """The report page as one HTML string."""
    run = summary.get("run", {})
    subtitle = " · ".join(f"{k}: {v}" for k, v in run.items())
    filters = (
        '<div id="filters"><input id="q" placeholder="filter: task id, level, text" oninput="applyFilter()">'
        '<select id="st" onchange="applyFilter()"><option value="">all</option><option value="success">success</option>'
        '<option value="failure">failure</option><option value="error">error</option></select><span id="count"></span></div>'
    )
    episodes = "\n".join(_episode_html(r) for r in records)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1><p>{escape(subtitle)}</p>"
        f'<h2>Summary</h2><section id="summary">{_summary_html(summary)}</section>'
        f"<h2>Plots</h2>{_charts(summary, records)}"
        f'<h2>Episodes</h2>{filters}<section id="episodes">{episodes}</section>'
        f"<script>{_JS}applyFilter();openFromHash();</script></body></html>"
    )


def write_report(out_dir: str | Path) -> Path:
    """(Re)generate ``OUT/report.html`` from ``OUT/episodes.jsonl`` (and the run info in summary.json)."""
    from agentgym.eval.runner import RECORDS_FILE, SUMMARY_FILE

    out = Path(out_dir)
    records = sorted_records(read_records(out / RECORDS_FILE))
    old = json.loads((out / SUMMARY_FILE).read_text()) if (out / SUMMARY_FILE).is_file() else {}
    run = old.get("run", {})
    summary = summarize(records, samples=int(run.get("samples", 1)), seed=int(run.get("seed", 0)))
    summary["run"] = run
    if "llm_judge" in old.get("overall", {}):
        summary["overall"]["llm_judge"] = old["overall"]["llm_judge"]
    path = out / "report.html"
    path.write_text(render_report(records, summary), encoding="utf-8")
    return path
