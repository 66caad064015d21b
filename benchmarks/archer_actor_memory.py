"""Peak memory of ArCHer's actor step in one pass vs in micro-batches (`ArcherConfig.micro_batch_size`).

Each setting runs in its own process (a process's heap only grows), fills the replay buffer with
the same GuessNumber-v0 games, then samples RSS every 5 ms during one actor step. Prints JSON with
the peak RSS rise over the pre-step level for each setting and their ratio.

    python benchmarks/archer_actor_memory.py --ckpt runs/archer-sft-small --batch-size 64 --micro 16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(ckpt: str, batch_size: int, micro: int | None, games: int) -> dict[str, float]:
    """One process: fill the buffer, then one actor step with RSS sampled in a thread."""
    import torch

    from agentgym.llm import SamplingParams
    from agentgym.llm.hf import HFPolicy
    from agentgym.trainers.archer import ArcherConfig, ArcherTrainer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = HFPolicy.from_pretrained(ckpt, device="cpu")
    cfg = ArcherConfig(
        encoder="hashing", batch_size=batch_size, micro_batch_size=micro, warmup_iters=0, actor_lr=1e-5
    )
    tr = ArcherTrainer(policy, "GuessNumber-v0", cfg, sampling=SamplingParams(max_tokens=12, seed=0),
                       rollout_size=games, seed=0, env_kwargs={"high": 16, "max_turns": 5})  # fmt: skip
    tr.collect()
    base, peak, stop = _rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.time()
    tr.actor_step()
    secs = time.time() - t0
    stop.set()
    th.join()
    tr.close()
    return {"micro_batch_size": micro, "rss_before_gb": base / 2**30, "peak_rise_gb": (peak[0] - base) / 2**30,
            "step_s": secs}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ckpt", required=True, help="a policy checkpoint (benchmarks/archer_guess.py --sft-only)"
    )
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--micro", type=int, default=16)
    ap.add_argument("--games", type=int, default=64)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child mode: a micro size or "none"
    args = ap.parse_args()
    if args.one is not None:
        micro = None if args.one == "none" else int(args.one)
        print(json.dumps(measure(args.ckpt, args.batch_size, micro, args.games)))
        return
    rows = []
    for one in ("none", str(args.micro)):
        cmd = [sys.executable, __file__, "--ckpt", args.ckpt, "--batch-size", str(args.batch_size),
               "--games", str(args.games), "--one", one]  # fmt: skip
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    full, micro = rows
    print(json.dumps({"batch_size": args.batch_size, "one_pass": full, "micro": micro,
                      "peak_rise_ratio": micro["peak_rise_gb"] / max(full["peak_rise_gb"], 1e-9),
                      "step_time_ratio": micro["step_s"] / full["step_s"]}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
