"""Episode records and the append-only JSONL store that makes evaluation resumable.

Each finished episode is one JSON line, written with a single `write` on an ``O_APPEND`` file
and fsynced, so a kill (even ``kill -9``) loses at most the episode being written. On resume
the store drops a torn last line, reads the finished (task, sample) keys, and the runner skips
them — so the final file holds each pair exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EpisodeRecord", "EpisodeStore", "StepRecord", "read_records"]

log = logging.getLogger(__name__)


@dataclass
class StepRecord:
    """One agent turn: what it did and what came back."""

    action: str
    observation: str
    reward: float = 0.0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_results: list[dict[str, Any]] = field(default_factory=list)
    parse_error: str | None = None
    error: str | None = None


@dataclass
class EpisodeRecord:
    """Everything the summary and the report need about one (task, sample) episode."""

    task_key: str
    sample: int
    task_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    system_prompt: str = ""
    first_observation: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    reward: float = 0.0
    score: float = 0.0
    success: bool = False
    answer: str | None = None
    gold: str | None = None
    truncated: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    tool_calls: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    error: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_key, self.sample)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EpisodeRecord:
        d = dict(d)
        d["steps"] = [StepRecord(**s) for s in d.get("steps", [])]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


def _valid_prefix_length(path: Path) -> int:
    """Bytes of `path` up to and including its last complete, parseable line."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # 0 when there is no newline at all
    if end and end < len(data):
        log.warning(
            "%s: dropping a torn last line (%d bytes) left by an interrupted run", path, len(data) - end
        )
    return end


def read_records(path: str | Path) -> list[EpisodeRecord]:
    """All complete records of a JSONL file; the first copy wins if a key repeats."""
    path = Path(path)
    if not path.is_file():
        return []
    out: dict[tuple[str, int], EpisodeRecord] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.endswith("\n"):
                break  # torn by a kill; the runner redoes this episode
            try:
                rec = EpisodeRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                log.warning("%s line %d is not an episode record (%s); skipped", path, lineno, exc)
                continue
            out.setdefault(rec.key, rec)
    return list(out.values())


class EpisodeStore:
    """Append-only, thread-safe, crash-safe JSONL of `EpisodeRecord`s."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():
            keep = _valid_prefix_length(self.path)
            if keep != self.path.stat().st_size:
                os.truncate(self.path, keep)
        self._lock = threading.Lock()
        self._done: set[tuple[str, int]] = {r.key for r in read_records(self.path)}
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @property
    def done(self) -> set[tuple[str, int]]:
        with self._lock:
            return set(self._done)

    def append(self, rec: EpisodeRecord) -> bool:
        """Write `rec` unless its key is already stored; returns whether it was written."""
        line = (rec.to_json() + "\n").encode("utf-8")
        with self._lock:
            if rec.key in self._done:
                return False
            view = memoryview(line)
            while view:  # a regular-file write is whole in practice; loop for the partial case anyway
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
            self._done.add(rec.key)
        return True

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> EpisodeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[EpisodeRecord]:
        return iter(read_records(self.path))


def sorted_records(records: Iterable[EpisodeRecord]) -> list[EpisodeRecord]:
    """Records in a stable order (task key, sample), independent of finishing order."""
    return sorted(records, key=lambda r: (r.task_key, r.sample))
