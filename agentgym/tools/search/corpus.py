"""Corpus readers: JSONL rows `{"id", "contents"}` (first line = title) or `{"id", "title", "text"}`.

Large corpora (wiki-18 has 21M passages) are never held as Python strings: `JsonlCorpus`
scans the file once for line offsets (kept as a numpy array and saved beside an index) and
reads a row with `os.pread` when a search returns it; indexing streams the rows. Gzipped files
cannot be read at an offset, so `.jsonl.gz` corpora load into a `MemoryCorpus`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from agentgym.errors import InvalidConfig
from agentgym.tools.search.base import Doc

__all__ = [
    "Corpus",
    "JsonlCorpus",
    "MemoryCorpus",
    "corpus_fingerprint",
    "iter_rows",
    "load_corpus",
    "row_to_doc",
]


class Corpus(Protocol):
    """Random access to documents by position, plus streaming for indexing."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> Doc: ...

    def iter_contents(self) -> Iterator[str]: ...


def row_to_doc(row: dict[str, Any], line_no: int = 0) -> Doc:
    """A corpus row in either accepted layout as a `Doc`."""
    doc_id = str(row.get("id", row.get("_id", line_no)))
    if "contents" in row:
        return Doc.from_contents(doc_id, row["contents"])
    if "text" in row:
        return Doc(doc_id, str(row.get("title", "")), row["text"])
    raise InvalidConfig(
        f"corpus row {line_no} has keys {sorted(row)}; expected {{'id', 'contents'}} (first line = title) "
        "or {'id', 'title', 'text'}"
    )


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")


def iter_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the JSON rows of a `.jsonl` / `.jsonl.gz` file, skipping blank lines."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no corpus file at {p}; expected a JSONL file of {{'id', 'contents'}} rows")
    with _open(p) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


class MemoryCorpus:
    """Documents held in memory (generated worlds, small corpora, gzipped files)."""

    def __init__(self, docs: Iterable[Doc]):
        self.docs: list[Doc] = list(docs)

    @classmethod
    def from_path(cls, path: str | Path) -> MemoryCorpus:
        return cls(row_to_doc(row, i) for i, row in enumerate(iter_rows(path)))

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, i: int) -> Doc:
        return self.docs[i]

    def iter_contents(self) -> Iterator[str]:
        return (d.contents for d in self.docs)

    @property
    def ids(self) -> Sequence[str]:
        return [d.id for d in self.docs]


class JsonlCorpus:
    """A JSONL corpus on disk, read by byte offset; only the offsets live in memory."""

    def __init__(self, path: str | Path, offsets: np.ndarray | None = None):
        self.path = Path(path).resolve()
        if not self.path.exists():
            raise FileNotFoundError(f"no corpus file at {self.path}")
        self.offsets = offsets if offsets is not None else self.scan(self.path)
        self._fd: int | None = None
        self._lock = threading.Lock()

    @staticmethod
    def scan(path: Path) -> np.ndarray:
        """Byte offsets of every non-blank line, plus the end offset (n + 1 entries)."""
        starts: list[int] = []
        pos = 0
        with path.open("rb") as f:
            for line in f:
                if line.strip():
                    starts.append(pos)
                pos += len(line)
        starts.append(pos)
        return np.asarray(starts, dtype=np.int64)

    def _file(self) -> int:
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)
            return self._fd

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> Doc:
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        raw = os.pread(self._file(), end - start, start)  # thread-safe: no shared file position
        return row_to_doc(json.loads(raw), i)

    def iter_contents(self) -> Iterator[str]:
        for i, row in enumerate(iter_rows(self.path)):
            yield row_to_doc(row, i).contents

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "offsets": self.offsets}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["offsets"])  # type: ignore[misc]

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def load_corpus(path: str | Path) -> MemoryCorpus | JsonlCorpus:
    """A corpus for a file: offset-addressed for `.jsonl`, in memory for `.jsonl.gz`."""
    p = Path(path)
    return MemoryCorpus.from_path(p) if p.suffix == ".gz" else JsonlCorpus(p)


def corpus_fingerprint(corpus: Corpus) -> str:
    """A short id of a corpus's identity (path + size + mtime, or a hash of ids and titles)."""
    if isinstance(corpus, JsonlCorpus):
        st = corpus.path.stat()
        blob = f"{corpus.path}:{st.st_size}:{st.st_mtime_ns}"
    elif isinstance(corpus, MemoryCorpus):
        cached = getattr(corpus, "_fingerprint", None)
        if cached:
            return cached
        h = hashlib.sha1()
        for d in corpus.docs:
            h.update(f"{d.id}\x00{d.title}\x00{len(d.text)}\x01".encode())
        blob = h.hexdigest()
    else:
        blob = f"{type(corpus).__name__}:{len(corpus)}"
    fp = hashlib.sha1(blob.encode()).hexdigest()[:12]
    if isinstance(corpus, MemoryCorpus):
        corpus._fingerprint = fp  # type: ignore[attr-defined]
    return fp
