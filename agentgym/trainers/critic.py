"""A token-level value model for PPO: a copy of the policy's transformer body plus a scalar head."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["ValueModel"]


class ValueModel(nn.Module):
    """V(s_t) for every position, aligned with `input_ids` like the policy's log-probs.

    `values[:, t]` is the value of the state *before* token t (read from the hidden state at
    t − 1), so it pairs with log π(token_t | tokens_<t); position 0 gets 0. The body starts as a
    copy of the policy's (verl initialises its critic from the actor too); the head starts at 0.
    """

    def __init__(self, causal_lm: Any):
        super().__init__()
        self.body = copy.deepcopy(getattr(causal_lm, "base_model", causal_lm))
        hidden = int(causal_lm.config.hidden_size)
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        device = self.head.weight.device
        ids = batch["input_ids"].to(device)
        mask = batch.get("attention_mask")
        mask = torch.ones_like(ids) if mask is None else mask.to(device)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        h = self.body(
            input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False
        ).last_hidden_state  # (B, T, C)
        v = self.head(h[:, :-1]).squeeze(-1)  # (B, T-1): value before token t = head(h_{t-1})
        return torch.cat([v.new_zeros(ids.shape[0], 1), v], 1) * mask
