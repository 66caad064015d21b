"""Question files for search QA: FlashRAG JSONL and Search-R1 parquet.

FlashRAG rows: `{"id", "question", "golden_answers", "metadata"?}`. Search-R1 parquet (e.g.
`nq_search/test.parquet`): columns `question` and `golden_answers` where present, else the
question is taken from the chat `prompt` ("Question: ...") and the answers from
`reward_model.ground_truth.target`. Both load into `QARecord`s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.errors import InvalidConfig
from agentgym.tools.search.corpus import iter_rows

__all__ = ["QARecord", "load_qa"]


@dataclass
class QARecord:
    """One question with its gold answers; `meta` may hold gold_docs, hops, expert_queries."""

    id: str
    question: str
    answers: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in list(value)]


def _from_flashrag(row: dict[str, Any], i: int) -> QARecord:
    if "question" not in row or "golden_answers" not in row:
        raise InvalidConfig(
            f"QA row {i} has keys {sorted(row)}; expected FlashRAG {{'id', 'question', 'golden_answers'}}"
        )
    return QARecord(
        str(row.get("id", i)),
        row["question"],
        _as_list(row["golden_answers"]),
        dict(row.get("metadata") or {}),
    )


_QUESTION_IN_PROMPT = re.compile(r"Question:\s*(.+?)\s*$", re.S)


def _from_search_r1(row: dict[str, Any], i: int) -> QARecord:
    question = row.get("question")
    if not question:
        prompt = row.get("prompt")
        content = prompt[0]["content"] if prompt is not None and len(prompt) else ""
        m = _QUESTION_IN_PROMPT.search(content or "")
        question = m.group(1) if m else content
    answers = row.get("golden_answers")
    if answers is None:
        answers = ((row.get("reward_model") or {}).get("ground_truth") or {}).get("target")
    extra = row.get("extra_info") or {}
    return QARecord(
        str(row.get("id", extra.get("index", i))),
        str(question).strip(),
        _as_list(answers),
        {"data_source": row.get("data_source", "")},
    )


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ModuleNotFoundError("reading parquet needs pyarrow: pip install 'agentgym[search]'") from exc
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        yield from batch.to_pylist()


def load_qa(path: str | Path, *, limit: int | None = None) -> list[QARecord]:
    """Questions from a FlashRAG `.jsonl(.gz)` or a Search-R1 `.parquet` file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no QA file at {p}; expected FlashRAG .jsonl or Search-R1 .parquet")
    parquet = p.suffix == ".parquet"
    rows = _parquet_rows(p) if parquet else iter_rows(p)
    out = []
    for i, row in enumerate(rows):
        if limit is not None and i >= limit:
            break
        out.append(_from_search_r1(row, i) if parquet else _from_flashrag(row, i))
    if not out:
        raise InvalidConfig(f"{p} holds no questions")
    return out
