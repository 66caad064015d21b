"""SPEAR: Self-imitation with Progressive Exploration for Agentic RL (arXiv 2509.22601).

On-policy part: GRPO/GiGPO with the Dr.BoT switches (clip-higher ε_h = 0.28, no KL, no std
normalisation, response filters, group filter by reward std) and a curriculum tool-call bonus:

    r_tool(k) = min(1, 0.1·L_i)·(cos(πk/K_tool) + 1)/2  for k ≤ K_tool, else 0               (Eq. 1)

Off-policy part: one self-imitation (SIL) pass over replayed positive trajectories with their
stored behaviour log-probs, weighted by a ramp, with advantages recalibrated against a history of
group-mean rewards (`agentgym.trainers.replay.TrajectoryReplayBuffer`):

    w_SIL(k) = c_SIL·(1 − cos(πk/K_SIL))/2  for k ≤ K_SIL, else c_SIL                         (Eq. 2)
    Â = R − p50(group-mean history)  [÷ p50(std history) if norm_by_std];  drop Â < 0          (Eq. 3)

Both passes use Clip-Cov (`clip_cov_mask`): a random `ratio` share of tokens whose covariance
(A − mean A)(log π − mean log π) lies in (low, high) have their loss detached.

Code-vs-paper notes: `trajectory_score_threshold` is documented upstream but unused, so it is not
here; K_SIL defaults to 200 (the script's 100 is never passed to the trainer).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from agentgym.errors import InvalidConfig
from agentgym.rollout.tensors import PAD_VALUES
from agentgym.trainers.advantages import grpo_advantages
from agentgym.trainers.algorithm import (
    Algorithm,
    AlgorithmConfig,
    Batch,
    LossContext,
    ModelOutput,
    register_algorithm,
)
from agentgym.trainers.losses import clip_cov_mask
from agentgym.trainers.replay import TrajectoryReplayBuffer, recalibrate
from agentgym.trainers.schedules import cosine_decay, cosine_ramp

__all__ = [
    "SPEAR",
    "SPEARConfig",
    "clip_cov_mask",
    "group_std_filter",
    "is_repetitive",
    "recalibrate",
    "sil_weight",
    "toolcall_bonus",
    "toolcall_coefficient",
]


def toolcall_coefficient(step: int, total: int, *, mode: str = "cosine") -> float:
    """The curriculum factor of Eq. 1: (cos(πk/K)+1)/2 for k ≤ K, else 0 ("constant": 1 for k ≤ K).

    >>> [round(toolcall_coefficient(k, 200), 4) for k in (0, 50, 100, 150, 200, 250)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """
    if mode not in ("cosine", "constant"):
        raise ValueError(f"tool-call bonus mode must be 'cosine' or 'constant', got {mode!r}")
    if total <= 0 or step > total:
        return 0.0
    return 1.0 if mode == "constant" else cosine_decay(step, total)


def toolcall_bonus(step: int, total: int, num_tool_calls: int, *, mode: str = "cosine") -> float:
    """r_tool(k) = min(1, 0.1·L)·coefficient(k) (Eq. 1); L is the number of tool calls of the episode.

    >>> toolcall_bonus(100, 200, 3)
    0.15000000000000002
    """
    return min(1.0, 0.1 * num_tool_calls) * toolcall_coefficient(step, total, mode=mode)


def sil_weight(step: int, total: int, *, coef: float = 1.0) -> float:
    """w_SIL(k) = c·(1 − cos(πk/K))/2 for k ≤ K, else c (Eq. 2).

    >>> [round(sil_weight(k, 200), 4) for k in (0, 50, 100, 150, 200, 250)]
    [0.0, 0.1464, 0.5, 0.8536, 1.0, 1.0]
    """
    if total <= 0:
        return coef
    return coef * cosine_ramp(step, total)


def is_repetitive(token_ids: Sequence[int], *, n: int = 20, times: int = 10) -> bool:
    """Dr.BoT's repetition filter: some n-gram occurs at least `times` times.

    >>> is_repetitive([1, 2] * 30, n=4, times=10), is_repetitive(list(range(60)), n=4, times=2)
    (True, False)
    """
    counts: dict[tuple[int, ...], int] = {}
    for i in range(len(token_ids) - n + 1):
        g = tuple(token_ids[i : i + n])
        counts[g] = counts.get(g, 0) + 1
        if counts[g] >= times:
            return True
    return False


def group_std_filter(
    rewards: Sequence[float], group_ids: Sequence[object], *, keep_ratio: float = 0.75
) -> np.ndarray:
    """Keep the `keep_ratio` share of prompt groups with the highest reward std (ties: first seen).

    Returns a boolean keep-mask over the samples; dropped groups stay out of the loss.

    >>> group_std_filter([1, 0, 1, 1, 0, 1, 0.5, 0.5], ["a", "a", "b", "b", "c", "c", "d", "d"], keep_ratio=0.5).tolist()
    [True, True, False, False, True, True, False, False]
    """
    if not 0 < keep_ratio <= 1:
        raise ValueError(f"keep_ratio must be in (0, 1], got {keep_ratio}")
    r = np.asarray(rewards, dtype=np.float64)
    order: list[object] = list(dict.fromkeys(group_ids))
    gid = np.array([order.index(g) for g in group_ids])
    stds = np.array([r[gid == j].std(ddof=1) if (gid == j).sum() > 1 else 0.0 for j in range(len(order))])
    keep_n = max(1, math.ceil(keep_ratio * len(order)))
    ranked = sorted(range(len(order)), key=lambda j: (-stds[j], j))[:keep_n]
    return np.isin(gid, ranked)


@dataclass(frozen=True, kw_only=True)
class SPEARConfig(AlgorithmConfig):
    """SPEAR on Dr.BoT(GRPO); defaults from `run_alfworld_spear.sh` and ALGORITHMS.md §8.4."""

    name: str = "spear"
    """Algorithm name."""
    clip_high: float = 0.28
    """ε_h, Dr.BoT clip-higher (paper 0.28)."""
    dual_clip: float | None = 10.0
    """c, Dr.BoT clip_ratio_c (paper 10)."""
    loss_agg: Literal[
        "token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"
    ] = "seq-mean-token-sum-norm"
    """Dr.BoT aggregation (paper seq-mean-token-sum-norm)."""
    entropy_coef: float = 0.001
    """c_H (Dr.BoT yaml 0.001)."""
    scale_by_std: bool = False
    """GRPO std normalisation (Dr.BoT: off)."""
    toolcall_bonus: Literal["cosine", "constant", "none"] = "cosine"
    """Tool-call bonus schedule (Eq. 1; paper cosine)."""
    toolcall_steps: int = 200
    """K_tool, steps until the bonus reaches 0 (script 200; yaml/README 100)."""
    replay: bool = True
    """Self-imitation replay (paper enable_trajectory_replay = True)."""
    buffer_size: int = 2048
    """Trajectory buffer size; also the replay batch cap (paper 2048)."""
    tolerate_steps: int = 5
    """Staleness limit of buffer entries in steps (paper 5)."""
    baseline_size: int = 10240
    """Group-mean history length for recalibration (paper 10240)."""
    trigger_factor: float = 1.5
    """Replay when more than trigger_factor·buffer_size entries beat p50 (paper 1.5)."""
    sil_coef: float = 1.0
    """c_SIL, replay loss weight (paper 1)."""
    sil_steps: int = 200
    """K_SIL, ramp length of the SIL weight (yaml 200)."""
    clip_cov: bool = True
    """Clip-Cov on both passes (paper loss_mode = clip_cov)."""
    clip_cov_onpolicy: tuple[float, ...] = (0.0002, 1.0, 5.0)
    """(ratio, lb, ub) of Clip-Cov on on-policy tokens (paper 0.0002, 1, 5)."""
    clip_cov_replay: tuple[float, ...] = (0.02, 2.0, 60.0)
    """(ratio, lb, ub) of Clip-Cov on replayed tokens (paper 0.02, 2, 60)."""
    filter_overlong: bool = True
    """Mask samples whose last turn hit the token limit (Dr.BoT)."""
    filter_repetitive: bool = True
    """Mask samples with a 20-gram repeated ≥ 10 times (Dr.BoT)."""
    group_filter_ratio: float = 0.75
    """Keep this share of prompt groups with the highest reward std (Dr.BoT 0.75; 1 = off)."""
    seed: int = 0
    """Seed of replay sampling and Clip-Cov selection."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.clip_cov_onpolicy) != 3 or len(self.clip_cov_replay) != 3:
            raise InvalidConfig("clip_cov_onpolicy and clip_cov_replay are (ratio, lb, ub) triples")
        if not 0 < self.group_filter_ratio <= 1:
            raise InvalidConfig(f"group_filter_ratio must be in (0, 1], got {self.group_filter_ratio}")


@register_algorithm
class SPEAR(Algorithm):
    """Dr.BoT(GRPO) + tool-call curriculum + self-imitation replay with Clip-Cov.

    Replayed trajectories join the step's batch with their stored behaviour log-probs as
    `old_logprobs`, recalibrated advantages scaled by w_SIL (the loss is positively homogeneous in
    A, so this weights their loss by w_SIL) and a per-token `replay` flag that selects the replay
    Clip-Cov parameters.
    """

    name = "spear"
    config_class = SPEARConfig
    cfg: SPEARConfig

    def __init__(self, cfg: AlgorithmConfig, *, total_steps: int = 1):
        super().__init__(cfg, total_steps=total_steps)
        c = self.cfg
        self.buffer: TrajectoryReplayBuffer[tuple[Any, dict[str, torch.Tensor]]] = TrajectoryReplayBuffer(
            c.buffer_size, tolerate_steps=c.tolerate_steps, baseline_size=c.baseline_size,
            trigger_factor=c.trigger_factor,
        )  # fmt: skip
        self.np_rng = np.random.default_rng(c.seed)
        self.torch_rng = torch.Generator().manual_seed(c.seed)

    def rewards(self, batch: Batch) -> torch.Tensor:
        """R_i = R_env + r_tool(k) (Eq. 1); L_i = the number of tool calls of the episode."""
        c = self.cfg
        out = []
        for t in batch.trajectories:
            calls = t.num_tool_calls
            bonus = 0.0 if c.toolcall_bonus == "none" else toolcall_bonus(batch.step, c.toolcall_steps, calls,
                                                                          mode=c.toolcall_bonus)  # fmt: skip
            out.append(t.total_reward + bonus)
        return torch.tensor(out, dtype=torch.float64)

    def _filter(self, batch: Batch, rewards: torch.Tensor) -> None:
        """Dr.BoT: masked samples stay in the group statistics but leave the loss."""
        c, keep = self.cfg, np.ones(len(batch), dtype=bool)
        for i, t in enumerate(batch.trajectories):
            ids = [x for turn in t.turns for x in turn.action_ids]
            overlong = c.filter_overlong and bool(t.turns) and t.turns[-1].finish_reason == "length"
            keep[i] = not overlong and not (c.filter_repetitive and is_repetitive(ids))
        if c.group_filter_ratio < 1:
            keep &= group_std_filter(rewards.tolist(), batch.group_ids, keep_ratio=c.group_filter_ratio)
        batch.tensors["loss_mask"] = batch.tensors["loss_mask"] * torch.as_tensor(keep)[:, None].to(
            batch.tensors["loss_mask"].dtype
        )
        batch.extras.setdefault("metrics", {})["rollout/filtered_frac"] = float(1 - keep.mean())

    def on_batch(self, batch: Batch, ctx: Any) -> None:
        c = self.cfg
        rewards = self.rewards(batch)
        self._filter(batch, rewards)
        adv = grpo_advantages(rewards, batch.group_ids, scale_by_std=c.scale_by_std)
        token_adv = batch.broadcast(adv)
        n_policy = len(batch)
        metrics = batch.extras.setdefault("metrics", {})
        metrics["rollout/toolcall_bonus_coef"] = toolcall_coefficient(batch.step, c.toolcall_steps) if (
            c.toolcall_bonus != "none") else 0.0  # fmt: skip
        replay_rows = self._replay(
            batch, token_adv, pad_id=getattr(getattr(ctx, "policy", None), "pad_id", 0)
        )
        if c.replay:  # admit this step's positive samples after replaying older ones
            rows = [{k: v[i] for k, v in batch.tensors.items()} for i in range(n_policy)]
            items = list(zip(batch.trajectories[:n_policy], rows, strict=True))
            live = [
                float(a) if int(r["loss_mask"].sum()) else 0.0
                for a, r in zip(adv.tolist(), rows, strict=True)
            ]
            self.buffer.add(
                items, rewards.tolist(), live, step=batch.step
            )  # filtered samples are not admitted
            means, stds = _group_stats(rewards, batch.group_ids[:n_policy])
            self.buffer.update_baseline(means, stds)
        metrics.update(
            {
                "replay/rows": float(replay_rows),
                "replay/buffer": float(len(self.buffer)),
                "replay/sil_weight": sil_weight(batch.step, c.sil_steps, coef=c.sil_coef),
            }
        )

    def _replay(self, batch: Batch, token_adv: torch.Tensor, *, pad_id: int) -> int:
        if not (self.cfg.replay and self.buffer.ready()):
            batch.extras["advantages"] = token_adv
            batch.tensors["replay"] = torch.zeros_like(batch.tensors["loss_mask"])
            return 0
        rb = self.buffer.sample(self.np_rng)
        w = sil_weight(batch.step, self.cfg.sil_steps, coef=self.cfg.sil_coef)
        rows = [row for _, row in rb.items]
        batch.tensors["replay"] = torch.zeros_like(batch.tensors["loss_mask"])
        for row in rows:
            row["replay"] = torch.ones_like(row["loss_mask"])
        batch.tensors = _append_rows(batch.tensors, rows, pad_id=pad_id)
        batch.trajectories = batch.trajectories + [t for t, _ in rb.items]
        batch.group_ids = batch.group_ids + [f"replay/{t.group_id}" for t, _ in rb.items]
        m = batch.tensors["loss_mask"].to(torch.float32)
        extra = torch.as_tensor(rb.advantages * w, dtype=torch.float32)[:, None] * m[-len(rows) :]
        base = torch.zeros_like(m)
        base[: token_adv.shape[0], : token_adv.shape[1]] = token_adv
        base[-len(rows) :] = extra
        batch.extras["advantages"] = base
        return len(rows)

    def advantages(self, batch: Batch) -> torch.Tensor:
        return batch.extras["advantages"]

    def loss(
        self, out: ModelOutput, mb: dict[str, torch.Tensor], ctx: LossContext
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.cfg
        if not c.clip_cov:
            return super().loss(out, mb, ctx)
        mask = mb["loss_mask"].bool()
        ratio = torch.exp((out.logprobs - mb["old_logprobs"]).detach())
        clipped = (ratio < 1 - c.clip_low) | (ratio > 1 + c.clip_high)
        replay = mb.get("replay", torch.zeros_like(mb["loss_mask"])).bool()
        drop = torch.zeros_like(mask)
        for rows, (r, lo, hi) in ((~replay, c.clip_cov_onpolicy), (replay, c.clip_cov_replay)):
            part = mask & rows
            if part.any():
                drop |= clip_cov_mask(mb["advantages"], out.logprobs, part, ratio=r, low=lo, high=hi,
                                      rng=self.torch_rng, clipped=clipped)  # fmt: skip
        total, metrics = super().loss(out, {**mb, "loss_mask": (mask & ~drop).to(mb["loss_mask"].dtype)}, ctx)
        metrics["train/clip_cov_frac"] = float(drop.sum()) / max(float(mask.sum()), 1.0)
        return total, metrics

    def state_dict(self) -> dict[str, Any]:
        return {
            "buffer": self.buffer,
            "np_rng": self.np_rng.bit_generator.state,
            "torch_rng": self.torch_rng.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffer = state["buffer"]
        self.np_rng.bit_generator.state = state["np_rng"]
        self.torch_rng.set_state(state["torch_rng"])


def _group_stats(rewards: torch.Tensor, group_ids: Sequence[object]) -> tuple[list[float], list[float]]:
    groups: dict[object, list[float]] = {}
    for r, g in zip(rewards.tolist(), group_ids, strict=True):
        groups.setdefault(g, []).append(r)
    means = [float(np.mean(v)) for v in groups.values()]
    stds = [float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in groups.values()]
    return means, stds


def _append_rows(
    tensors: dict[str, torch.Tensor], rows: Sequence[dict[str, torch.Tensor]], *, pad_id: int
) -> dict[str, torch.Tensor]:
    """Stack (B, T) tensors and extra 1-D rows into (B + R, T') tensors, padding as `pad_batch` does."""
    T = max([tensors["input_ids"].shape[1], *(int(r["attention_mask"].sum()) for r in rows)])
    out = {}
    for k, v in tensors.items():
        fill = pad_id if k == "input_ids" else PAD_VALUES.get(k, 0)
        t = torch.full((v.shape[0] + len(rows), T), fill, dtype=v.dtype)
        t[: v.shape[0], : v.shape[1]] = v
        for i, r in enumerate(rows):
            n = int(r["attention_mask"].sum())
            t[v.shape[0] + i, :n] = r[k][:n] if k in r else 0
        out[k] = t
    return out
