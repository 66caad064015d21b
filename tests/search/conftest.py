"""Fixtures for search tests: a private cache dir and small generated worlds."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = os.environ.get("AGENTGYM_CACHE_DIR")
    os.environ["AGENTGYM_CACHE_DIR"] = str(tmp_path_factory.mktemp("agentgym-cache"))
    yield
    if old is None:
        os.environ.pop("AGENTGYM_CACHE_DIR", None)
    else:
        os.environ["AGENTGYM_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def small_world():
    from agentgym.envs.worlds import generate_world

    return generate_world(seed=7, num_docs=300)


@pytest.fixture(scope="session")
def small_bm25(small_world):
    from agentgym.tools.search import make_retriever

    return make_retriever("bm25", corpus=small_world, cache=False)
