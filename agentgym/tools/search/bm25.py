"""BM25 retrieval with bm25s: streaming tokenisation, sparse index, save/load with memory mapping.

Tokenisation: lowercase, English stopwords, Snowball stemming (PyStemmer) when installed. The
corpus is streamed into the tokenizer (no second copy of the text); the index is a scipy CSC
matrix that `load(..., mmap=True)` maps from disk instead of reading.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.tools.search.base import BaseRetriever, Doc
from agentgym.tools.search.corpus import Corpus, JsonlCorpus, MemoryCorpus, corpus_fingerprint

__all__ = ["BM25Retriever"]

log = logging.getLogger(__name__)


def _stemmer(name: str | None):
    if not name:
        return None
    try:
        import Stemmer
    except ImportError:
        log.warning("PyStemmer is not installed; BM25 runs without stemming (pip install PyStemmer)")
        return None
    return Stemmer.Stemmer(name)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` best positive scores, best first (ties: lower index first).

    Selects among the non-zero entries only: a query touches few documents, and
    `np.argpartition` over a mostly-zero array of 100k floats is ~50x slower than this.
    """
    hits = np.flatnonzero(scores > 0)
    if len(hits) > k:
        hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
    return hits[np.lexsort((hits, -scores[hits]))]


def save_corpus_ref(corpus: Corpus, out: Path) -> dict[str, Any]:
    """Record where an index's documents live: a JSONL path (+ offsets), or a copy in `out`."""
    if isinstance(corpus, JsonlCorpus):
        np.save(out / "offsets.npy", corpus.offsets)
        return {"corpus": str(corpus.path)}
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for i in range(len(corpus)):
            d = corpus[i]
            f.write(json.dumps({"id": d.id, "contents": d.contents}, ensure_ascii=False) + "\n")
    return {"corpus": "corpus.jsonl"}


def load_corpus_ref(directory: Path, meta: dict[str, Any]) -> JsonlCorpus:
    path = Path(meta["corpus"])
    path = path if path.is_absolute() else directory / path
    offsets = np.load(directory / "offsets.npy") if (directory / "offsets.npy").exists() else None
    return JsonlCorpus(path, offsets)


class BM25Retriever(BaseRetriever):
    """Okapi BM25 (Lucene variant) over a corpus.

    >>> from agentgym.tools.search.corpus import MemoryCorpus
    >>> r = BM25Retriever(MemoryCorpus([Doc("a", "Osk", "Osk is a city."), Doc("b", "Tusk", "A poet.")]))
    >>> [d.id for d in r.search("city of Osk", k=1)]
    ['a']
    """

    kind = "bm25"

    def __init__(
        self,
        corpus: Corpus,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        stemmer: str | None = "english",
        stopwords: str | None = "en",
        show_progress: bool = False,
        _state: tuple[Any, Any] | None = None,
    ):
        import bm25s
        from bm25s.tokenization import Tokenizer

        self.corpus = corpus
        self.params = {"k1": k1, "b": b, "stemmer": stemmer, "stopwords": stopwords}
        self._lock = threading.Lock()
        if _state is not None:
            self.model, self.tokenizer = _state
            return
        start = time.perf_counter()
        self.tokenizer = Tokenizer(stemmer=_stemmer(stemmer), stopwords=stopwords or [])
        texts = corpus.iter_contents()
        if show_progress:
            from tqdm.auto import tqdm

            texts = tqdm(texts, total=len(corpus), desc="tokenizing", unit="doc")
        ids = list(self.tokenizer.streaming_tokenize(texts))
        if show_progress:
            log.info("tokenised %d documents in %.1f s", len(ids), time.perf_counter() - start)
        self.model = bm25s.BM25(k1=k1, b=b)
        self.model.index(self.tokenizer.to_tokenized_tuple(ids), show_progress=show_progress)
        log.info("built a BM25 index of %d documents in %.1f s", len(corpus), time.perf_counter() - start)

    def __len__(self) -> int:
        return len(self.corpus)

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        if not queries:
            return []
        k = max(1, min(int(k), len(self.corpus)))
        with self._lock:
            q_ids = self.tokenizer.tokenize(
                list(queries), update_vocab=False, return_as="ids", show_progress=False
            )
            scored = [self.model.get_scores_from_ids(ids) for ids in q_ids]
        return [[self._doc(int(i), float(s[i])) for i in top_k(s, k)] for s in scored]

    def _doc(self, i: int, score: float) -> Doc:
        d = self.corpus[i]
        return Doc(d.id, d.title, d.text, score, d.meta)

    def fingerprint(self) -> str:
        return f"bm25:{corpus_fingerprint(self.corpus)}:{json.dumps(self.params, sort_keys=True)}"

    def save(self, directory: str | Path) -> Path:
        """Write the index, vocabulary and a reference to the corpus into `directory`."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save(str(out), show_progress=False)
        self.tokenizer.save_vocab(str(out))
        self.tokenizer.save_stopwords(str(out))
        meta = {"kind": self.kind, **self.params, **save_corpus_ref(self.corpus, out)}
        (out / "index.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | Path, *, mmap: bool = True) -> BM25Retriever:
        """Load what `save` wrote; `mmap=True` maps the index arrays instead of reading them."""
        import bm25s
        from bm25s.tokenization import Tokenizer

        src = Path(directory)
        meta = json.loads((src / "index.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(src), mmap=mmap, show_progress=False)
        tok = Tokenizer(stemmer=_stemmer(meta.get("stemmer")), stopwords=[])
        tok.load_vocab(str(src))
        tok.load_stopwords(str(src))
        corpus = load_corpus_ref(src, meta)
        return cls(
            corpus,
            k1=meta["k1"],
            b=meta["b"],
            stemmer=meta.get("stemmer"),
            stopwords=meta.get("stopwords"),
            _state=(model, tok),
        )


def bm25_for_docs(docs: Sequence[Doc], **kwargs: Any) -> BM25Retriever:
    """Convenience: a BM25 index over in-memory documents."""
    return BM25Retriever(MemoryCorpus(docs), **kwargs)
