"""Learning run: ARPO vs GRPO on SearchQA-v0 — success and tool calls per solved task.

Both start from the same SFT warm start (the presets' `warm_start`), train for the same number of
steps with the same budget of rollouts per prompt (`trainer.group_size`), and are evaluated on the
same held-out seeds. Tool calls per solved task are counted on those held-out episodes.

    python benchmarks/arpo_vs_grpo.py --steps 20 --seeds 0 > result.json

Tree sampling is routed through `ARPO.collect` by `TreeTrainer` below (the hook the Trainer needs
for `sampler == "tree"` algorithms).
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


def tree_trainer_class() -> type:
    from agentgym.trainers.rollouts import step_seeds
    from agentgym.trainers.trainer import Trainer

    class TreeTrainer(Trainer):
        def sample(self, step: int) -> tuple[list[Any], list[Any]]:
            if self.algo.sampler != "tree":
                return super().sample(step)
            trajs, tasks = [], []
            for k, pool in enumerate(self.pools):
                seeds = step_seeds(self.tc.seed, step, k, pool.n_prompts, self.tc.eval_seed_offset)
                got = self.algo.collect(self.policy, pool.train_envs, seeds, self.tc.group_size, self._sampling(step),
                                        max_turns=self.tc.max_turns, max_context_tokens=self.tc.max_context_tokens)  # fmt: skip
                for t in got:
                    t.group_id = f"{pool.entry.id}#{k}/{t.group_id}"
                    tasks.append(None)
                trajs.extend(got)
            return trajs, tasks

    return TreeTrainer


def held_out(policy: Any, cfg: Any, n: int) -> dict[str, float]:
    from agentgym.llm import SamplingParams
    from agentgym.rollout.collector import collect

    entry = cfg.envs[0]
    kw = {**entry.kwargs, **(entry.eval_kwargs or {})}
    seeds = [cfg.trainer.eval_seed_offset + i for i in range(n)]
    trajs = collect(policy, entry.id, seeds=seeds, sampling=SamplingParams(temperature=0, max_tokens=cfg.trainer.max_new_tokens),
                    max_turns=cfg.trainer.max_turns, **kw)  # fmt: skip
    calls = [sum(len(t.info.get("tool_calls", [])) for t in tr.turns) for tr in trajs]
    solved = [c for c, tr in zip(calls, trajs, strict=True) if tr.success]
    return {"success": float(np.mean([t.success for t in trajs])), "tool_calls_mean": float(np.mean(calls)),
            "tool_calls_per_solved": float(np.mean(solved)) if solved else float("nan")}  # fmt: skip


def run(algo: str, steps: int, seed: int, out: Path, warm: Any) -> dict[str, Any]:
    from agentgym.trainers.run_config import load_run_config

    preset = (
        Path(__file__).resolve().parents[1]
        / "examples"
        / "configs"
        / ("arpo_search.yaml" if algo == "arpo" else "search_grpo.yaml")
    )
    cfg = load_run_config(preset, [f"trainer.steps={steps}", f"trainer.seed={seed}", "trainer.eval_every=0",
                                   "trainer.group_size=8", "trainer.progress=false", "algorithm.kl_coef=0.0"])  # fmt: skip
    policy = copy.deepcopy(warm)
    before = held_out(policy, cfg, 64)
    tr = tree_trainer_class()(cfg, policy, out / f"{algo}-{seed}")
    tr.fit()
    return {"algo": algo, "seed": seed, "before": before, "after": held_out(policy, cfg, 64)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", default="/tmp/agentgym-arpo-vs-grpo")
    args = ap.parse_args()
    import torch

    from agentgym.trainers.job import build_policy, warm_start
    from agentgym.trainers.run_config import load_run_config

    torch.set_num_threads(1)
    out = Path(args.out)
    base = load_run_config(Path(__file__).resolve().parents[1] / "examples" / "configs" / "search_grpo.yaml")
    warm = warm_start(base, build_policy(base), out / "warm")
    rows = [run(a, args.steps, s, out, warm) for s in args.seeds for a in ("grpo", "arpo")]
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
