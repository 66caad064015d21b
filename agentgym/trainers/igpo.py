"""IGPO: Information Gain-based Policy Optimization for multi-turn agents (arXiv 2510.14967).

    π̄_t  = exp((1/L) Σ_j log π_old(a_j | q, o_{≤t}, a_{<j}))       (Eq. 3, belief in the gold answer a)
    r_t  = π̄_t − π̄_{t−1}   for each tool turn t < T                   (Eq. 4, `info_gain: prob_diff`)
    r_t  = log π̄_t − log π̄_{t−1}                                      (official `log_prob_diff` option)
    r_T  = outcome reward of the answer turn (the env's F1/EM)        (Eq. 5)
    Ã_t  = (r_t − mean R_g) / std R_g,   R_g = all turn rewards of the group   (Eq. 6, `norm: joint`)
    A_t  = Σ_{k≥t} γ^{k−t} Ã_k, broadcast to the tokens of turn t     (Eq. 7)

π̄ is measured by teacher forcing `answer_template` with the gold answer after the context of each
turn (`HFPolicy.score` under the pre-update weights, no gradient); π̄_0 on the bare prompt. Choices
(ALGORITHMS.md §4): normalise then discount as the paper and maintainer say; population std; an IG of
exactly 0 stays in the statistics; env/tool tokens are masked out of the loss (the paper's intent —
the official code trains on them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from agentgym.errors import InvalidConfig
from agentgym.trainers.advantages import igpo_turn_advantages
from agentgym.trainers.algorithm import Algorithm, AlgorithmConfig, Batch, register_algorithm
from agentgym.trainers.schedules import linear_interp

__all__ = ["IGPO", "IGPOConfig", "gold_answer", "information_gain"]


def information_gain(
    beliefs: Sequence[float], mode: Literal["prob_diff", "log_prob_diff"] = "prob_diff"
) -> list[float]:
    """Turn rewards from beliefs π̄_0…π̄_K: K differences (Eq. 4).

    >>> [round(x, 4) for x in information_gain([0.1, 0.3, 0.6])]
    [0.2, 0.3]
    """
    b = [float(x) for x in beliefs]
    if mode == "prob_diff":
        return [b[t] - b[t - 1] for t in range(1, len(b))]
    if mode == "log_prob_diff":
        if any(x <= 0 for x in b):
            raise InvalidConfig(f"log_prob_diff needs beliefs > 0, got {b}")
        return [math.log(b[t]) - math.log(b[t - 1]) for t in range(1, len(b))]
    raise InvalidConfig(f"info_gain mode must be 'prob_diff' or 'log_prob_diff', got {mode!r}")


def gold_answer(task: Any) -> str:
    """The first gold answer of a task (`Task.answer` may be a string, number or list)."""
    ans = getattr(task, "answer", task)
    if isinstance(ans, list | tuple):
        ans = ans[0] if ans else ""
    return str(ans)


@dataclass(frozen=True, kw_only=True)
class IGPOConfig(AlgorithmConfig):
    """IGPO; the shared loss fields are documented on AlgorithmConfig."""

    name: str = "igpo"
    """Algorithm name."""
    gamma: float = 1.0
    """γ, turn-level discount (paper 1.0)."""
    info_gain: Literal["prob_diff", "log_prob_diff"] = "prob_diff"
    """IG definition: paper/code default prob_diff; official train.sh uses log_prob_diff."""
    norm: Literal["joint", "separate"] = "joint"
    """Pool IG and outcome rewards (joint, paper) or normalise each kind separately (train.sh)."""
    answer_template: str = "<answer>{answer}</answer>"
    """Forced answer text scored for the belief; `{answer}` marks the gold span."""
    ig_weight: float = 1.0
    """Weight of the IG rewards (the curriculum moves it ig_weight → ig_weight_end)."""
    ig_weight_end: float | None = None
    """Final IG weight for the linear curriculum (official option 1.0 → 0.5); null = constant."""
    outcome_weight: float = 1.0
    """Weight of the outcome reward (curriculum 0.5 → 1.0 in the official option)."""
    outcome_weight_end: float | None = None
    """Final outcome weight for the curriculum; null = constant."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if "{answer}" not in self.answer_template:
            raise InvalidConfig(f"answer_template must contain {{answer}}, got {self.answer_template!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise InvalidConfig(f"gamma must lie in [0, 1], got {self.gamma}")


@register_algorithm
class IGPO(Algorithm):
    """GRPO plus per-turn information-gain rewards from the policy's belief in the gold answer."""

    name = "igpo"
    config_class = IGPOConfig
    cfg: IGPOConfig

    def beliefs(self, policy: Any, traj: Any, answer: str) -> list[float]:
        """π̄_0…π̄_{T−1}: belief on the bare prompt and after each tool turn (all but the last turn)."""
        pre, _, post = self.cfg.answer_template.partition("{answer}")
        encode = policy.chat.encode
        prefix_ids, gold_ids = encode(pre), encode(answer)
        contexts, ctx = [list(traj.prompt_ids) + prefix_ids], list(traj.prompt_ids)
        for turn in traj.turns[:-1]:
            ctx = ctx + list(turn.action_ids) + list(turn.observation_ids)
            contexts.append(ctx + prefix_ids)
        del post  # tokens after the gold span do not change its log-probs
        scores = policy.score(contexts, [gold_ids] * len(contexts))
        return [math.exp(s) for s in scores]

    def on_batch(self, batch: Batch, ctx: Any) -> None:
        tasks = batch.extras.get("tasks")
        if tasks is None:
            raise InvalidConfig("IGPO needs the gold answers: the trainer must put `tasks` in batch.extras")
        beliefs = [
            self.beliefs(ctx.policy, t, gold_answer(task))
            for t, task in zip(batch.trajectories, tasks, strict=True)
        ]
        batch.extras["beliefs"] = beliefs
        if beliefs:
            batch.extras["metrics"] = {
                "igpo/belief/start": sum(b[0] for b in beliefs) / len(beliefs),
                "igpo/belief/last": sum(b[-1] for b in beliefs) / len(beliefs),
            }

    def turn_rewards(self, batch: Batch) -> list[list[float]]:
        """IG rewards of the tool turns followed by the outcome reward, with curriculum weights."""
        c, step = self.cfg, batch.step
        w_ig = (
            c.ig_weight
            if c.ig_weight_end is None
            else linear_interp(step, self.total_steps, c.ig_weight, c.ig_weight_end)
        )
        w_out = (
            c.outcome_weight
            if c.outcome_weight_end is None
            else linear_interp(step, self.total_steps, c.outcome_weight, c.outcome_weight_end)
        )
        out = []
        for traj, b in zip(batch.trajectories, batch.extras["beliefs"], strict=True):
            ig = information_gain(b, c.info_gain)  # Eq. (4)
            out.append([w_ig * g for g in ig] + [w_out * traj.total_reward])  # Eq. (5)
        return out

    def advantages(self, batch: Batch) -> torch.Tensor:
        adv = igpo_turn_advantages(
            self.turn_rewards(batch), batch.group_ids, gamma=self.cfg.gamma, norm=self.cfg.norm
        )  # Eq. (6)–(7)
        return batch.broadcast_turns(adv)
