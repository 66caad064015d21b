"""Warm start for SearchQA-v0 RL from a noisy expert that stops searching too early.

The oracle of `SearchQAEnv` searches every entity of the gold chain, then answers. This expert,
once it has searched at least once and still has entities left to search, answers with probability
`noise` instead: it names the entity it would have searched next. On a 2-hop bridge question that
is the bridge entity, a wrong answer; on a comparison it is one of the two options. Imitating it
gives a policy whose main failure is a choice (answering before reading the last document) rather
than a skill the model lacks, which is the failure group-relative RL can fix by sampling both
choices and comparing them. Every demonstration is kept, wrong ones included, so the policy learns
the expert's mixture.

    python benchmarks/search_noisy_start.py --model runs/sft-search19/final --noise 0.6 \
        --episodes 4000 --steps 250 --lr 2e-4 --out runs/sft-search-noisy
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENV_KW: dict[str, Any] = {"world": {"num_docs": 4000}, "hops": [1, 2], "k": 2, "max_doc_chars": 200}


def premature_demos(chat: Any, seeds: range, noise: float, seed: int) -> tuple[list[Any], dict[str, float]]:
    """Demonstrations of the early-answering expert on the train split (all kept), and how often
    they stopped early and succeeded on the questions with more than one entity to search."""
    from agentgym.envs.search_qa import SearchQAEnv
    from agentgym.rollout.demos import demo_episode

    rng = np.random.default_rng(seed)

    class PrematureExpert(SearchQAEnv):
        def oracle_action(self) -> str:
            assert self.task is not None
            left = [q for q in self.task.private.get("expert_queries") or [] if q not in self._queries]
            if self._queries and left and rng.random() < noise:
                return self.parser.format_answer(left[0])
            return super().oracle_action()

    env = PrematureExpert(**ENV_KW)
    demos, multi = [], []
    try:
        for s in seeds:
            demos.append(demo_episode(env, s, chat, env_id="SearchQA-v0"))
            planned = len(env.task.private.get("expert_queries") or [])
            if planned > 1:
                multi.append((demos[-1].num_tool_calls < planned, demos[-1].success))
    finally:
        env.close()
    stats = {
        "demos": len(demos),
        "success": float(np.mean([d.success for d in demos])),
        "multi_search_questions": len(multi),
        "multi/stopped_early": float(np.mean([e for e, _ in multi])),
        "multi/success": float(np.mean([ok for _, ok in multi])),
    }
    return demos, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint to fine-tune (the clean warm start)")
    ap.add_argument("--out", required=True, type=Path, help="run dir: metrics.jsonl, checkpoint/, final/")
    ap.add_argument(
        "--noise", type=float, default=0.6, help="probability of answering before the last search"
    )
    ap.add_argument("--episodes", type=int, default=4000, help="demonstrations (train-split seeds 0..N-1)")
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not 0.0 <= args.noise <= 1.0:
        ap.error(f"--noise is a probability in [0, 1], got {args.noise}")

    from agentgym.llm.hf import HFPolicy
    from agentgym.trainers.sft import SFTConfig, SFTTrainer

    policy = HFPolicy.from_pretrained(args.model, device="cpu")
    demos, stats = premature_demos(policy.chat, range(args.episodes), args.noise, args.seed)
    print(json.dumps({"noise": args.noise, **stats}), flush=True)
    cfg = SFTConfig(
        lr=args.lr, max_steps=args.steps, batch_size=16, warmup_steps=10, seed=args.seed,
        context_loss_weight=1.0, save_every=50, out_dir=str(args.out), progress=False,
    )  # fmt: skip
    history = SFTTrainer(policy, demos, cfg).train()
    print(json.dumps(history[-1] if history else {}), flush=True)


if __name__ == "__main__":
    main()
