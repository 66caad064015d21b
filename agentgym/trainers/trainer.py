"""The RL `Trainer`: sample → score → assign credit → update → log → checkpoint.

The algorithm (from the registry) decides credit assignment and extra loss terms; the trainer
owns everything else: env pools, rollouts, old/reference log-probs and values, PPO epochs over
shuffled mini-batches with gradient accumulation over micro-batches (global loss denominators, so
accumulation equals one big batch), gradient clipping, the LR schedule, held-out evaluation on
fixed seeds, JSONL metrics and exact `--resume`. Under `accelerate launch` each process samples
its share of the prompt groups and DDP averages gradients (see docs/training.md).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch

from agentgym.tools.accounting import budget_spent, default_accountant
from agentgym.trainers.algorithm import Algorithm, Batch, LossContext, ModelOutput, get_algorithm
from agentgym.trainers.checkpoint import (
    capture_rng,
    latest_checkpoint,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from agentgym.trainers.logger import MetricsLogger
from agentgym.trainers.rollouts import EnvPool, allocate, step_seeds
from agentgym.trainers.run_config import RunConfig
from agentgym.trainers.schedules import lr_multiplier

__all__ = ["Trainer"]

log = logging.getLogger(__name__)


def _external_calls() -> int:
    """Calls recorded so far on the process-wide accountant (web search, simulators, hosted APIs)."""
    return sum(t.calls for t in default_accountant().snapshot().values())


def _chunks(idx: torch.Tensor, n: int) -> list[torch.Tensor]:
    return [c for c in torch.tensor_split(idx, n) if c.numel()]


class Trainer:
    """Multi-turn RL on a policy (`HFPolicy`) over a mixture of envs.

    Args:
        cfg: the run config.
        policy: the policy to train (already warm-started); the reference model for KL is a frozen copy.
        out_dir: run directory (metrics.jsonl, checkpoints, summary).
        accelerator: an `accelerate.Accelerator` for multi-process runs; None = single process.
        rollout_engine: an LLM with `load_weights(state_dict)` (e.g. `VLLMEngine`) that samples the
            rollouts instead of `policy`; it receives the updated weights after every step.
    """

    def __init__(
        self,
        cfg: RunConfig,
        policy: Any,
        out_dir: str | Path,
        *,
        accelerator: Any = None,
        rollout_engine: Any = None,
    ):
        self.cfg, self.tc = cfg, cfg.trainer
        self.policy = policy
        self.engine = rollout_engine  # e.g. VLLMEngine: samples, gets the weights after every update
        self.out = Path(out_dir)
        self.accel = accelerator
        self.rank = accelerator.process_index if accelerator else 0
        self.world = accelerator.num_processes if accelerator else 1
        self.algo: Algorithm = get_algorithm(cfg.algorithm.name)(cfg.algorithm, total_steps=self.tc.steps)
        self.step = 0
        # Training seconds of earlier invocations up to the checkpoint resumed from, so a resumed
        # run's summary reports its whole cost, not just the last invocation's.
        self.elapsed_before = 0.0
        self._t0 = time.perf_counter()
        self._calls_at_start = _external_calls()
        torch.manual_seed(self.tc.seed)
        model = policy.model
        model.eval()  # no dropout: old/new log-probs must agree at ratio 1
        self.ref = copy.deepcopy(model).requires_grad_(False) if cfg.algorithm.kl_coef > 0 else None
        self.critic = None
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": self.tc.lr}]
        if self.algo.uses_critic:
            from agentgym.trainers.critic import ValueModel

            self.critic = ValueModel(model).to(policy.device)
            groups.append(
                {
                    "params": list(self.critic.parameters()),
                    "lr": getattr(cfg.algorithm, "critic_lr", self.tc.lr),
                }
            )
        if self.tc.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                groups, momentum=self.tc.momentum, weight_decay=self.tc.weight_decay
            )
        else:
            self.optimizer = torch.optim.AdamW(groups, weight_decay=self.tc.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: lr_multiplier(
                s,
                self.tc.steps,
                warmup=self.tc.warmup_steps,
                schedule=self.tc.lr_schedule,
                min_ratio=self.tc.min_lr_ratio,
            ),
        )
        self.train_model, self.train_critic = model, self.critic
        if accelerator is not None:
            if self.critic is not None:
                self.train_model, self.train_critic, self.optimizer = accelerator.prepare(
                    model, self.critic, self.optimizer
                )
            else:
                self.train_model, self.optimizer = accelerator.prepare(model, self.optimizer)
        counts = allocate(self.tc.prompts_per_step, [e.weight for e in cfg.envs])
        self.pools = [
            EnvPool.build(e, n, self.tc, rank=self.rank, world=self.world)
            for e, n in zip(cfg.envs, counts, strict=True)
        ]
        self.logger = (
            MetricsLogger(
                self.out, tensorboard=self.tc.tensorboard, wandb=self.tc.wandb, config=cfg.to_dict()
            )
            if self.rank == 0
            else None
        )

    # ----------------------------------------------------------------- sampling
    def _sampling(self, step: int, *, eval_mode: bool = False) -> Any:
        from agentgym.llm import SamplingParams

        temp = self.tc.eval_temperature if eval_mode else self.tc.temperature
        return SamplingParams(
            temperature=temp,
            top_p=self.tc.top_p,
            max_tokens=self.tc.max_new_tokens,
            seed=self.tc.seed * 1_000_003 + step,
        )

    def _collect(self, envs: list[Any], seeds: list[int], group: int, sampling: Any) -> list[Any]:
        from agentgym.rollout import Collector

        col = Collector(
            self.engine or self.policy,
            sampling=sampling,
            max_turns=self.tc.max_turns,
            max_context_tokens=self.tc.max_context_tokens,
        )
        return col.collect(envs[: len(seeds) * group], seeds=seeds, group_size=group)

    def sample(self, step: int) -> tuple[list[Any], list[Any]]:
        """This process's rollouts for `step` and the task of each (gold answers for IGPO)."""
        trajs, tasks = [], []
        for k, pool in enumerate(self.pools):
            for env in pool.train_envs:  # curricula that live in the env (SimSearchQA-v0's noise)
                hook = getattr(env.unwrapped, "set_training_progress", None)
                if hook is not None:
                    hook(step, self.tc.steps)
            seeds = step_seeds(self.tc.seed, step, k, pool.n_prompts, self.tc.eval_seed_offset)[
                self.rank :: self.world
            ]
            if self.algo.sampler == "tree":  # ARPO/AEPO branch episodes themselves
                got = self.algo.collect(
                    self.engine or self.policy,
                    pool.train_envs,
                    seeds,
                    self.tc.group_size,
                    self._sampling(step),
                    max_turns=self.tc.max_turns,
                    max_context_tokens=self.tc.max_context_tokens,
                )
            else:
                got = self._collect(pool.train_envs, seeds, self.tc.group_size, self._sampling(step))
            for t, env in zip(got, pool.train_envs, strict=False):
                t.group_id = f"{pool.entry.id}#{k}/{t.group_id}"
                tasks.append(copy.copy(getattr(env.unwrapped, "task", None)))
            trajs.extend(got)
        return trajs, tasks

    def evaluate(self) -> dict[str, float]:
        """Held-out episodes on fixed seeds (greedy by default): eval/<env>/success and eval/success/mean."""
        out: dict[str, float] = {}
        succ, rew, score = [], [], []
        for pool in self.pools:
            seeds = [self.tc.eval_seed_offset + i for i in range(self.tc.eval_episodes)][
                self.rank :: self.world
            ]
            trajs = self._collect(pool.eval_envs, seeds, 1, self._sampling(0, eval_mode=True))
            s = [float(t.success) for t in trajs]
            r = [t.total_reward for t in trajs]
            c = [t.score for t in trajs]
            s, r, c = (self._gather_list(x) for x in (s, r, c))
            out[f"eval/{pool.entry.id}/success"] = sum(s) / max(len(s), 1)
            out[f"eval/{pool.entry.id}/score"] = sum(c) / max(len(c), 1)
            succ += s
            rew += r
            score += c
        out["eval/success/mean"] = sum(succ) / max(len(succ), 1)
        out["eval/reward/mean"] = sum(rew) / max(len(rew), 1)
        out["eval/score/mean"] = sum(score) / max(len(score), 1)
        return out

    def _gather_list(self, xs: list[float]) -> list[float]:
        if self.accel is None:
            return xs
        from accelerate.utils import gather_object

        return list(gather_object(xs))

    # ----------------------------------------------------------------- batch preparation
    def make_batch(self, trajs: list[Any], tasks: list[Any], step: int) -> Batch:
        """Pad the non-failed rollouts and add old log-probs, reference log-probs and values."""
        from agentgym.rollout import pad_batch

        keep = [i for i, t in enumerate(trajs) if not t.failed and t.turns]
        ok = [trajs[i] for i in keep]
        tensors = pad_batch([t.to_tensors() for t in ok], pad_id=self.policy.pad_id) if ok else {}
        return Batch(
            ok, tensors, [t.group_id for t in ok], step=step, extras={"tasks": [tasks[i] for i in keep]}
        )

    @torch.no_grad()
    def _score_batch(self, batch: Batch) -> None:
        t = batch.tensors
        n = len(batch)
        old, ent, ref, val = [], [], [], []
        for idx in _chunks(torch.arange(n), math.ceil(n / self.tc.micro_batch_size)):
            mb = {k: v[idx] for k, v in t.items()}
            if self.tc.recompute_old_logprobs and not self._single_update():
                lp, h = self.policy.forward_logprobs(mb, temperature=self.tc.temperature)
                old.append(lp.float().cpu())
                ent.append(h.float().cpu())
            if self.ref is not None:
                with _swap_model(self.policy, self.ref):
                    ref.append(
                        self.policy.forward_logprobs(mb, temperature=self.tc.temperature)[0].float().cpu()
                    )
            if self.critic is not None:
                val.append(self.critic(mb).float().cpu())
        if old:  # π_old and its entropies under the training forward (same estimator as the loss)
            t["old_logprobs"] = torch.cat(old) * t["loss_mask"]
            t["entropies"] = torch.cat(ent) * t["loss_mask"]
        if ref:
            t["ref_logprobs"] = torch.cat(ref)
        if val:
            t["values"] = torch.cat(val) * t["loss_mask"]

    # ----------------------------------------------------------------- update
    def _forward(self, mb: dict[str, torch.Tensor], *, with_grad: bool = True) -> ModelOutput:
        with _swap_model(self.policy, self.train_model):
            lp, ent = self.policy.forward_logprobs(mb, temperature=self.tc.temperature)
        values = self.train_critic(mb) if self.train_critic is not None else None
        return ModelOutput(lp, ent, values)

    def _global(self, x: float) -> float:
        if self.accel is None:
            return x
        return float(
            self.accel.reduce(
                torch.tensor([x], dtype=torch.float64, device=self.accel.device), reduction="sum"
            ).item()
        )

    def update(self, batch: Batch) -> dict[str, float]:
        """PPO epochs × mini-batches × micro-batches over one rollout batch; returns mean metrics."""
        t = batch.tensors
        n = len(batch)
        T = t["input_ids"].shape[1]
        g = torch.Generator().manual_seed(self.tc.seed * 7919 + batch.step)
        sums: dict[str, float] = {}
        updates = 0
        for _epoch in range(self.tc.ppo_epochs):
            perm = torch.randperm(n, generator=g)
            for mb_idx in _chunks(perm, self.tc.minibatches):
                ctx = LossContext(
                    num_tokens=self._global(float(t["loss_mask"][mb_idx].sum())),
                    num_seqs=self._global(float(mb_idx.numel())),
                    norm_const=float(self._global_max(T)),
                    step=batch.step,
                    total_steps=self.tc.steps,
                )
                metrics = self._minibatch(t, mb_idx, ctx)
                for k, v in metrics.items():
                    sums[k] = sums.get(k, 0.0) + v
                updates += 1
        return {k: v / max(updates, 1) for k, v in sums.items()}

    def _global_max(self, x: int) -> int:
        if self.accel is None:
            return x
        return int(self.accel.reduce(torch.tensor([x], device=self.accel.device), reduction="max").item())

    def _single_update(self) -> bool:
        return self.tc.ppo_epochs == 1 and self.tc.minibatches == 1

    def _minibatch(
        self, t: dict[str, torch.Tensor], mb_idx: torch.Tensor, ctx: LossContext
    ) -> dict[str, float]:
        self.optimizer.zero_grad(set_to_none=True)
        micro = self._micro_indices(mb_idx)
        acc: dict[str, float] = {}
        weights = 0.0
        device = self.policy.device
        for idx, real in micro:
            mb = _trim({k: v[idx] for k, v in t.items()})
            if not real:
                mb["loss_mask"] = torch.zeros_like(mb["loss_mask"])
            mb = {k: v.to(device) for k, v in mb.items()}
            out = self._forward(mb)
            if self.tc.recompute_old_logprobs and self._single_update():
                # One optimizer step per batch: π_old is the current policy, so the same forward serves
                # (ratio exactly 1, as TRL does for num_iterations = 1); saves a no-grad pass.
                mb["old_logprobs"] = out.logprobs.detach() * mb["loss_mask"]
            loss, m = self.algo.loss(out, mb, ctx)
            (loss * self.world).backward()  # DDP averages gradients over processes
            w = float(mb["loss_mask"].sum())
            for k, v in m.items():
                if not real:
                    continue
                if k.startswith("train/loss/"):
                    acc[k] = acc.get(k, 0.0) + v  # partial sums of a globally normalised loss
                else:
                    acc[k] = acc.get(k, 0.0) + v * w
            weights += w
        for k in acc:
            if not k.startswith("train/loss/"):
                acc[k] /= max(weights, 1.0)
        params = [p for grp in self.optimizer.param_groups for p in grp["params"]]
        norm = torch.nn.utils.clip_grad_norm_(
            params, self.tc.grad_clip if self.tc.grad_clip > 0 else float("inf")
        )
        acc["train/grad_norm"] = float(norm)
        self.optimizer.step()
        return acc

    def _micro_indices(self, mb_idx: torch.Tensor) -> list[tuple[torch.Tensor, bool]]:
        """Micro-batches of at most micro_batch_size rows, flagged real or padding.

        Under DDP every rank must run the same number of backward passes; a rank with fewer rows
        runs extra fully-masked micro-batches that contribute zero loss.
        """
        n_local = math.ceil(mb_idx.numel() / self.tc.micro_batch_size)
        n = self._global_max(n_local)
        parts = [(p, True) for p in _chunks(mb_idx, n_local)] if n_local else []
        while len(parts) < n:
            parts.append((mb_idx[:1] if mb_idx.numel() else torch.zeros(1, dtype=torch.long), False))
        return parts

    # ----------------------------------------------------------------- one step
    def train_step(self) -> dict[str, float]:
        from agentgym.rollout import rollout_metrics

        step = self.step
        t0 = time.perf_counter()
        trajs, tasks = self.sample(step)
        t1 = time.perf_counter()
        batch = self.make_batch(trajs, tasks, step)
        metrics: dict[str, float] = dict(rollout_metrics(trajs))
        metrics["rollout/score/mean"] = sum(t.score for t in batch.trajectories) / max(len(batch), 1)
        if len(batch):
            self._score_batch(batch)
            self.algo.on_batch(batch, self)
            adv = self.algo.advantages(batch)
            batch.tensors["advantages"] = adv.float()
            m = batch.tensors["loss_mask"].bool()
            a = adv[m]
            metrics.update(
                {
                    "adv/mean": float(a.mean()) if a.numel() else 0.0,
                    "adv/std": float(a.std()) if a.numel() > 1 else 0.0,
                    "adv/abs_max": float(a.abs().max()) if a.numel() else 0.0,
                }
            )
            metrics.update(batch.extras.get("metrics", {}))
            metrics.update(self.update(batch))
        self.scheduler.step()
        self.step += 1
        if self.engine is not None:
            self.engine.load_weights(self.policy.model.state_dict())
        t2 = time.perf_counter()
        tokens = sum(len(t) for t in batch.trajectories)
        metrics.update({
            "train/lr": self.scheduler.get_last_lr()[0],
            "perf/rollout_s": t1 - t0, "perf/update_s": t2 - t1, "perf/step_s": t2 - t0,
            "perf/tokens_per_s": tokens / max(t2 - t0, 1e-9),
        })  # fmt: skip
        if _external_calls() > self._calls_at_start:  # this run called paid services: log the totals
            metrics.update(default_accountant().totals())
        self.algo.on_step_end(self.step, metrics)
        return metrics

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "policy": self.policy.model.state_dict(),
            "critic": self.critic.state_dict() if self.critic is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "algorithm": self.algo.state_dict(),
            "rng": capture_rng(),
            "elapsed_s": self.elapsed_s(),
        }

    def elapsed_s(self) -> float:
        """Seconds of training so far, over every invocation of this run."""
        return self.elapsed_before + time.perf_counter() - self._t0

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.model.load_state_dict(state["policy"])
        if self.critic is not None and state.get("critic") is not None:
            self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.algo.load_state_dict(state["algorithm"])
        restore_rng(state["rng"])
        self.step = int(state["step"])
        self.elapsed_before = float(state.get("elapsed_s", 0.0))  # absent in older checkpoints
        self._t0 = time.perf_counter()

    def save(self) -> None:
        if self.rank == 0:
            save_checkpoint(self.out, self.step, self.state_dict(), keep=self.tc.keep_checkpoints)
        if self.accel is not None:
            self.accel.wait_for_everyone()

    def resume(self) -> bool:
        """Load the newest checkpoint of the run dir, if any; returns whether one was loaded."""
        path = latest_checkpoint(self.out)
        if path is None:
            if self.logger is not None:  # killed before its first checkpoint: the run starts over
                self.logger.truncate_after(-1)
            return False
        self.load_state_dict(load_checkpoint(path))
        if self.engine is not None:
            self.engine.load_weights(self.policy.model.state_dict())
        if self.logger is not None:
            self.logger.truncate_after(self.step)
        log.info("resumed from %s at step %d", path, self.step)
        return True

    # ----------------------------------------------------------------- the loop
    def fit(self, *, resume: bool = False) -> list[dict[str, Any]]:
        """Run to `trainer.steps`; returns the metric records of this invocation."""
        if resume:
            self.resume()
        records: list[dict[str, Any]] = []
        tc = self.tc
        bar = _progress(tc.steps, self.step, tc.progress and self.rank == 0)
        if self.step == 0 and tc.eval_every > 0:
            records.append(self._log(0, self.evaluate()))
        while self.step < tc.steps:
            metrics = self.train_step()
            if tc.eval_every > 0 and (self.step % tc.eval_every == 0 or self.step == tc.steps):
                metrics.update(self.evaluate())
            records.append(self._log(self.step, metrics))
            bar.update(1)
            bar.set_postfix(reward=f"{metrics.get('rollout/reward/mean', 0):.3f}")
            stopped = budget_spent()  # a spent cost budget ends the run cleanly, with a checkpoint
            if stopped is not None:
                log.warning("stopping the run at step %d of %d: %s", self.step, tc.steps, stopped)
            if stopped or (tc.save_every > 0 and self.step % tc.save_every == 0) or self.step == tc.steps:
                self.save()
            if stopped:
                break
        bar.close()
        for pool in self.pools:
            pool.close()
        if self.logger is not None:
            self.logger.close()
        return records

    def _log(self, step: int, metrics: dict[str, float]) -> dict[str, Any]:
        if self.logger is not None:
            self.logger.log(step, metrics)
        log.debug("step %d %s", step, metrics)
        return {"step": step, **metrics}


class _swap_model:
    """Temporarily point `policy.model` at another module (DDP wrapper or reference model)."""

    def __init__(self, policy: Any, model: Any):
        self.policy, self.model = policy, model

    def __enter__(self) -> None:
        self.saved = self.policy.model
        self.policy.model = self.model

    def __exit__(self, *exc: object) -> None:
        self.policy.model = self.saved


def _trim(mb: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop all-padding columns at the right of a micro-batch (padding never changes the loss)."""
    length = int(mb["attention_mask"].sum(-1).max()) if mb["attention_mask"].numel() else 0
    return {k: v[:, : max(length, 1)] for k, v in mb.items()}


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc="train", dynamic_ncols=True)
