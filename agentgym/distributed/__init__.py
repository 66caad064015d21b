"""Ray-distributed env workers: `RayEnvPool` hands out env proxies usable as plain gymnasium envs.

Needs the `ray` extra; importing this package does not import Ray until a pool is built.
"""

from __future__ import annotations

from agentgym.distributed.pool import EnvProxy, EnvWorkerCrashed, PoolStats, RayEnvPool, make_envs

__all__ = ["EnvProxy", "EnvWorkerCrashed", "PoolStats", "RayEnvPool", "make_envs"]
