"""The `Algorithm` interface and registry: how the trainer learns what to do without name branches.

An algorithm names its sampler, turns a rollout `Batch` into per-token advantages, and adds loss
terms to the shared PPO-clip + KL + entropy objective. A new algorithm is a short module:

    @register_algorithm
    class MyAlgo(Algorithm):
        name = "myalgo"
        config_class = MyAlgoConfig          # subclass of AlgorithmConfig

        def advantages(self, batch):         # (B, T) tensor, 0 off policy tokens
            a = grpo_advantages(batch.outcome_rewards(), batch.group_ids)
            return batch.broadcast(a)

`get_algorithm("myalgo")` finds it by importing `agentgym.trainers.myalgo` on first use, or via the
`agentgym.algorithms` entry-point group for third-party packages.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, Literal

import torch

from agentgym.errors import InvalidConfig, did_you_mean
from agentgym.trainers.config import ConfigBase
from agentgym.trainers.losses import AGG_MODES, aggregate, kl_estimate, masked_mean, policy_loss

__all__ = [
    "Algorithm",
    "AlgorithmConfig",
    "Batch",
    "LossContext",
    "ModelOutput",
    "algorithm_names",
    "get_algorithm",
    "register_algorithm",
]

log = logging.getLogger(__name__)

_REGISTRY: dict[str, type[Algorithm]] = {}
BUILTIN_ALGORITHMS = ("grpo", "ppo", "gigpo", "igpo", "epo")


@dataclass(frozen=True, kw_only=True)
class AlgorithmConfig(ConfigBase):
    """Fields shared by every policy-gradient algorithm (the loss family of ALGORITHMS.md §1.1)."""

    name: str = "grpo"
    """Registered algorithm name (grpo, ppo, gigpo, igpo, epo, ...)."""
    clip_low: float = 0.2
    """ε_l, lower clip range of the ratio; verl default 0.2."""
    clip_high: float = 0.2
    """ε_h, upper clip range; 0.28 is DAPO's clip-higher; verl default 0.2."""
    dual_clip: float | None = 3.0
    """c, dual-clip bound on the loss of negative-advantage tokens (verl clip_ratio_c = 3.0); null disables."""
    kl_coef: float = 0.0
    """β, weight of the KL-to-reference loss term; verl GRPO 0.001 (needs a reference model when > 0)."""
    kl_kind: Literal["k1", "k2", "k3"] = "k3"
    """KL estimator; k3 = verl's low_var_kl."""
    entropy_coef: float = 0.0
    """c_H, entropy bonus weight (loss −= c_H·Agg(H)); verl default 0."""
    loss_agg: Literal[
        "token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"
    ] = "token-mean"
    """Aggregation of per-token losses; see agentgym.trainers.losses.aggregate."""
    loss_agg_norm: float | None = None
    """L in seq-mean-token-sum-norm; null = the batch's padded length (verl)."""

    def __post_init__(self) -> None:
        if self.clip_low < 0 or self.clip_high < 0:
            raise InvalidConfig(f"clip_low/clip_high must be >= 0, got {self.clip_low}/{self.clip_high}")
        if self.dual_clip is not None and self.dual_clip <= 1:
            raise InvalidConfig(f"dual_clip must be > 1 (verl: 3.0) or null to disable, got {self.dual_clip}")
        if self.kl_coef < 0 or self.entropy_coef < 0:
            raise InvalidConfig(
                f"kl_coef and entropy_coef must be >= 0, got {self.kl_coef}, {self.entropy_coef}"
            )
        if self.loss_agg not in AGG_MODES:
            raise InvalidConfig(f"loss_agg must be one of {AGG_MODES}, got {self.loss_agg!r}")


@dataclass
class Batch:
    """One rollout batch: the (non-failed) trajectories and their padded (B, T) tensors.

    `tensors` holds the rollout keys (input_ids, attention_mask, loss_mask, turn_index,
    old_logprobs, entropies, rewards); the trainer adds `advantages`, `ref_logprobs`,
    `values`, `returns`. `extras` carries per-algorithm data computed in `on_batch`.
    """

    trajectories: list[Any]
    tensors: dict[str, torch.Tensor]
    group_ids: list[str]
    step: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.trajectories)

    def outcome_rewards(self) -> torch.Tensor:
        """R_i, the total env reward of each trajectory (float64, shape (B,))."""
        return torch.tensor([t.total_reward for t in self.trajectories], dtype=torch.float64)

    def turn_rewards(self) -> list[list[float]]:
        """Per trajectory, the env reward of each turn."""
        return [[float(turn.reward) for turn in t.turns] for t in self.trajectories]

    def broadcast(self, per_traj: torch.Tensor) -> torch.Tensor:
        """Spread one value per trajectory onto its policy tokens: (B,) → (B, T)."""
        mask = self.tensors["loss_mask"].to(torch.float32)
        return per_traj.to(torch.float32)[:, None] * mask

    def broadcast_turns(self, per_turn: Sequence[Sequence[float] | torch.Tensor]) -> torch.Tensor:
        """Spread per-turn values (ragged, one list per trajectory) onto each turn's policy tokens."""
        ti = self.tensors["turn_index"]
        out = torch.zeros(ti.shape, dtype=torch.float32)
        for i, vals in enumerate(per_turn):
            v = torch.as_tensor(vals, dtype=torch.float32)
            if v.numel():
                idx = ti[i].clamp(min=0, max=v.numel() - 1)
                out[i] = torch.where(ti[i] >= 0, v[idx], torch.zeros(()))
        return out * self.tensors["loss_mask"].to(torch.float32)


@dataclass
class ModelOutput:
    """What the trainer's forward pass returns for a micro-batch (all (b, T))."""

    logprobs: torch.Tensor
    entropies: torch.Tensor
    values: torch.Tensor | None = None


@dataclass
class LossContext:
    """Global normalisers and progress, so micro-batch losses sum to the mini-batch loss."""

    num_tokens: float
    num_seqs: float
    norm_const: float
    step: int
    total_steps: int

    def agg_kwargs(self, cfg: AlgorithmConfig) -> dict[str, float]:
        return {
            "num_tokens": self.num_tokens,
            "num_seqs": self.num_seqs,
            "norm_const": cfg.loss_agg_norm if cfg.loss_agg_norm is not None else self.norm_const,
        }


class Algorithm:
    """Base class: GRPO-style loss terms; subclasses supply `advantages` and optional extras.

    Hooks, in trainer order: `on_batch` (after sampling, before advantages; may score with the
    policy), `advantages`, then per micro-batch `loss` (= shared terms + `extra_loss`), and
    `on_step_end` after the optimizer steps. State that must survive `--resume` goes in
    `state_dict`.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[AlgorithmConfig]] = AlgorithmConfig
    sampler: ClassVar[str] = "flat"
    """"flat" (B prompts × G samples) or "tree" (branching rollouts, ARPO/AEPO)."""
    uses_critic: ClassVar[bool] = False
    """True when the trainer must build a value model and pass `values` to `loss`."""

    @property
    def stop_grad_upper(self) -> bool:
        """AEPO's entropy-balanced clipping (forward value 1+ε_h, gradient kept); off elsewhere."""
        return False

    def __init__(self, cfg: AlgorithmConfig, *, total_steps: int = 1):
        if not isinstance(cfg, self.config_class):
            raise InvalidConfig(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(cfg).__name__}"
            )
        self.cfg = cfg
        self.total_steps = max(1, total_steps)

    # ----------------------------------------------------------------- hooks
    def on_batch(self, batch: Batch, ctx: Any) -> None:
        """Called once per rollout batch before `advantages` (ctx: the Trainer)."""

    def advantages(self, batch: Batch) -> torch.Tensor:
        """Per-token advantages (B, T), zero off policy tokens."""
        raise NotImplementedError

    def extra_loss(
        self, out: ModelOutput, mb: dict[str, torch.Tensor], ctx: LossContext
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Algorithm-specific loss terms added to the shared objective."""
        return out.logprobs.new_zeros(()), {}

    def entropy_loss(
        self, out: ModelOutput, mb: dict[str, torch.Tensor], ctx: LossContext
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """−c_H·Agg(H): the plain entropy bonus (EPO overrides it)."""
        ent = aggregate(out.entropies, mb["loss_mask"], self.cfg.loss_agg, **ctx.agg_kwargs(self.cfg))
        loss = -self.cfg.entropy_coef * ent if self.cfg.entropy_coef > 0 else ent.new_zeros(())
        # `ent` is a partial sum under accumulation; the logged entropy is this micro-batch's token mean.
        return loss, {"train/entropy": float(masked_mean(out.entropies.detach(), mb["loss_mask"]))}

    def on_step_end(self, step: int, metrics: dict[str, float]) -> None:
        """Called after the optimizer updates of a step, with that step's metrics."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state

    # ----------------------------------------------------------------- shared objective
    def loss(
        self, out: ModelOutput, mb: dict[str, torch.Tensor], ctx: LossContext
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """L = L_pg + β·Agg(KL) − c_H·Agg(H) + extra (ALGORITHMS.md §1.1)."""
        cfg = self.cfg
        mask = mb["loss_mask"]
        agg = ctx.agg_kwargs(cfg)
        pg, metrics = policy_loss(
            out.logprobs,
            mb["old_logprobs"],
            mb["advantages"],
            mask,
            clip_low=cfg.clip_low,
            clip_high=cfg.clip_high,
            dual_clip=cfg.dual_clip,
            agg=cfg.loss_agg,
            stop_grad_upper=self.stop_grad_upper,
            **agg,
        )
        total = pg
        metrics = {f"train/{k}": v for k, v in metrics.items()}
        metrics["train/loss/policy"] = float(pg.detach())
        if cfg.kl_coef > 0 and "ref_logprobs" in mb:
            kl = aggregate(
                kl_estimate(out.logprobs, mb["ref_logprobs"], cfg.kl_kind), mask, cfg.loss_agg, **agg
            )
            total = total + cfg.kl_coef * kl
            metrics["train/loss/kl"] = float(kl.detach())
        ent_loss, ent_metrics = self.entropy_loss(out, mb, ctx)
        total = total + ent_loss
        metrics.update(ent_metrics)
        extra, extra_metrics = self.extra_loss(out, mb, ctx)
        total = total + extra
        metrics.update(extra_metrics)
        metrics["train/loss/total"] = float(total.detach())
        return total, metrics


def register_algorithm(cls: type[Algorithm]) -> type[Algorithm]:
    """Class decorator: make an algorithm available to `get_algorithm(cls.name)`."""
    if not cls.name:
        raise InvalidConfig(f"{cls.__name__} needs a non-empty `name` class attribute to be registered")
    if not (isinstance(cls.config_class, type) and issubclass(cls.config_class, AlgorithmConfig)):
        raise InvalidConfig(f"{cls.__name__}.config_class must subclass AlgorithmConfig")
    _REGISTRY[cls.name] = cls
    return cls


def get_algorithm(name: str) -> type[Algorithm]:
    """Look an algorithm up by name, importing `agentgym.trainers.<name>` or plugins on a miss."""
    if name not in _REGISTRY:
        try:
            importlib.import_module(f"agentgym.trainers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"agentgym.trainers.{name}":
                raise
    if name not in _REGISTRY:
        for ep in entry_points(group="agentgym.algorithms"):
            if ep.name == name:
                ep.load()
    if name not in _REGISTRY:
        known = sorted({*_REGISTRY, *BUILTIN_ALGORITHMS})
        raise InvalidConfig(f"unknown algorithm {name!r}; known: {known}.{did_you_mean(name, known)}")
    return _REGISTRY[name]


def algorithm_names() -> list[str]:
    """Names of the built-in and already-registered algorithms."""
    for n in BUILTIN_ALGORITHMS:
        get_algorithm(n)
    return sorted(_REGISTRY)


def build_algorithm_config(data: dict[str, Any] | AlgorithmConfig | None) -> AlgorithmConfig:
    """The algorithm section of a run config → the algorithm's own config class."""
    if isinstance(data, AlgorithmConfig):
        return data
    data = dict(data or {})
    name = str(data.get("name", "grpo"))
    cls = get_algorithm(name).config_class
    data["name"] = name
    return cls.from_dict(data, where="algorithm")


def config_fields(cfg: AlgorithmConfig) -> dict[str, Any]:
    """Field values of an algorithm config (for logging)."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
