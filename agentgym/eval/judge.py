"""An optional LLM-judge metric — clearly labelled, never mixed with the official score.

Benchmarks with strict scorers (GAIA's quasi-exact match) under-count answers that are right
but formatted differently; a judge model estimates how many. `judge_run` asks any
`agentgym.llm.OpenAIChat`-compatible backend (anything with `chat_many`) whether each final
answer matches the gold answer, caches verdicts in ``OUT/judge.jsonl`` (resumable like the
episodes), and the summary reports them under ``overall.llm_judge`` with the judge's name.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentgym.eval.records import EpisodeRecord

__all__ = ["JUDGE_FILE", "JUDGE_PROMPT", "judge_run", "parse_verdict", "read_verdicts"]

log = logging.getLogger(__name__)
JUDGE_FILE = "judge.jsonl"
JUDGE_PROMPT = (
    "You grade answers to questions. Decide whether the model's answer means the same as the gold "
    "answer (ignore formatting, units written out, articles and letter case; numbers must be equal).\n\n"
    "Question: {question}\nGold answer: {gold}\nModel answer: {answer}\n\n"
    "Reply with exactly one word: CORRECT or INCORRECT."
)
_VERDICT = re.compile(r"\b(INCORRECT|CORRECT)\b", re.I)


def parse_verdict(text: str) -> bool | None:
    """True/False from the judge's reply (the first CORRECT/INCORRECT word), None if it gave neither."""
    m = _VERDICT.search(text or "")
    return None if m is None else m.group(1).upper() == "CORRECT"


def read_verdicts(out_dir: str | Path) -> dict[tuple[str, int], bool | None]:
    path = Path(out_dir) / JUDGE_FILE
    if not path.is_file():
        return {}
    verdicts: dict[tuple[str, int], bool | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn line: that episode is judged again
        verdicts[(row["task_key"], int(row["sample"]))] = row["correct"]
    return verdicts


def judge_run(
    out_dir: str | Path, records: Sequence[EpisodeRecord], llm: Any, *, batch: int = 16
) -> dict[str, Any]:
    """Judge every record with a gold answer that has no verdict yet; returns the `llm_judge` block."""
    from agentgym.llm.base import SamplingParams

    out = Path(out_dir)
    verdicts = read_verdicts(out)
    todo = [r for r in records if r.gold not in (None, "", "?") and r.key not in verdicts]
    sampling = SamplingParams(temperature=0.0, max_tokens=8)
    with open(out / JUDGE_FILE, "a", encoding="utf-8") as f:
        for lo in range(0, len(todo), batch):
            chunk = todo[lo : lo + batch]
            convs = [
                [
                    {
                        "role": "user",
                        "content": JUDGE_PROMPT.format(
                            question=r.first_observation, gold=r.gold, answer=r.answer or ""
                        ),
                    }
                ]
                for r in chunk
            ]
            for r, c in zip(chunk, llm.chat_many(convs, sampling), strict=True):
                verdict = None if c.finish_reason == "error" else parse_verdict(c.text)
                if c.finish_reason == "error":
                    log.warning("judge call failed for %s/%d: %s", r.task_key, r.sample, c.error)
                    continue  # not cached: retried on the next run
                verdicts[r.key] = verdict
                f.write(
                    json.dumps(
                        {"task_key": r.task_key, "sample": r.sample, "correct": verdict, "raw": c.text[:200]}
                    )
                    + "\n"
                )
            f.flush()
    return summarize_verdicts(
        records, verdicts, judge=str(getattr(llm, "_model", None) or type(llm).__name__)
    )


def summarize_verdicts(
    records: Sequence[EpisodeRecord], verdicts: dict[tuple[str, int], bool | None], judge: str
) -> dict[str, Any]:
    judged = [verdicts[r.key] for r in records if verdicts.get(r.key) is not None]
    return {
        "label": f"LLM-judge accuracy (judge: {judge}); an estimate, not the benchmark's official score",
        "accuracy": sum(judged) / len(judged) if judged else float("nan"),
        "judged": len(judged),
        "unparseable": sum(1 for r in records if r.key in verdicts and verdicts[r.key] is None),
        "agrees_with_official": (
            sum(verdicts[r.key] == r.success for r in records if verdicts.get(r.key) is not None)
            / len(judged)
        )
        if judged
        else float("nan"),
    }
