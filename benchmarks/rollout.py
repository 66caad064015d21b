"""Batched collector vs a sequential per-episode loop (same model, tasks and seeds).

Prints one JSON object: episodes/s and policy tokens/s of both, their ratio, and the peak RSS
of the batched 32-episode rollout. Both runs produce identical trajectories (seeded per
episode and turn), so the ratio compares equal work.

    python benchmarks/rollout.py --model small --env Calculator-v0 --tasks 8 --group 4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="small")
    ap.add_argument("--env", default="Calculator-v0")
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--max-turns", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    ap.add_argument(
        "--seq-episodes",
        type=int,
        default=0,
        help="time the sequential loop on the first K episodes only (0: all)",
    )
    args = ap.parse_args()

    import torch

    import agentgym
    from agentgym.llm import SamplingParams, load_policy
    from agentgym.rollout import Collector, EpisodeStart

    if args.threads:
        torch.set_num_threads(args.threads)
    policy = load_policy(args.model, device="cpu")
    col = Collector(
        policy,
        sampling=SamplingParams(temperature=1.0, max_tokens=args.max_tokens, seed=0),
        max_turns=args.max_turns,
    )

    def starts():
        return [
            EpisodeStart(
                agentgym.make(args.env), seed=s, group_id=f"{args.env}/{s}", sample_index=j, env_id=args.env
            )
            for s in range(args.tasks)
            for j in range(args.group)
        ]

    col.run(starts()[:2])  # warm-up (allocator, kernels)
    t0 = time.perf_counter()
    batched = col.run(starts())
    t_batch = time.perf_counter() - t0
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    n, tokens = len(batched), sum(t.num_policy_tokens for t in batched)
    print(
        json.dumps(
            {"partial": "batched", "seconds": round(t_batch, 3), "episodes": n, "policy_tokens": tokens}
        ),
        flush=True,
    )
    k = args.seq_episodes or n
    t0 = time.perf_counter()
    sequential = [col.run([s])[0] for s in starts()[:k]]
    t_seq = (time.perf_counter() - t0) * n / k  # extrapolated to all n episodes when k < n

    same = [t.context_ids() for t in batched[:k]] == [t.context_ids() for t in sequential]
    print(json.dumps({
        "benchmark": "rollout", "model": args.model, "env": args.env, "episodes": n,
        "batched": {"seconds": round(t_batch, 3), "episodes_per_s": round(n / t_batch, 3), "policy_tokens_per_s": round(tokens / t_batch, 1)},
        "sequential": {"seconds": round(t_seq, 3), "episodes_per_s": round(n / t_seq, 3), "policy_tokens_per_s": round(tokens / t_seq, 1)},
        "speedup": round(t_seq / t_batch, 2), "identical_trajectories": same, "policy_tokens": tokens, "sequential_episodes_timed": k,
        "peak_rss_gb_batched": round(rss_gb, 3), "torch_threads": torch.get_num_threads(),
        "load_avg_1m": os.getloadavg()[0],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
