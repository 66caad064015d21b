"""`SFTTrainer`: supervised warm start on demonstrations, with the RL trainers' masks.

Loss = masked next-token NLL over policy tokens only (loss_mask = 1), token-mean over each
optimizer step: L = −Σ_k m_k log π(x_k | x_<k) / Σ_k m_k. AdamW with linear warm-up then cosine
decay, gradient accumulation, checkpoint/resume (model, optimizer, scheduler, RNG, step) and
JSONL metrics (`train/loss/sft`, `train/lr`, `perf/tokens_per_s`, `eval/success/mean`).

`context_loss_weight` > 0 adds w · (token-mean NLL of the other tokens: prompt, observations),
logged as `train/loss/context`. A model built from scratch has never read text; predicting the
questions it must later copy from (names and numbers repeat within one) teaches it to attend back
to earlier tokens, which the policy tokens alone teach slowly.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from agentgym.errors import InvalidConfig
from agentgym.rollout.tensors import pad_batch
from agentgym.rollout.trajectory import Trajectory

if TYPE_CHECKING:
    from agentgym.llm.base import SamplingParams

__all__ = ["SFTConfig", "SFTTrainer", "evaluate_success", "sft_loss"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SFTConfig:
    """Supervised fine-tuning on demonstrations."""

    lr: float = 1e-3
    """Peak AdamW learning rate (1e-3 suits the from-scratch small models; ~1e-5 for hub models)."""
    batch_size: int = 16
    """Trajectories per micro-batch."""
    grad_accum: int = 1
    """Micro-batches per optimizer step."""
    max_steps: int = 1000
    """Optimizer steps."""
    warmup_steps: int = 50
    """Linear warm-up steps, then cosine decay to 10% of `lr`."""
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    """Max global grad norm (0 disables)."""
    seed: int = 0
    """Seeds the data order (one permutation per epoch) and dropout."""
    log_every: int = 10
    eval_every: int = 0
    """Steps between evaluations (0: only at the end; needs an `eval_fn`)."""
    save_every: int = 0
    """Steps between checkpoints (0: only at the end; needs `out_dir`)."""
    out_dir: str | None = None
    """Where `metrics.jsonl`, `checkpoint/` and `final/` go."""
    progress: bool = True
    context_loss_weight: float = 0.0
    """Weight of the next-token loss on non-policy tokens (0: policy tokens only)."""

    def __post_init__(self) -> None:
        for name in ("batch_size", "grad_accum", "max_steps"):
            if getattr(self, name) < 1:
                raise InvalidConfig(f"SFTConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise InvalidConfig(f"SFTConfig.lr must be > 0, got {self.lr}")
        if self.context_loss_weight < 0:
            raise InvalidConfig(f"SFTConfig.context_loss_weight must be >= 0, got {self.context_loss_weight}")


def sft_loss(policy: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Summed NLL over loss_mask tokens and their count (the caller normalises)."""
    policy_nll, n, _, _ = _nll(policy, batch)
    return policy_nll, n


def _context_mask(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """1 on the non-policy tokens that something predicts (every valid token but a row's first)."""
    valid = batch["attention_mask"]
    first = (valid.cumsum(-1) == 1) & (valid > 0)
    return valid * (1 - batch["loss_mask"]) * (~first)


def _nll(policy: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int, torch.Tensor, int]:
    """Summed NLL and count over policy tokens, then over the context tokens, from one forward."""
    lp, _ = policy.forward_logprobs(batch)
    m = batch["loss_mask"].to(lp.device).to(lp.dtype)
    ctx = _context_mask(batch).to(lp.device).to(lp.dtype)
    return -(lp * m).sum(), int(m.sum().item()), -(lp * ctx).sum(), int(ctx.sum().item())


class SFTTrainer:
    """Train `policy` (an `HFPolicy`) on `demos`.

    >>> # trainer = SFTTrainer(policy, demos, SFTConfig(max_steps=200, out_dir="runs/sft"))
    >>> # history = trainer.train()
    """

    def __init__(
        self,
        policy: Any,
        demos: Sequence[Trajectory],
        config: SFTConfig | None = None,
        *,
        eval_fn: Callable[[Any], dict[str, float]] | None = None,
    ):
        if not demos:
            raise InvalidConfig("SFTTrainer needs at least one demonstration; got an empty list")
        self.policy = policy
        self.cfg = config or SFTConfig()
        self.eval_fn = eval_fn
        self.items = [d.to_tensors() for d in demos]
        self.step = 0
        decay = [p for n, p in policy.model.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in policy.model.named_parameters() if p.ndim < 2]
        self.opt = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.cfg.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.cfg.lr,
        )
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, self._lr_factor)
        self.out = Path(self.cfg.out_dir) if self.cfg.out_dir else None

    def _lr_factor(self, step: int) -> float:
        c = self.cfg
        if step < c.warmup_steps:
            return (step + 1) / c.warmup_steps
        t = (step - c.warmup_steps) / max(1, c.max_steps - c.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    def _micro_batch(self, k: int) -> dict[str, torch.Tensor]:
        """The k-th micro-batch of the epoch-wise shuffled data (a pure function of k and the seed)."""
        bs, n = self.cfg.batch_size, len(self.items)
        idx = []
        for pos in range(k * bs, (k + 1) * bs):
            epoch, j = divmod(pos, n)
            g = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
            idx.append(int(torch.randperm(n, generator=g)[j]))
        return pad_batch([self.items[i] for i in idx], pad_id=self.policy.pad_id)

    # ----------------------------------------------------------------- loop
    def train(self, *, stop_at: int | None = None) -> list[dict[str, float]]:
        """Run to `max_steps` (resuming from `out_dir/checkpoint` if present); returns the log rows.

        `stop_at` ends this call early at that step, with a checkpoint (to split a run in parts).
        """
        c = self.cfg
        if self.out and (self.out / "checkpoint" / "trainer_state.pt").exists():
            self.load_checkpoint(self.out / "checkpoint")
        history: list[dict[str, float]] = []
        bar = _progress(c.max_steps, self.step, c.progress)
        self.policy.model.train()
        t0, tokens = time.perf_counter(), 0
        end = min(c.max_steps, stop_at or c.max_steps)
        while self.step < end:
            loss_sum, count, ctx_sum, ctx_count = 0.0, 0, 0.0, 0
            self.opt.zero_grad(set_to_none=True)
            batches = [self._micro_batch(self.step * c.grad_accum + a) for a in range(c.grad_accum)]
            total = sum(int(b["loss_mask"].sum()) for b in batches)
            ctx_total = sum(int(_context_mask(b).sum()) for b in batches)
            for b in batches:
                nll, n, ctx_nll, ctx_n = _nll(self.policy, b)
                loss = nll / max(total, 1)
                if c.context_loss_weight > 0:
                    loss = loss + c.context_loss_weight * ctx_nll / max(ctx_total, 1)
                loss.backward()
                loss_sum, count = loss_sum + nll.item(), count + n
                ctx_sum, ctx_count = ctx_sum + ctx_nll.item(), ctx_count + ctx_n
                tokens += int(b["attention_mask"].sum())
            if c.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.policy.model.parameters(), c.grad_clip)
            self.opt.step()
            self.sched.step()
            self.step += 1
            bar.update(1)
            row = {
                "step": self.step,
                "train/loss/sft": loss_sum / max(count, 1),
                "train/lr": self.sched.get_last_lr()[0],
            }
            if c.context_loss_weight > 0:
                row["train/loss/context"] = ctx_sum / max(ctx_count, 1)
            row["perf/tokens_per_s"] = tokens / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(loss=f"{row['train/loss/sft']:.4f}")
            last = self.step == c.max_steps
            evaluate = bool(self.eval_fn) and (last or bool(c.eval_every and self.step % c.eval_every == 0))
            if evaluate:
                row.update(self._evaluate())
            if self.step % c.log_every == 0 or last or evaluate:
                history.append(row)
                self._log(row)
            if self.out and (last or self.step == end or (c.save_every and self.step % c.save_every == 0)):
                self.save_checkpoint(self.out / "checkpoint")
        bar.close()
        if self.out and self.step == c.max_steps:
            self.policy.save_pretrained(self.out / "final")
        return history

    def _evaluate(self) -> dict[str, float]:
        assert self.eval_fn is not None
        metrics = self.eval_fn(self.policy)
        self.policy.model.train()
        return metrics

    def _log(self, row: dict[str, float]) -> None:
        log.info("sft %s", " ".join(f"{k}={v:.4g}" for k, v in row.items()))
        if self.out:
            self.out.mkdir(parents=True, exist_ok=True)
            with open(self.out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")

    # ----------------------------------------------------------------- checkpoints
    def save_checkpoint(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        self.policy.save_pretrained(tmp)
        state = {
            "step": self.step,
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "config": asdict(self.cfg),
        }
        torch.save(state, tmp / "trainer_state.pt")
        if path.exists():
            import shutil

            shutil.rmtree(path)
        tmp.replace(path)

    def load_checkpoint(self, path: str | Path) -> None:
        from safetensors.torch import load_file

        path = Path(path)
        weights = load_file(str(path / "model.safetensors"))
        missing, unexpected = self.policy.model.load_state_dict(weights, strict=False)
        if unexpected or [m for m in missing if "lm_head" not in m]:
            raise InvalidConfig(
                f"checkpoint {path} does not match the model: missing {missing}, unexpected {unexpected}"
            )
        state = torch.load(path / "trainer_state.pt", weights_only=False)
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        self.step = int(state["step"])
        log.info("resumed SFT from %s at step %d", path, self.step)


def evaluate_success(
    policy: Any,
    env_id: str,
    seeds: Sequence[int],
    *,
    max_turns: int | None = None,
    sampling: SamplingParams | None = None,
    **env_kwargs: Any,
) -> dict[str, float]:
    """Success rate and mean reward on `seeds` (held-out seeds for SFT curves); greedy unless
    `sampling` says otherwise."""
    from agentgym.llm.base import SamplingParams
    from agentgym.rollout.collector import collect

    sampling = sampling or SamplingParams(temperature=0, max_tokens=64)
    trajs = collect(policy, env_id, seeds=list(seeds), sampling=sampling, max_turns=max_turns, **env_kwargs)
    n = max(len(trajs), 1)
    return {
        "eval/success/mean": sum(t.success for t in trajs) / n,
        "eval/reward/mean": sum(t.total_reward for t in trajs) / n,
        "eval/failed": float(sum(t.failed for t in trajs)),
    }


def _progress(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc="sft", dynamic_ncols=True)
