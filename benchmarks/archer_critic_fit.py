"""Offline check of ArCHer's critic on GuessNumber-v0: can it fit the warm-start policy's values?

The actor never moves. `--train-games` games of the start policy fill an `ArcherTrainer`'s replay
buffer, then the critic takes `--steps` steps on that fixed data. Every `--every` steps it is
scored two ways, each as R² of min Q against the Monte-Carlo return plus the found-answer AUC of
`archer_guess.critic_quality`:

- on held-out games (seeds 1,000,000 onwards, the benchmark's evaluation games);
- on a fixed sample of its own training transitions, which separates under-fitting from
  over-fitting.

Targets (`--target`):
- `td`: ArCHer's own critic step, TD targets with V regressed to Q̄(s, a_π).
- `mc`: Q(s, a) and V(s) regressed straight onto the Monte-Carlo return (`ArcherTrainer.mc_critic_step`,
  the `warmup_target="mc"` step). This is the most this encoder, data and step count can reach.

    python benchmarks/archer_critic_fit.py --ckpt runs/archer-sft-small --target mc --steps 400
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from archer_guess import ENV_KW, critic_quality, evaluate, held_out_transitions


def main() -> None:
    from agentgym.llm import SamplingParams
    from agentgym.llm.hf import HFPolicy
    from agentgym.trainers.archer import ArcherConfig, ArcherTrainer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", required=True, help="warm start (benchmarks/archer_guess.py --sft-only)")
    ap.add_argument("--target", choices=["td", "mc"], default="td")
    ap.add_argument("--train-games", type=int, default=512)
    ap.add_argument("--rollout-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--encoder", default="policy", choices=["hashing", "minilm", "policy"])
    ap.add_argument("--critic-input", default="joint", choices=["separate", "joint"])
    ap.add_argument("--critic-lr", type=float, default=1e-4)
    ap.add_argument("--eval-episodes", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    policy = HFPolicy.from_pretrained(Path(args.ckpt), device=args.device)
    cfg = ArcherConfig(batch_size=args.batch_size, gamma=0.95, tau=0.1, encoder=args.encoder,
                       critic_lr=args.critic_lr, critic_input=args.critic_input)  # fmt: skip
    tr = ArcherTrainer(policy, "GuessNumber-v0", cfg, sampling=SamplingParams(max_tokens=12, seed=args.seed),
                       rollout_size=args.rollout_size, seed=args.seed, env_kwargs=ENV_KW)  # fmt: skip
    t0 = time.time()
    start, start_trajs = evaluate(policy, args.eval_episodes)
    held_out = held_out_transitions(start_trajs, cfg.gamma)
    games = []
    for _ in range(max(1, args.train_games // args.rollout_size)):
        games += tr.collect()
    rng = np.random.default_rng(args.seed + 1)
    seen = tr.buffer.sample(600, rng)  # a fixed sample of training transitions (with replacement)
    head = {"start_success": start, "train_games": len(games), "train_success": float(np.mean([g.success for g in games])),
            "transitions": len(tr.buffer), "held_out_transitions": len(held_out), "collect_s": round(time.time() - t0, 1)}  # fmt: skip
    print(json.dumps(head), file=sys.stderr, flush=True)
    curve = []
    t0 = time.time()
    for step in range(1, args.steps + 1):
        m = tr.critic_step() if args.target == "td" else tr.mc_critic_step()
        if step % args.every == 0:
            held, train = critic_quality(tr.critic, held_out), critic_quality(tr.critic, seen)
            curve.append({"step": step, "s": round(time.time() - t0, 1), **{k: round(v, 4) for k, v in m.items()},
                          "heldout_r2": round(held["critic/heldout_r2"], 4),
                          "heldout_auc": round(held["critic/found_answer_auc"], 4),
                          "train_r2": round(train["critic/heldout_r2"], 4),
                          "train_auc": round(train["critic/found_answer_auc"], 4)})  # fmt: skip
            print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
    tr.close()
    print(json.dumps({"args": vars(args), **head, "curve": curve}, indent=1))


if __name__ == "__main__":
    main()
