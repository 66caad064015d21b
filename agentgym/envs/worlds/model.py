"""Records of a generated world (entities, documents, questions) and their files on disk.

A world directory holds `world.json` (parameters), `entities.jsonl`, `corpus.jsonl` (rows
`{"id", "contents", "type", "entity"}`, the first line of `contents` is the title, as in
FlashRAG / Search-R1 wiki-18) and `train.jsonl` / `dev.jsonl` / `test.jsonl` (FlashRAG rows
`{"id", "question", "golden_answers", "metadata"}`). Files are written with sorted keys and a
fixed layout, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["SPLITS", "Document", "Entity", "Question", "World"]

SPLITS: tuple[str, ...] = ("train", "dev", "test")
FORMAT_VERSION = 1


@dataclass
class Entity:
    """A fictional entity: typed attributes (`attrs`) and relations to other entities (`rels`, ids)."""

    id: str
    type: str
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)
    rels: dict[str, str] = field(default_factory=dict)
    doc_id: str = ""
    namesakes: list[str] = field(default_factory=list)


@dataclass
class Document:
    """One encyclopedia article; `entity_id` and `type` let simulators pick same-type distractors."""

    id: str
    title: str
    text: str
    entity_id: str = ""
    type: str = ""

    @property
    def contents(self) -> str:
        """FlashRAG / Search-R1 layout: title on the first line, then the text."""
        return f"{self.title}\n{self.text}"


@dataclass
class Question:
    """A question with its gold answers, gold chain of documents and the expert's queries."""

    id: str
    question: str
    answers: list[str]
    hops: int
    kind: str
    gold_docs: list[str]
    expert_queries: list[str]
    split: str = "train"
    relations: list[str] = field(default_factory=list)

    def to_flashrag(self) -> dict[str, Any]:
        meta = {
            "hops": self.hops,
            "kind": self.kind,
            "gold_docs": self.gold_docs,
            "expert_queries": self.expert_queries,
            "relations": self.relations,
        }
        return {"id": self.id, "question": self.question, "golden_answers": self.answers, "metadata": meta}

    @classmethod
    def from_flashrag(cls, row: dict[str, Any], split: str = "train") -> Question:
        meta = row.get("metadata") or {}
        return cls(
            id=str(row["id"]),
            question=row["question"],
            answers=list(row["golden_answers"]),
            hops=int(meta.get("hops", 0)),
            kind=meta.get("kind", ""),
            gold_docs=list(meta.get("gold_docs", [])),
            expert_queries=list(meta.get("expert_queries", [])),
            split=split,
            relations=list(meta.get("relations", [])),
        )


def _dump_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")


def _load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class World:
    """A generated world: `entities`, one `documents` row per entity, and `questions`."""

    seed: int
    params: dict[str, Any]
    entities: list[Entity]
    documents: list[Document]
    questions: list[Question]

    # ----------------------------------------------------------------- lookups
    @cached_property
    def _doc_index(self) -> dict[str, int]:
        return {d.id: i for i, d in enumerate(self.documents)}

    @cached_property
    def _entity_index(self) -> dict[str, Entity]:
        return {e.id: e for e in self.entities}

    @cached_property
    def _by_type(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for d in self.documents:
            out[d.type].append(d.id)
        return dict(out)

    @cached_property
    def _type_pos(self) -> dict[str, int]:
        return {doc_id: i for ids in self._by_type.values() for i, doc_id in enumerate(ids)}

    def doc(self, doc_id: str) -> Document:
        return self.documents[self._doc_index[doc_id]]

    def entity(self, entity_id: str) -> Entity:
        return self._entity_index[entity_id]

    def questions_for(self, split: str | None = None, hops: Sequence[int] | None = None) -> list[Question]:
        """Questions of one split (None: all) whose hop count is in `hops` (None: any)."""
        return [
            q
            for q in self.questions
            if (split is None or q.split == split) and (hops is None or q.hops in hops)
        ]

    def distractors(self, doc_id: str, n: int = 5) -> list[str]:
        """Doc ids that look like `doc_id` but are not it: near-namesakes first, then same-type docs.

        Deterministic (no rng): a ZeroSearch-style simulator uses these as plausible wrong documents.
        """
        doc = self.doc(doc_id)
        ent = self.entity(doc.entity_id) if doc.entity_id else None
        out = [self.entity(e).doc_id for e in (ent.namesakes if ent else [])]
        same = self._by_type.get(doc.type, [])
        pos = self._type_pos.get(doc_id, 0)
        for j in range(1, len(same)):
            if len(out) >= n:
                break
            cand = same[(pos + j) % len(same)]
            if cand not in out:
                out.append(cand)
        return out[:n]

    # ----------------------------------------------------------------- files
    def save(self, directory: str | Path) -> Path:
        """Write the world's files (see the module docstring); return the directory."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        meta = {"format_version": FORMAT_VERSION, "seed": self.seed, "params": self.params}
        (out / "world.json").write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        _dump_jsonl(out / "entities.jsonl", (asdict(e) for e in self.entities))
        _dump_jsonl(
            out / "corpus.jsonl",
            (
                {"id": d.id, "contents": d.contents, "type": d.type, "entity": d.entity_id}
                for d in self.documents
            ),
        )
        for split in SPLITS:
            _dump_jsonl(out / f"{split}.jsonl", (q.to_flashrag() for q in self.questions if q.split == split))
        return out

    @classmethod
    def load(cls, directory: str | Path) -> World:
        """Read a directory written by `save`."""
        src = Path(directory)
        meta = json.loads((src / "world.json").read_text(encoding="utf-8"))
        entities = [Entity(**row) for row in _load_jsonl(src / "entities.jsonl")]
        docs = []
        for row in _load_jsonl(src / "corpus.jsonl"):
            title, _, text = row["contents"].partition("\n")
            docs.append(Document(row["id"], title, text, row.get("entity", ""), row.get("type", "")))
        questions = [
            Question.from_flashrag(row, split)
            for split in SPLITS
            for row in _load_jsonl(src / f"{split}.jsonl")
        ]
        questions.sort(key=lambda q: q.id)
        return cls(int(meta["seed"]), dict(meta["params"]), entities, docs, questions)

    def __repr__(self) -> str:
        return f"World(seed={self.seed}, docs={len(self.documents)}, questions={len(self.questions)})"
