"""Learning run: ARPO vs GRPO on SearchQA-v0 — success and tool calls per solved task.

Both start from the same SFT warm start (the presets' `warm_start`), train for the same number of
steps with the same budget of rollouts per prompt (`trainer.group_size`), and are evaluated on the
same held-out seeds. Tool calls per solved task are counted on those held-out episodes.

    python benchmarks/arpo_vs_grpo.py --steps 20 --seeds 0 > result.json
    python benchmarks/arpo_vs_grpo.py --steps 15 --seeds 0 --eval-episodes 200 \
        --set warm_start.checkpoint=runs/main-full/sft/final --set envs.0.kwargs.k=2 \
        --set envs.0.kwargs.max_doc_chars=200          # from the main job's SFT checkpoint

`--set` overrides apply to the warm start and to both presets alike.

`--score RUN_DIR ... --sft DIR` trains nothing: it scores runs already trained (for instance by
`examples/learning_study.py --algos grpo,arpo`), each run's `final/` policy and the SFT start, on the
same held-out seeds of each run's saved config. `--split dev` scores them on another split of the
world's questions instead of the config's evaluation split (SearchQA: a second held-out set).

The Trainer routes ARPO's sampling through `ARPO.collect` (its `sampler == "tree"` branch).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
CONFIGS = Path(__file__).resolve().parents[1] / "examples" / "configs"


def held_out(policy: Any, cfg: Any, n: int, split: str | None = None) -> dict[str, float]:
    from agentgym.llm import SamplingParams
    from agentgym.rollout.collector import collect, tool_call_metrics

    entry = cfg.envs[0]
    kw = {**entry.kwargs, **(entry.eval_kwargs or {}), **({"split": split} if split else {})}
    seeds = [cfg.trainer.eval_seed_offset + i for i in range(n)]
    trajs = collect(policy, entry.id, seeds=seeds, sampling=SamplingParams(temperature=0, max_tokens=cfg.trainer.max_new_tokens),
                    max_turns=cfg.trainer.max_turns, max_batch=100, **kw)  # fmt: skip
    m = tool_call_metrics(trajs)  # per solved: 0 when nothing was solved
    return {"success": float(np.mean([t.success for t in trajs])), "tool_calls_mean": m["rollout/tool_calls/mean"],
            "tool_calls_per_solved": m["rollout/tool_calls_per_solved/mean"], "outcomes": outcomes(trajs)}  # fmt: skip


def outcomes(trajs: list[Any]) -> dict[str, float]:
    """Share of episodes by how they ended: solved, no answer, or a wrong answer after retrieving
    all, some or none of the gold documents (`info["gold_recall"]`, SearchQA): a wrong answer with
    every gold document in hand is a reading failure, not a search failure."""

    def kind(t: Any) -> str:
        if t.success:
            return "solved"
        if not any(turn.info.get("answer") is not None for turn in t.turns):
            return "no answer"
        recall = t.info.get("gold_recall")
        return {None: "wrong, gold recall unknown", 1.0: "wrong, all gold docs"}.get(
            recall, "wrong, some gold docs" if recall else "wrong, no gold doc"
        )

    kinds = [kind(t) for t in trajs]
    return {k: kinds.count(k) / len(kinds) for k in sorted(set(kinds))}


def run(
    algo: str, steps: int, seed: int, out: Path, warm: Any, extra: list[str], n_eval: int
) -> dict[str, Any]:
    from agentgym.trainers.run_config import load_run_config
    from agentgym.trainers.trainer import Trainer

    preset = CONFIGS / ("arpo_search.yaml" if algo == "arpo" else "search_grpo.yaml")
    cfg = load_run_config(preset, [f"trainer.steps={steps}", f"trainer.seed={seed}", "trainer.eval_every=0",
                                   "trainer.group_size=8", "trainer.progress=false", "algorithm.kl_coef=0.0", *extra])  # fmt: skip
    policy = copy.deepcopy(warm)
    before = held_out(policy, cfg, n_eval)
    tr = Trainer(cfg, policy, out / f"{algo}-{seed}")
    tr.fit()
    return {"algo": algo, "seed": seed, "before": before, "after": held_out(policy, cfg, n_eval)}


def score(run_dirs: list[Path], sft: Path, n_eval: int, split: str | None = None) -> list[dict[str, Any]]:
    """Held-out success and tool calls of the SFT start and of each trained run's final policy."""
    from agentgym.llm.hf import HFPolicy
    from agentgym.trainers.run_config import load_run_config

    rows, starts = [], {}  # the start is scored once per distinct evaluation setting
    for d in run_dirs:
        cfg = load_run_config(d / "config.yaml")
        e, tc = cfg.envs[0], cfg.trainer
        key = json.dumps([e.id, e.kwargs, e.eval_kwargs, tc.max_turns, tc.max_new_tokens, tc.eval_seed_offset], sort_keys=True, default=str)  # fmt: skip
        if key not in starts:
            starts[key] = held_out(HFPolicy.from_pretrained(sft, device="cpu"), cfg, n_eval, split)
        rows.append({"run": str(d), "algo": cfg.algorithm.name, "seed": tc.seed, "before": starts[key],
                     "after": held_out(HFPolicy.from_pretrained(d / "final", device="cpu"), cfg, n_eval, split)})  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", default="/tmp/agentgym-arpo-vs-grpo")
    ap.add_argument("--eval-episodes", type=int, default=64, help="held-out questions (greedy)")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="a.b=c override")
    ap.add_argument("--score", nargs="+", type=Path, help="score these trained run dirs instead")
    ap.add_argument("--sft", type=Path, help="the SFT start of the --score runs")
    ap.add_argument("--split", help="with --score: evaluate on this split instead of the config's")
    args = ap.parse_args()
    import torch

    if args.score:
        if args.sft is None:
            ap.error("--score needs --sft, the checkpoint the runs started from")
        torch.set_num_threads(1)
        print(json.dumps(score(args.score, args.sft, args.eval_episodes, args.split), indent=1))
        return

    from agentgym.trainers.job import build_policy, warm_start
    from agentgym.trainers.run_config import load_run_config

    torch.set_num_threads(1)
    out = Path(args.out)
    base = load_run_config(CONFIGS / "search_grpo.yaml", args.extra)
    warm = warm_start(base, build_policy(base), out / "warm")
    rows = [
        run(a, args.steps, s, out, warm, args.extra, args.eval_episodes)
        for s in args.seeds
        for a in ("grpo", "arpo")
    ]
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
