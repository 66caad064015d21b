"""Worker for the DDP test: the same global batch, updated by 1 process or by 2 (gloo) with accelerate.

Usage: python ddp_worker.py OUT.pt  |  torchrun --nproc_per_node 2 ddp_worker.py OUT.pt
Rank r takes prompt groups r, r+W, ...; the saved parameters must match the single-process run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))


def main(out: str) -> None:
    from _trainer_helpers import small_run

    from agentgym.llm import load_policy
    from agentgym.trainers.trainer import Trainer

    world = int(os.environ.get("WORLD_SIZE", "1"))
    accel = None
    if world > 1:
        from accelerate import Accelerator

        accel = Accelerator(cpu=True)
    policy = load_policy("tiny", device="cpu")
    start = {k: v.detach().clone() for k, v in policy.model.state_dict().items()}
    cfg = small_run(
        prompts_per_step=4,
        micro_batch_size=2,
        algorithm={"name": "grpo", "kl_coef": 0.0, "entropy_coef": 0.01},
    )
    with tempfile.TemporaryDirectory() as tmp:
        # Sample the whole global batch identically on every rank, then keep this rank's groups.
        trajs, tasks = Trainer(cfg, policy, Path(tmp) / "sampler").sample(0)
        tr = Trainer(cfg, policy, tmp, accelerator=accel)
        g = torch.Generator().manual_seed(0)
        for t in trajs:
            t.turns[-1].reward = float(torch.rand((), generator=g))
        groups = sorted({t.group_id for t in trajs})
        mine = set(groups[tr.rank :: tr.world])
        keep = [i for i, t in enumerate(trajs) if t.group_id in mine]
        batch = tr.make_batch([trajs[i] for i in keep], [tasks[i] for i in keep], 0)
        tr._score_batch(batch)
        batch.tensors["advantages"] = tr.algo.advantages(batch)
        tr.update(batch)
    if tr.rank == 0:
        state = {k: v.detach().clone() for k, v in policy.model.state_dict().items()}
        state.update({"__start__" + k: v for k, v in start.items()})
        state.update(
            {
                "__grad__" + n: p.grad.detach().clone()
                for n, p in policy.model.named_parameters()
                if p.grad is not None
            }
        )
        torch.save(state, out)


if __name__ == "__main__":
    main(sys.argv[1])
