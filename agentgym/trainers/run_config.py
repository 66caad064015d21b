"""The run configuration: model, environments, warm start, trainer loop and algorithm sections.

A YAML preset maps onto `RunConfig` one section per dataclass; `quick:` holds dotted overrides
applied by `--quick`. See examples/configs/ and docs/training.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentgym.errors import InvalidConfig
from agentgym.trainers.algorithm import AlgorithmConfig, build_algorithm_config
from agentgym.trainers.config import ConfigBase, apply_overrides, load_yaml

__all__ = ["EnvEntry", "ModelConfig", "RunConfig", "TrainerConfig", "WarmStartConfig", "load_run_config"]


@dataclass(frozen=True, kw_only=True)
class EnvEntry(ConfigBase):
    """One training environment and its share of each batch."""

    id: str
    """Registered env id, e.g. SearchQA-v0 (the agentgym/ namespace is optional)."""
    weight: float = 1.0
    """Mixing weight: prompts per step are split across envs in proportion to it."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Env constructor kwargs for training episodes."""
    eval_kwargs: dict[str, Any] | None = None
    """Env kwargs for held-out evaluation (e.g. {split: test}); null = `kwargs`."""

    def __post_init__(self) -> None:
        if self.weight <= 0:
            raise InvalidConfig(f"env {self.id}: weight must be > 0, got {self.weight}")


@dataclass(frozen=True, kw_only=True)
class ModelConfig(ConfigBase):
    """The policy to train."""

    spec: str = "small"
    """`tiny|small|base`, a local checkpoint dir or a hub name (agentgym.llm.load_policy)."""
    seed: int = 0
    """Seed of the small models' random init."""
    dtype: str = "float32"
    """Parameter dtype (bfloat16 on GPUs)."""
    device: str | None = None
    """cpu, cuda, ...; null = cuda when available."""


@dataclass(frozen=True, kw_only=True)
class WarmStartConfig(ConfigBase):
    """Supervised warm start on oracle demonstrations before RL (agentgym.trainers.sft)."""

    episodes: int = 0
    """Oracle episodes per env; 0 skips the warm start."""
    steps: int = 300
    """SFT optimizer steps."""
    lr: float = 1e-3
    """SFT learning rate."""
    batch_size: int = 16
    """Demonstrations per optimizer step."""
    checkpoint: str | None = None
    """Reuse this SFT checkpoint dir instead of training one (speeds up sweeps)."""

    def __post_init__(self) -> None:
        if self.episodes < 0 or self.steps < 1 or self.batch_size < 1:
            raise InvalidConfig(f"warm_start needs episodes >= 0, steps >= 1, batch_size >= 1; got {self}")


@dataclass(frozen=True, kw_only=True)
class TrainerConfig(ConfigBase):
    """The RL loop: batch shape, optimisation, evaluation, logging and checkpoints."""

    steps: int = 100
    """Training steps (one rollout batch + its updates each)."""
    prompts_per_step: int = 8
    """B, prompts (tasks) per step; each gets `group_size` samples."""
    group_size: int = 4
    """G, rollouts per prompt (GRPO/IGPO group)."""
    ppo_epochs: int = 1
    """Passes over each rollout batch (verl ppo_epochs 1)."""
    minibatches: int = 1
    """Optimizer steps per epoch: the batch is split into this many shuffled mini-batches."""
    micro_batch_size: int = 8
    """Sequences per forward/backward; gradients accumulate over a mini-batch."""
    lr: float = 1e-6
    """Policy learning rate (papers: 1e-6 for 1.5B–7B models; small models need ~1e-4)."""
    lr_schedule: Literal["constant", "cosine"] = "constant"
    """After warm-up: constant or cosine decay to `min_lr_ratio`."""
    warmup_steps: int = 0
    """Linear LR warm-up steps."""
    min_lr_ratio: float = 0.0
    """Floor of the cosine schedule as a fraction of `lr`."""
    weight_decay: float = 0.0
    """Weight decay (decoupled for adamw, L2 for sgd)."""
    optimizer: Literal["adamw", "sgd"] = "adamw"
    """adamw, or plain SGD with `momentum`: its step is proportional to the gradient, so the many
    weights whose policy-gradient is mostly sampling noise move little (Adam moves each by ≈ lr)."""
    momentum: float = 0.0
    """SGD momentum (ignored by adamw)."""
    grad_clip: float = 1.0
    """Max global gradient norm (verl 1.0); 0 disables."""
    temperature: float = 1.0
    """Rollout sampling temperature. The loss, π_old, the reference and the logged entropy all use
    logits / temperature (as verl does), so the policy trained is the one sampled from; scoring at
    temperature 1 instead biases the update toward flattening the distribution whenever the
    advantages do not sum to zero over tokens."""
    top_p: float = 1.0
    """Rollout nucleus sampling."""
    max_new_tokens: int = 64
    """Per-turn token cap."""
    max_turns: int | None = None
    """Agent turns per episode; null = the env's max_turns."""
    max_context_tokens: int | None = None
    """Total sequence cap; null = the model's limit."""
    recompute_old_logprobs: bool = True
    """Recompute π_old with a forward pass (exact ratio 1 at the first update) instead of using the sampler's."""
    eval_every: int = 10
    """Evaluate every this many steps (and at the start and end); 0 disables."""
    eval_episodes: int = 32
    """Held-out episodes per env, on fixed seeds."""
    eval_seed_offset: int = 1_000_000
    """Held-out seeds start here (training seeds stay below)."""
    eval_temperature: float = 0.0
    """Evaluation sampling temperature; 0 = greedy."""
    save_every: int = 10
    """Checkpoint every this many steps (and at the end); 0 = only at the end."""
    keep_checkpoints: int = 2
    """Most recent checkpoints to keep."""
    seed: int = 0
    """Seed of task sampling, rollouts and shuffling."""
    tensorboard: bool = False
    """Also log to TensorBoard (needs the tensorboard package)."""
    wandb: bool = False
    """Also log to Weights & Biases (needs wandb; honours WANDB_MODE)."""
    progress: bool = True
    """Show a progress bar."""
    env_workers: int = 0
    """Run the training envs in this many Ray actors (agentgym.distributed); 0 = in-process."""
    ray_address: str | None = None
    """Ray cluster to join when env_workers > 0 (null = start a local Ray)."""
    env_worker_cpus: float = 1.0
    """CPUs Ray reserves per env worker (0 is fine for light envs sharing a small machine)."""

    def __post_init__(self) -> None:
        positive = (
            "steps",
            "prompts_per_step",
            "group_size",
            "ppo_epochs",
            "minibatches",
            "micro_batch_size",
            "max_new_tokens",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise InvalidConfig(f"trainer.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise InvalidConfig(f"trainer.lr must be > 0, got {self.lr}")
        if not 0.0 <= self.momentum < 1.0:
            raise InvalidConfig(f"trainer.momentum must be in [0, 1), got {self.momentum}")
        if self.env_workers < 0:
            raise InvalidConfig(
                f"trainer.env_workers must be >= 0 (0 = in-process envs), got {self.env_workers}"
            )
        if self.minibatches > self.prompts_per_step * self.group_size:
            raise InvalidConfig(
                f"trainer.minibatches ({self.minibatches}) exceeds the batch of {self.prompts_per_step * self.group_size} rollouts; lower it"
            )
        if self.temperature <= 0:
            raise InvalidConfig(
                f"trainer.temperature must be > 0 for on-policy sampling, got {self.temperature}"
            )


@dataclass(frozen=True, kw_only=True)
class RunConfig(ConfigBase):
    """Everything a training run needs; saved as config.yaml in the run dir."""

    model: ModelConfig = field(default_factory=ModelConfig)
    """The policy."""
    envs: tuple[EnvEntry, ...] = ()
    """Training environments with mixing weights."""
    warm_start: WarmStartConfig = field(default_factory=WarmStartConfig)
    """SFT on oracle demonstrations before RL."""
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    """The RL loop."""
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    """The algorithm section; `name` picks the class and its config fields."""
    quick: dict[str, Any] = field(default_factory=dict)
    """Dotted overrides applied by `--quick` (a short smoke variant of the preset)."""

    def __post_init__(self) -> None:
        if not self.envs:
            raise InvalidConfig("envs is empty; add at least one entry such as `envs: [{id: Calculator-v0}]`")

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "") -> RunConfig:  # type: ignore[override]
        data = dict(data)
        algo = build_algorithm_config(data.pop("algorithm", None))
        base = super().from_dict(data, where=where)
        return base.replace(algorithm=algo)


def load_run_config(
    path: str | Path | None = None, overrides: Sequence[str] = (), *, quick: bool = False
) -> RunConfig:
    """YAML preset + `--quick` section + `--set` overrides → a checked RunConfig."""
    data: dict[str, Any] = load_yaml(path) if path is not None else {}
    if quick:
        q = data.get("quick") or {}
        if not isinstance(q, dict):
            raise InvalidConfig(f"`quick` must map dotted keys to values, got {type(q).__name__}")
        data = apply_overrides(data, [(k.split("."), v) for k, v in q.items()])
    data = apply_overrides(data, list(overrides))
    return RunConfig.from_dict(data)
