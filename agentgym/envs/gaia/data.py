"""Loading GAIA-format task directories.

A GAIA directory holds ``metadata.jsonl`` (or ``metadata.parquet``) with one task per row —
``task_id``, ``Question``, ``Level``, ``Final answer``, ``file_name`` — and the attachments
beside it. The Hugging Face layout (``2023/validation/metadata.jsonl``) is found too when
`split` is given.

Bad rows never abort a load: each becomes a `DataProblem` naming the task id and the field,
so an evaluation can record it as a failed task and go on with the rest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.core.env import Task
from agentgym.errors import EnvNotAvailable

__all__ = ["REQUIRED_FIELDS", "DataProblem", "GAIADataset", "find_metadata", "load_gaia"]

log = logging.getLogger(__name__)

REQUIRED_FIELDS: tuple[str, ...] = ("task_id", "Question", "Level", "Final answer")
ORACLE_FIELD = "agentgym_oracle"  # optional: a scripted plan of tool calls (built-in set)
PUBLIC_EXTRA_FIELDS: tuple[str, ...] = ("hops", "kind", "tools")  # built-in set annotations


@dataclass(frozen=True)
class DataProblem:
    """One unusable task: which task, which field, what is wrong."""

    task_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"GAIA task {self.task_id}: field `{self.field}`: {self.message}"


@dataclass
class GAIADataset:
    """The tasks that loaded, and the problems of those that did not."""

    root: Path
    tasks: list[Task] = field(default_factory=list)
    problems: list[DataProblem] = field(default_factory=list)

    def by_id(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}


def find_metadata(data_dir: str | Path, split: str | None = None) -> Path:
    """The metadata file of a GAIA directory (``metadata.jsonl`` preferred over parquet)."""
    root = Path(data_dir).expanduser()
    candidates = [root]
    if split:
        candidates = [root / split, root / "2023" / split, root]
    for base in candidates:
        for name in ("metadata.jsonl", "metadata.parquet"):
            if (base / name).is_file():
                return base / name
    looked = ", ".join(str(b / "metadata.{jsonl,parquet}") for b in candidates)
    raise EnvNotAvailable(
        f"no GAIA metadata found; looked for {looked}. Point data_dir at a folder holding "
        "metadata.jsonl (or metadata.parquet) and the attachments, or omit it for the built-in set."
    )


def _read_rows(path: Path) -> tuple[list[dict[str, Any]], list[DataProblem]]:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise EnvNotAvailable(f"reading {path} needs pyarrow: pip install pyarrow ({exc})") from exc
        return pq.read_table(path).to_pylist(), []
    rows: list[dict[str, Any]] = []
    problems: list[DataProblem] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                DataProblem(f"<{path.name} line {lineno}>", "(row)", f"not valid JSON: {exc.msg}")
            )
            continue
        if not isinstance(row, dict):
            problems.append(
                DataProblem(f"<{path.name} line {lineno}>", "(row)", "a row must be a JSON object")
            )
            continue
        row.setdefault("_line", lineno)
        rows.append(row)
    return rows, problems


def _row_to_task(row: dict[str, Any], base: Path) -> Task | DataProblem:
    tid = row.get("task_id")
    task_id = str(tid) if tid not in (None, "") else f"<line {row.get('_line', '?')}>"
    for name in REQUIRED_FIELDS:
        value = row.get(name)
        if value is None or (isinstance(value, str) and not value.strip() and name != "Final answer"):
            return DataProblem(
                task_id, name, f"missing or empty (row has: {', '.join(k for k in row if k != '_line')})"
            )
    try:
        level = int(row["Level"])
    except (TypeError, ValueError):
        return DataProblem(task_id, "Level", f"expected an integer level 1-3, got {row['Level']!r}")
    file_name = str(row.get("file_name") or "")
    meta: dict[str, Any] = {"level": level, "file_name": file_name}
    meta.update({k: row[k] for k in PUBLIC_EXTRA_FIELDS if k in row})
    private: dict[str, Any] = {"root": str(base)}
    if file_name:
        path = base / file_name
        if not path.is_file():
            return DataProblem(task_id, "file_name", f"attachment {file_name!r} not found at {path}")
        private["file_path"] = str(path)
    if ORACLE_FIELD in row:
        private["plan"] = row[ORACLE_FIELD]
    return Task(task_id, str(row["Question"]), answer=str(row["Final answer"]), meta=meta, private=private)


def load_gaia(
    data_dir: str | Path, split: str | None = None, levels: tuple[int, ...] | None = None
) -> GAIADataset:
    """Load a GAIA-format directory; bad rows become `DataProblem`s, never exceptions.

    Args:
        data_dir: folder with metadata.jsonl/parquet (or `split` subfolders).
        split: e.g. "validation" or "test" for the Hugging Face layout.
        levels: keep only these levels (None keeps all).
    """
    meta_path = find_metadata(data_dir, split)
    rows, problems = _read_rows(meta_path)
    ds = GAIADataset(meta_path.parent, problems=problems)
    seen: set[str] = set()
    for row in rows:
        item = _row_to_task(row, meta_path.parent)
        if isinstance(item, DataProblem):
            ds.problems.append(item)
            continue
        if item.id in seen:
            ds.problems.append(DataProblem(item.id, "task_id", "duplicate task id; the first row is kept"))
            continue
        seen.add(item.id)
        if levels is None or item.meta["level"] in levels:
            ds.tasks.append(item)
    for p in ds.problems:
        log.warning("%s", p)
    return ds
