"""Batching helpers for trajectory tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

__all__ = ["PAD_VALUES", "pad_batch"]

# Fill value per key on padded positions; anything else pads with 0.
PAD_VALUES: dict[str, int | float] = {"turn_index": -1}


def pad_batch(items: Sequence[Mapping[str, torch.Tensor]], *, pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Right-pad 1-D per-trajectory tensors into (B, T) tensors.

    `input_ids` pads with `pad_id`, `turn_index` with -1, everything else with 0 (so
    `loss_mask` and `attention_mask` are 0 on pads). An `attention_mask` is added if missing.

    >>> b = pad_batch([{"input_ids": torch.tensor([5, 6, 7])}, {"input_ids": torch.tensor([8])}])
    >>> b["input_ids"].tolist(), b["attention_mask"].tolist()
    ([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]])
    """
    if not items:
        raise ValueError("pad_batch needs at least one item")
    keys = list(items[0])
    if "attention_mask" not in keys:
        keys.append("attention_mask")
    T = max(len(it["input_ids"]) for it in items)
    out: dict[str, torch.Tensor] = {}
    for key in keys:
        ref = items[0].get(key, items[0]["input_ids"])
        fill = pad_id if key == "input_ids" else PAD_VALUES.get(key, 0)
        dtype = torch.long if key == "attention_mask" else ref.dtype
        t = torch.full((len(items), T), fill, dtype=dtype)
        for i, it in enumerate(items):
            v = it.get(key)
            n = len(it["input_ids"])
            t[i, :n] = 1 if v is None and key == "attention_mask" else v
        out[key] = t
    return out
