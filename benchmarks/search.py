"""Search benchmarks: recall of the expert's queries, and latency / build cost at 100k documents.

Prints one JSON object. Sections (``--sections recall,bm25,dense,cache``):

- recall: Recall@5 of the gold document for the expert's queries on a generated world
  (``--recall-docs``, default 10k) for bm25, dense (offline MiniLM, flat) and hybrid (RRF).
- bm25: on a ``--docs`` (default 100k) generated corpus: build time and peak RSS growth, p50/p95 query
  latency, batched throughput, and rank-bm25 (BM25Okapi, same tokens) on the same corpus and
  queries: latency ratio and ranking agreement (top-1 equality, top-5 overlap).
- dense: p50 latency of query encoding + flat-index search over ``--docs`` × 384 vectors
  (``--dense-real`` real passage embeddings, the rest random unit vectors: encoding 100k passages
  takes hours on 2 CPU cores; search cost depends only on the matrix size), once per encoder dtype
  in ``--dense-dtypes`` (default float32,bfloat16; recall is measured for each too).
- cache: latency of a CachedRetriever hit vs the BM25 miss.

Run: ``nice -n 10 python benchmarks/search.py --sections recall,bm25,dense,cache``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def timed_both(fn, *args) -> tuple[float, float]:
    """(wall ms, process CPU ms): CPU time is what an idle machine would wait; wall includes contention."""
    t, c = time.perf_counter(), time.process_time()
    fn(*args)
    return (time.perf_counter() - t) * 1e3, (time.process_time() - c) * 1e3


def expert_pairs(world, n: int, seed: int = 0) -> list[tuple[str, str]]:
    pairs = [
        (q_text, gold)
        for q in world.questions
        for q_text, gold in zip(q.expert_queries, q.gold_docs, strict=False)
    ]
    pairs = sorted(set(pairs))
    random.Random(seed).shuffle(pairs)
    return pairs[:n]


def recall_at(retriever, pairs, k: int = 5) -> float:
    results = retriever.search_batch([q for q, _ in pairs], k)
    return sum(g in {d.id for d in docs} for (_, g), docs in zip(pairs, results, strict=False)) / len(pairs)


def section_recall(args) -> dict:
    from agentgym.envs.worlds import generate_world
    from agentgym.tools.search import make_retriever
    from agentgym.tools.search.hybrid import HybridRetriever

    world = generate_world(args.seed, args.recall_docs)
    pairs = expert_pairs(world, args.recall_queries)
    out: dict = {"docs": len(world.documents), "queries": len(pairs), "k": 5}
    bm25, t_bm25 = timed(lambda: make_retriever("bm25", corpus=world, cache=False))
    out["bm25"] = {"recall@5": recall_at(bm25, pairs), "build_s": round(t_bm25, 2)}
    if args.skip_dense:
        return out
    for dtype in args.dense_dtypes.split(","):
        dense, t_dense = timed(
            lambda d=dtype: make_retriever("dense", corpus=world, cache=False, show_progress=False, dtype=d)
        )
        key = "dense" if dtype == "float32" else f"dense_{dtype}"
        out[key] = {"recall@5": recall_at(dense, pairs), "build_s": round(t_dense, 1)}
        hybrid = HybridRetriever([bm25, dense])
        out[key.replace("dense", "hybrid")] = {"recall@5": recall_at(hybrid, pairs)}
    return out


def section_bm25(args, world) -> dict:
    from agentgym.tools.search import make_retriever

    pairs = expert_pairs(world, args.queries, seed=1)
    queries = [q for q, _ in pairs]
    rss0, c0 = rss_mb(), time.process_time()
    bm25, build_s = timed(lambda: make_retriever("bm25", corpus=world, cache=False))
    out = {
        "docs": len(world.documents),
        "build_s": round(build_s, 2),
        "build_cpu_s": round(time.process_time() - c0, 2),
        "rss_growth_mb": round(rss_mb() - rss0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    bm25.search(queries[0], 5)
    both = [timed_both(bm25.search, q, 5) for q in queries]
    lat, cpu = [w for w, _ in both], [c for _, c in both]
    out["p50_ms"], out["p95_ms"] = round(pct(lat, 0.5), 3), round(pct(lat, 0.95), 3)
    out["cpu_p50_ms"] = round(pct(cpu, 0.5), 3)
    batch_ms, batch_cpu_ms = timed_both(bm25.search_batch, queries, 5)
    out["batched_qps"] = round(len(queries) / batch_ms * 1e3, 1)
    out["batched_qps_cpu"] = round(len(queries) / batch_cpu_ms * 1e3, 1)
    out["rank_bm25"] = compare_rank_bm25(bm25, world, queries[: args.rank_bm25_queries])
    out["rank_bm25"]["latency_ratio"] = round(out["rank_bm25"]["p50_ms"] / out["p50_ms"], 1)
    out["rank_bm25"]["cpu_latency_ratio"] = round(out["rank_bm25"]["cpu_p50_ms"] / out["cpu_p50_ms"], 1)
    return out


def compare_rank_bm25(bm25, world, queries) -> dict:
    import numpy as np
    from rank_bm25 import BM25Okapi

    tok = bm25.tokenizer
    inv = {v: k for k, v in tok.get_vocab_dict().items()}
    corpus_tokens = [
        [inv[i] for i in ids]
        for ids in tok.tokenize(
            [d.contents for d in world.documents], update_vocab=False, return_as="ids", show_progress=False
        )
    ]
    rss0 = rss_mb()
    ref, build_s = timed(lambda: BM25Okapi(corpus_tokens, k1=1.5, b=0.75))
    out = {"build_s": round(build_s, 2), "rss_growth_mb": round(rss_mb() - rss0, 1)}
    q_tokens = [
        [inv[i] for i in ids if inv.get(i)]
        for ids in tok.tokenize(queries, update_vocab=False, return_as="ids", show_progress=False)
    ]
    lat, cpu, top1, overlap = [], [], 0, 0.0
    ids = [d.id for d in world.documents]
    for q, qt in zip(queries, q_tokens, strict=False):
        c0 = time.process_time()
        scores, s = timed(ref.get_scores, qt)
        cpu.append((time.process_time() - c0) * 1e3)
        lat.append(s * 1e3)
        ref_top = [ids[i] for i in np.argsort(-scores)[:5]]
        ours = [d.id for d in bm25.search(q, 5)]
        top1 += bool(ours) and ours[0] == ref_top[0]
        overlap += len(set(ours) & set(ref_top)) / 5
    out.update(
        p50_ms=round(pct(lat, 0.5), 2),
        cpu_p50_ms=round(pct(cpu, 0.5), 2),
        queries=len(queries),
        top1_agreement=round(top1 / len(queries), 3),
        top5_overlap=round(overlap / len(queries), 3),
    )
    return out


def section_dense(args, world) -> dict:
    """Flat-index latency for each encoder dtype in --dense-dtypes (the first is the baseline)."""
    import faiss
    import numpy as np

    from agentgym.tools.search.dense import load_encoder, search_index

    if args.threads:  # single-threaded CPU time is the honest per-query cost on a contended machine
        import torch

        torch.set_num_threads(args.threads)
        faiss.omp_set_num_threads(args.threads)
    docs = world.documents
    queries = [q for q, _ in expert_pairs(world, args.queries, seed=2)]
    rng = np.random.default_rng(0)
    out: dict = {}
    for dtype in args.dense_dtypes.split(","):
        enc = load_encoder(None, "cpu", dtype)

        def encode(texts, enc=enc):  # what DenseRetriever.encode does
            emb = enc.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_tensor=True)
            return np.ascontiguousarray(emb.float().numpy(), dtype=np.float32)

        real, real_s = timed(lambda: encode([d.contents for d in docs[: args.dense_real]]))
        fake = rng.standard_normal((len(docs) - len(real), real.shape[1])).astype(np.float32)
        fake /= np.linalg.norm(fake, axis=1, keepdims=True)
        index = faiss.IndexFlatIP(real.shape[1])
        index.add(np.ascontiguousarray(np.vstack([real, fake]), dtype=np.float32))

        def one(q, index=index, encode=encode):
            return search_index(index, encode([q]), 5)  # what DenseRetriever.search does

        one(queries[0])
        both = [timed_both(one, q) for q in queries]
        lat, cpu = [w for w, _ in both], [c for _, c in both]
        enc_lat = [timed(encode, [q])[1] * 1e3 for q in queries[:100]]
        _, batch_s = timed(search_index, index, encode(queries), 5)
        out[dtype] = {
            "vectors": int(index.ntotal),
            "dim": int(real.shape[1]),
            "real_passages": len(real),
            "passages_per_s": round(len(real) / real_s, 1),
            "p50_ms": round(pct(lat, 0.5), 2),
            "p95_ms": round(pct(lat, 0.95), 2),
            "cpu_p50_ms": round(pct(cpu, 0.5), 2),
            "query_encode_p50_ms": round(statistics.median(enc_lat), 2),
            "batched_search_ms_per_query": round(batch_s * 1e3 / len(queries), 3),
            "threads": faiss.omp_get_max_threads(),
        }
    base = out[args.dense_dtypes.split(",")[0]]["p50_ms"]
    for entry in out.values():
        entry["p50_ratio_vs_first"] = round(entry["p50_ms"] / base, 3)
    return out


def section_cache(args, world) -> dict:
    from agentgym.tools.search import make_retriever

    r = make_retriever("bm25", corpus=world, cache=True)
    queries = [q for q, _ in expert_pairs(world, args.queries, seed=3)]
    miss = [timed_both(r.search, q, 5)[0] for q in queries]
    hit = [timed_both(r.search, q, 5)[0] for q in queries]
    return {
        "hit_p50_ms": round(pct(hit, 0.5), 4),
        "miss_p50_ms": round(pct(miss, 0.5), 3),
        "speedup": round(pct(miss, 0.5) / pct(hit, 0.5), 1),
        **r.stats,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", default="recall,bm25,dense,cache")
    p.add_argument("--docs", type=int, default=100_000)
    p.add_argument("--recall-docs", type=int, default=10_000)
    p.add_argument("--recall-queries", type=int, default=2000)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--rank-bm25-queries", type=int, default=100)
    p.add_argument("--dense-real", type=int, default=2000)
    p.add_argument("--skip-dense", action="store_true")
    p.add_argument(
        "--dense-dtypes", default="float32,bfloat16", help="encoder dtypes to measure, baseline first"
    )
    p.add_argument(
        "--threads", type=int, default=0, help="torch/faiss threads for the dense section (0 = default)"
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    sections = args.sections.split(",")
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    if "recall" in sections:
        report["recall"] = section_recall(args)
        print(json.dumps({"recall": report["recall"]}), file=sys.stderr, flush=True)
    if {"bm25", "dense", "cache"} & set(sections):
        from agentgym.envs.worlds import generate_world

        world, gen_s = timed(generate_world, args.seed, args.docs)
        report["world"] = {"docs": len(world.documents), "generate_s": round(gen_s, 2)}
        for name, fn in (("bm25", section_bm25), ("dense", section_dense), ("cache", section_cache)):
            if name in sections:
                report[name] = fn(args, world)
                print(json.dumps({name: report[name]}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
