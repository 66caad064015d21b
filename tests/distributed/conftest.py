"""One local Ray runtime and one 2-worker Calculator pool for the distributed tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def pool():
    ray = pytest.importorskip("ray", reason="the Ray pool tests need the `ray` extra")
    from agentgym.distributed import RayEnvPool

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    p = RayEnvPool("Calculator-v0", num_workers=2)
    yield p
    p.close()
    if started_here:
        ray.shutdown()
