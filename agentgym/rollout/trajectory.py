"""`Trajectory` and `Turn`: the one record every sampler produces and every trainer consumes.

Token in, token out: `Turn.action_ids` are the ids the policy sampled (with their logprobs),
`Turn.observation_ids` the environment text tokenized once; `to_tensors()` concatenates
`prompt_ids` and the turns into one sequence with its masks.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

__all__ = ["Trajectory", "Turn"]


@dataclass
class Turn:
    """One agent turn: the sampled action and what the env answered.

    `observation_ids` are the tokens appended after the action in the sequence (end marker,
    observation message, next assistant header); empty on the final turn of an episode.
    """

    action: str
    action_ids: list[int]
    action_logprobs: list[float]
    observation: str
    observation_ids: list[int]
    reward: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    action_entropies: list[float] | None = None
    finish_reason: str = "stop"

    @property
    def num_tool_calls(self) -> int:
        """Tool calls the env parsed from this action (`info["tool_calls"]`)."""
        return len(self.info.get("tool_calls") or [])


@dataclass
class Trajectory:
    """One episode. `group_id` is shared by the G samples of a task (same reset seed)."""

    task_id: str
    group_id: str
    env_id: str
    prompt_ids: list[int]
    turns: list[Turn] = field(default_factory=list)
    seed: int | None = None
    sample_index: int = 0
    system_prompt: str = ""
    first_observation: str = ""
    reset_info: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    terminated: bool = False
    truncated: bool = False
    failed: bool = False
    error: str | None = None

    @property
    def total_reward(self) -> float:
        return float(sum(t.reward for t in self.turns))

    @property
    def success(self) -> bool:
        return bool(self.info.get("success", False))

    @property
    def score(self) -> float:
        return float(self.info.get("score", 0.0) or 0.0)

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated or self.failed

    @property
    def num_policy_tokens(self) -> int:
        return sum(len(t.action_ids) for t in self.turns)

    @property
    def num_tool_calls(self) -> int:
        return sum(t.num_tool_calls for t in self.turns)

    def __len__(self) -> int:
        return len(self.prompt_ids) + sum(len(t.action_ids) + len(t.observation_ids) for t in self.turns)

    def context_ids(self) -> list[int]:
        """The full token sequence so far (what the policy conditions on next)."""
        ids = list(self.prompt_ids)
        for t in self.turns:
            ids += t.action_ids
            ids += t.observation_ids
        return ids

    def prefix(self, n_turns: int) -> Trajectory:
        """A copy holding only the first `n_turns` turns (the shared stem of a tree rollout)."""
        new = copy.deepcopy(self)
        new.turns = new.turns[:n_turns]
        new.terminated = new.truncated = new.failed = False
        new.error, new.info = None, {}
        return new

    def to_tensors(self) -> dict[str, torch.Tensor]:
        """1-D tensors aligned with `input_ids`.

        Keys: input_ids, attention_mask, loss_mask (1 only on sampled action tokens), turn_index
        (-1 on prompt/observation tokens), old_logprobs and entropies (0 off-policy), rewards
        (each turn's reward on that turn's last action token; the outcome reward is the last
        turn's, so it lands on the last policy token).
        """
        ids, loss, turn_idx, lps, ents, rewards = list(self.prompt_ids), [], [], [], [], []
        n = len(self.prompt_ids)
        loss += [0] * n
        turn_idx += [-1] * n
        lps += [0.0] * n
        ents += [0.0] * n
        rewards += [0.0] * n
        for k, t in enumerate(self.turns):
            a = len(t.action_ids)
            ids += t.action_ids
            loss += [1] * a
            turn_idx += [k] * a
            lps += list(t.action_logprobs) if len(t.action_logprobs) == a else [0.0] * a
            ent = (
                t.action_entropies
                if t.action_entropies is not None and len(t.action_entropies) == a
                else [0.0] * a
            )
            ents += list(ent)
            rewards += [0.0] * max(a - 1, 0) + ([float(t.reward)] if a else [])
            o = len(t.observation_ids)
            ids += t.observation_ids
            loss += [0] * o
            turn_idx += [-1] * o
            lps += [0.0] * o
            ents += [0.0] * o
            rewards += [0.0] * o
        return {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "attention_mask": torch.ones(len(ids), dtype=torch.long),
            "loss_mask": torch.tensor(loss, dtype=torch.long),
            "turn_index": torch.tensor(turn_idx, dtype=torch.long),
            "old_logprobs": torch.tensor(lps, dtype=torch.float32),
            "entropies": torch.tensor(ents, dtype=torch.float32),
            "rewards": torch.tensor(rewards, dtype=torch.float32),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (for eval reports and replay buffers)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        d = dict(d)
        d["turns"] = [Turn(**t) for t in d.get("turns", [])]
        return cls(**d)
