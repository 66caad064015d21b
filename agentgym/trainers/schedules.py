"""Stateless schedules of (step, total): coefficient curves used by algorithms and the trainer.

Oracles: ALGORITHMS.md §5.4 (EPO phase weight), §8.5 (SPEAR cosine curves), §10.5 (ZeroSearch).

>>> round(cosine_decay(50, 200), 4), round(zerosearch_noise(50, 200, 0.0, 0.5), 4)
(0.8536, 0.069)
"""

from __future__ import annotations

import math

from agentgym.errors import InvalidConfig

__all__ = [
    "cosine_decay",
    "cosine_ramp",
    "epo_phase_weight",
    "linear_interp",
    "lr_multiplier",
    "zerosearch_noise",
]


def _progress(step: float, total: float) -> float:
    if total <= 0:
        raise InvalidConfig(f"total must be > 0, got {total}")
    return min(max(step / total, 0.0), 1.0)


def cosine_decay(step: float, total: float) -> float:
    """½(1 + cos(π·min(step, total)/total)): 1 at step 0, 0 from `total` on (SPEAR tool bonus)."""
    return 0.5 * (1.0 + math.cos(math.pi * _progress(step, total)))


def cosine_ramp(step: float, total: float) -> float:
    """1 − cosine_decay: 0 at step 0, 1 from `total` on (SPEAR self-imitation weight)."""
    return 1.0 - cosine_decay(step, total)


def linear_interp(step: float, total: float, start: float, end: float) -> float:
    """start + (end − start)·min(step/total, 1) (IGPO reward-weight curriculum)."""
    return start + (end - start) * _progress(step, total)


def epo_phase_weight(epoch: float, max_epochs: int = 150) -> float:
    """EPO's piecewise-exponential smoothing weight (ALGORITHMS.md §5.1).

    w(e) = 1 − 0.2(1 − e^{−2e/h}) for e ≤ h = max_epochs // 2, then 0.8·e^{−3(e−h)/(max_epochs−h)}.
    The official code hard-codes max_epochs = 150; the jump at h (0.827 → 0.8) is theirs.
    """
    if max_epochs < 2:
        raise InvalidConfig(f"max_epochs must be >= 2, got {max_epochs}")
    h = max_epochs // 2
    if epoch <= h:
        return 1.0 - 0.2 * (1.0 - math.exp(-2.0 * epoch / h))
    return 0.8 * math.exp(-3.0 * (epoch - h) / (max_epochs - h))


def zerosearch_noise(step: float, total: float, p_start: float, p_end: float, base: float = 4.0) -> float:
    """ZeroSearch noise probability p_i = p_s + (b^{i/m} − 1)/(b − 1)·(p_e − p_s) (§10.3).

    Convex for b > 1, linear as b → 1, and exactly p_end once step ≥ total.
    """
    if not (0.0 <= p_start <= 1.0 and 0.0 <= p_end <= 1.0):
        raise InvalidConfig(f"noise probabilities must lie in [0, 1], got p_start={p_start}, p_end={p_end}")
    if base <= 0:
        raise InvalidConfig(f"base must be > 0, got {base}")
    x = _progress(step, total)
    if x >= 1.0:
        return p_end
    frac = x if abs(base - 1.0) < 1e-12 else (base**x - 1.0) / (base - 1.0)
    return p_start + frac * (p_end - p_start)


def lr_multiplier(
    step: int, total: int, *, warmup: int = 0, schedule: str = "constant", min_ratio: float = 0.0
) -> float:
    """Learning-rate factor: linear warm-up over `warmup` steps, then constant or cosine to `min_ratio`."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        span = max(total - warmup, 1)
        return min_ratio + (1.0 - min_ratio) * cosine_decay(step - warmup, span)
    raise InvalidConfig(f"lr schedule must be 'constant' or 'cosine', got {schedule!r}")
