"""Golden tests for schedules (ALGORITHMS.md §5.4, §8.5, §10.5)."""

from __future__ import annotations

import itertools

import pytest

from agentgym.errors import InvalidConfig
from agentgym.trainers.schedules import (
    cosine_decay,
    cosine_ramp,
    epo_phase_weight,
    linear_interp,
    lr_multiplier,
    zerosearch_noise,
)

STEPS = [0, 50, 100, 150, 200, 250]


def test_cosine_curves():
    assert [cosine_decay(k, 200) for k in STEPS] == pytest.approx([1, 0.8536, 0.5, 0.1464, 0, 0], abs=1e-4)
    assert [cosine_ramp(k, 200) for k in STEPS] == pytest.approx([0, 0.1464, 0.5, 0.8536, 1, 1], abs=1e-4)


def test_epo_phase_weight_oracle():
    got = [epo_phase_weight(e) for e in (0, 30, 75, 76, 100, 150)]
    assert got == pytest.approx([1.0, 0.88987, 0.82707, 0.76863, 0.29430, 0.03983], abs=1e-5)


def test_zerosearch_noise_oracle_and_shape():
    got = [zerosearch_noise(x * 100, 100, 0.0, 0.5) for x in (0, 0.25, 0.5, 0.75, 1.0)]
    assert got == pytest.approx([0, 0.0690, 0.1667, 0.3047, 0.5], abs=1e-4)
    assert zerosearch_noise(500, 100, 0.1, 0.4) == 0.4
    curve = [zerosearch_noise(i, 50, 0.25, 0.5) for i in range(51)]
    assert all(a <= b for a, b in itertools.pairwise(curve))
    assert zerosearch_noise(25, 50, 0.0, 1.0, base=1.0) == pytest.approx(0.5)
    assert zerosearch_noise(25, 50, 0.0, 1.0, base=4.0) < 0.5  # convex
    with pytest.raises(InvalidConfig, match=r"\[0, 1\]"):
        zerosearch_noise(0, 10, -0.1, 0.5)


def test_linear_and_lr():
    assert linear_interp(50, 100, 0.5, 1.0) == pytest.approx(0.75)
    assert [lr_multiplier(s, 10, warmup=2) for s in (0, 1, 2, 9)] == pytest.approx([0.5, 1.0, 1.0, 1.0])
    assert lr_multiplier(2, 10, warmup=2, schedule="cosine") == pytest.approx(1.0)
    assert lr_multiplier(10, 10, warmup=2, schedule="cosine", min_ratio=0.1) == pytest.approx(0.1)
