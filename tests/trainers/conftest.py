"""Fixtures for trainer tests: the tiny policy (built once per session, cached on disk) and small configs."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="session")
def tiny_policy_session():
    from agentgym.llm import load_policy

    return load_policy("tiny", device="cpu")


@pytest.fixture
def tiny_policy(tiny_policy_session):
    """A fresh copy per test, so updates in one test never leak into another."""
    from agentgym.llm.hf import HFPolicy

    p = tiny_policy_session
    return HFPolicy(copy.deepcopy(p.model), p.tokenizer, chat=p.chat)
