"""The ZeroSearch noise curriculum (ALGORITHMS.md §10.3, oracles §10.5) as the simulators use it."""

from __future__ import annotations

import itertools

import pytest

from agentgym.errors import InvalidConfig
from agentgym.tools.search.simulated import CorpusSimulator
from agentgym.trainers.schedules import zerosearch_noise


@pytest.mark.parametrize(
    ("frac", "expected"), [(0.0, 0.0), (0.25, 0.0690), (0.5, 0.1667), (0.75, 0.3047), (1.0, 0.5)]
)
def test_golden_values(frac, expected):
    assert zerosearch_noise(frac * 200, 200, 0.0, 0.5, 4.0) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(
    ("p_s", "p_e", "b"), [(0.0, 0.5, 4.0), (0.25, 0.5, 4.0), (0.0, 0.75, 2.0), (0.1, 1.0, 10.0)]
)
def test_monotone_convex_and_exact_endpoints(p_s, p_e, b):
    m = 203
    ps = [zerosearch_noise(i, m, p_s, p_e, b) for i in range(m + 20)]
    assert ps[0] == p_s and ps[m] == p_e and all(p == p_e for p in ps[m:])
    assert all(a <= c for a, c in itertools.pairwise(ps))
    second = [ps[i - 1] - 2 * ps[i] + ps[i + 1] for i in range(1, m)]
    assert min(second) >= -1e-12  # convex for b > 1


def test_base_one_is_linear_and_bad_parameters_are_rejected():
    assert zerosearch_noise(30, 100, 0.0, 0.5, 1.0 + 1e-9) == pytest.approx(0.15, abs=1e-6)
    assert zerosearch_noise(30, 100, 0.0, 0.5, 1.0) == pytest.approx(0.15)
    with pytest.raises(InvalidConfig, match="noise probabilities"):
        zerosearch_noise(0, 10, 0.0, 1.5)


def test_simulator_follows_the_trainer_progress(world, bm25):
    sim = CorpusSimulator(world, retriever=bm25, p_start=0.0, p_end=0.5, total_steps=100)
    assert sim.noise_p == 0.0
    sim.set_training_progress(50, 200)
    assert sim.noise_p == pytest.approx(zerosearch_noise(50, 200, 0.0, 0.5))
    sim.set_training_progress(500, 200)
    assert sim.noise_p == 0.5
    with pytest.raises(InvalidConfig, match="grounding"):
        CorpusSimulator(world, retriever=bm25, grounding="oracle")
