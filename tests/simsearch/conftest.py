"""Fixtures for the simulated-search tests: a private cache dir, a small world, a fresh accountant."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = os.environ.get("AGENTGYM_CACHE_DIR")
    os.environ["AGENTGYM_CACHE_DIR"] = str(tmp_path_factory.mktemp("agentgym-simsearch-cache"))
    yield
    if old is None:
        os.environ.pop("AGENTGYM_CACHE_DIR", None)
    else:
        os.environ["AGENTGYM_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def acct():
    """Each test records on its own accountant, so totals are exact and never leak into other tests."""
    from agentgym.tools.accounting import Accountant, using

    with using(Accountant()) as a:
        yield a


@pytest.fixture(scope="session")
def world():
    from agentgym.envs.worlds import generate_world

    return generate_world(seed=3, num_docs=200)


@pytest.fixture(scope="session")
def bm25(world):
    from agentgym.tools.search import make_retriever

    return make_retriever("bm25", corpus=world)
