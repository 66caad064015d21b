"""The docstring examples of this issue's modules run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["agentgym.trainers.arpo", "agentgym.trainers.aepo", "agentgym.trainers.spear", "agentgym.trainers.replay",
           "agentgym.trainers.archer", "agentgym.trainers.losses", "agentgym.rollout.tree", "agentgym.envs.guess"]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
