"""Evaluation throughput: episodes/s of `agentgym eval` against a model server with latency.

A scripted OpenAI-compatible server answers each call after `--latency` seconds (what a real
model server costs per turn); the same 2-turn GAIA-v0 episodes run at concurrency 1 (the
baseline) and at `--concurrency`. Also reports the oracle's episodes/s (runner overhead with no
model at all) and the cost of the crash-safe store (fsync per episode). Prints JSON.

    python benchmarks/eval.py [--n 40] [--latency 0.05] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from agentgym.eval.records import EpisodeRecord, EpisodeStore
from agentgym.eval.runner import EvalConfig, run_eval
from agentgym.eval.scripted_server import scripted_chat_server


def _timed_eval(out: Path, model: str, n: int, concurrency: int) -> float:
    cfg = EvalConfig(
        env_id="agentgym/GAIA-v0", out=out, model=model, n=n, concurrency=concurrency, report=False
    )
    t0 = time.perf_counter()
    summary = run_eval(cfg, progress=False)
    assert summary["overall"]["episodes"] == n and summary["overall"]["errors"] == 0
    return n / (time.perf_counter() - t0)


def _store_rate(root: Path, n: int) -> float:
    t0 = time.perf_counter()
    with EpisodeStore(root / "store.jsonl") as store:
        for i in range(n):
            store.append(EpisodeRecord(f"t{i}", 0, first_observation="x" * 2000))
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    os.environ.setdefault("AGENTGYM_CACHE", tempfile.mkdtemp(prefix="agentgym-bench-"))
    with tempfile.TemporaryDirectory() as tmp, scripted_chat_server(delay_s=args.latency) as server:
        root = Path(tmp)
        model = f"openai:{server.url}#scripted"
        _timed_eval(root / "warmup", "oracle", 6, 1)  # build the built-in set and indexes once
        seq = _timed_eval(root / "seq", model, args.n, 1)
        par = _timed_eval(root / "par", model, args.n, args.concurrency)
        oracle = _timed_eval(root / "oracle", "oracle", 60, 4)
        store = _store_rate(root, 500)
    print(
        json.dumps(
            {
                "benchmark": "eval_throughput",
                "episodes": args.n,
                "turns_per_episode": 2,
                "server_latency_s": args.latency,
                "episodes_per_s_concurrency_1": round(seq, 2),
                f"episodes_per_s_concurrency_{args.concurrency}": round(par, 2),
                "speedup_vs_concurrency_1": round(par / seq, 2),
                "ideal_speedup": args.concurrency,
                "oracle_episodes_per_s": round(oracle, 1),
                "store_appends_per_s_with_fsync": round(store, 1),
                "max_requests_in_flight": server.max_in_flight,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
