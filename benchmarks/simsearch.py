"""Corpus-grounded simulator cost per search vs the real BM25 retriever it wraps (same queries, same run).

    python benchmarks/simsearch.py [--calls 2000]

Prints JSON: microseconds per call for BM25 (uncached) and for the simulator at p = 0, 0.5, 1,
each also as a ratio to BM25, and the measured noisy fraction at each p.
"""

from __future__ import annotations

import argparse
import json
import time

from agentgym.envs.worlds import generate_world
from agentgym.tools.search import make_retriever
from agentgym.tools.search.simulated import CorpusSimulator, SimContext


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--docs", type=int, default=2000)
    args = ap.parse_args()
    world = generate_world(seed=0, num_docs=args.docs)
    bm25 = make_retriever("bm25", corpus=world, cache=False)
    qs = world.questions_for("train")
    work = [(qs[i % len(qs)], qs[i % len(qs)].expert_queries[0]) for i in range(args.calls)]
    t0 = time.perf_counter()
    for _, query in work:
        bm25.search(query, 3)
    base_us = (time.perf_counter() - t0) / args.calls * 1e6
    out: dict = {"calls": args.calls, "docs": args.docs, "bm25_us_per_call": round(base_us, 1)}
    for p in (0.0, 0.5, 1.0):
        sim = CorpusSimulator(world, retriever=bm25, p_start=p, p_end=p, grounding="answer_aware", seed=0)
        t0 = time.perf_counter()
        for q, query in work:
            sim.set_context(SimContext(q.question, list(q.answers), list(q.gold_docs)))
            sim.search(query, 3)
        us = (time.perf_counter() - t0) / args.calls * 1e6
        out[f"sim_p{p}_us_per_call"] = round(us, 1)
        out[f"sim_p{p}_ratio_to_bm25"] = round(us / base_us, 2)
        out[f"sim_p{p}_noisy_fraction"] = round(sim.stats["noisy_fraction"], 4)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
