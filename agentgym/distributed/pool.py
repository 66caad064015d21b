"""`RayEnvPool`: env instances in Ray actors, handed out as ordinary gymnasium envs.

Each worker actor holds many envs (slots). `pool.make_envs(n)` returns `EnvProxy` objects —
`gymnasium.Env`s whose `reset`/`step`/`close` run on the actor — so the collector, trainer and
evaluator use them like local envs; a collector that steps its envs from a thread pool gets
one round trip per env in parallel, and `pool.step_batch` sends one call per worker.

A crashed worker fails only the episodes it held: their next call raises `EnvWorkerCrashed`
(an infrastructure failure: the collector marks the trajectory `failed`), the pool starts a
fresh actor in its place, and the next `reset` of those proxies opens their env there.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium

from agentgym.core.parsing import ActionParser
from agentgym.distributed.worker import EnvWorker
from agentgym.errors import InvalidConfig, ProviderError
from agentgym.server.sessions import DescribedEnv

__all__ = ["EnvProxy", "EnvWorkerCrashed", "PoolStats", "RayEnvPool", "make_envs"]

log = logging.getLogger(__name__)


class EnvWorkerCrashed(ProviderError):
    """The Ray actor holding this env died; the episode is lost (call `reset` to start another)."""


@dataclass
class PoolStats:
    workers: int
    envs: int
    restarts: int
    failed_calls: int


@dataclass
class _Worker:
    actor: Any
    generation: int = 0
    slots: int = 0


def _ray():
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError("RayEnvPool needs Ray: pip install 'agentgym[ray]'") from exc
    return ray


class RayEnvPool:
    """A pool of Ray actors running envs.

    Args:
        env: a registered env id, or a picklable callable returning an env (for unregistered envs).
        num_workers: number of actors.
        env_kwargs: constructor kwargs for `agentgym.make(env, **env_kwargs)`.
        address: Ray cluster address (`ray.init(address=...)`); None starts or joins a local Ray.
        num_cpus_per_worker: CPUs Ray reserves per actor.
        ray_init_kwargs: extra `ray.init` kwargs when this pool starts Ray.
        startup_timeout: seconds to wait for the actors to be placed and started.

    >>> pool = RayEnvPool("Calculator-v0", num_workers=2)  # doctest: +SKIP
    >>> envs = pool.make_envs(8)  # doctest: +SKIP
    >>> obs, info = envs[0].reset(seed=0)  # doctest: +SKIP
    """

    def __init__(
        self,
        env: str | Callable[[], gymnasium.Env],
        num_workers: int = 2,
        *,
        env_kwargs: dict[str, Any] | None = None,
        address: str | None = None,
        num_cpus_per_worker: float = 1.0,
        ray_init_kwargs: dict[str, Any] | None = None,
        startup_timeout: float = 120.0,
    ):
        if num_workers < 1:
            raise InvalidConfig(f"num_workers must be >= 1, got {num_workers}")
        ray = _ray()
        if not ray.is_initialized():
            kw = {"include_dashboard": False, "log_to_driver": False, **(ray_init_kwargs or {})}
            ray.init(address=address, **kw)
        self._ray = ray
        self.env = env
        self.env_kwargs = dict(env_kwargs or {})
        self._actor_cls = ray.remote(num_cpus=num_cpus_per_worker, max_restarts=0)(EnvWorker)
        self._workers = [_Worker(self._start_actor()) for _ in range(num_workers)]
        self._lock = threading.Lock()
        self._slot_ids = itertools.count()
        self.restarts = 0
        self.failed_calls = 0
        self._envs = 0
        try:  # fail now, with advice, if the actors cannot be placed
            self._ray.get([w.actor.ping.remote() for w in self._workers], timeout=startup_timeout)
        except self._ray.exceptions.GetTimeoutError:
            self.close()
            free = ray.available_resources().get("CPU", 0)
            raise ProviderError(
                f"Ray did not start {num_workers} env workers ({num_cpus_per_worker:g} CPU each) within "
                f"{startup_timeout:g} s; the cluster has {free:g} CPUs free. Use fewer workers, a smaller "
                "num_cpus_per_worker (0 is allowed for light envs), or a larger cluster."
            ) from None

    def _start_actor(self) -> Any:
        return self._actor_cls.remote(self.env, self.env_kwargs)

    # ----------------------------------------------------------------- proxies
    def make_envs(self, n: int) -> list[EnvProxy]:
        """`n` envs spread evenly over the workers (not yet reset)."""
        return [self._new_proxy() for _ in range(n)]

    def make_env(self) -> EnvProxy:
        return self._new_proxy()

    def _new_proxy(self, worker: int | None = None) -> EnvProxy:
        with self._lock:
            if worker is None:
                worker = min(range(len(self._workers)), key=lambda i: self._workers[i].slots)
            self._workers[worker].slots += 1
            self._envs += 1
            slot = next(self._slot_ids)
            generation = self._workers[worker].generation
        proxy = EnvProxy(self, worker, slot, generation)
        proxy._set_described(self._call(proxy, "open", slot, opening=True))
        return proxy

    # ----------------------------------------------------------------- calls and crashes
    def _call(self, proxy: EnvProxy, method: str, *args: Any, opening: bool = False) -> Any:
        w = self._workers[proxy.worker]
        if proxy.generation != w.generation and not opening:
            raise self._lost(proxy)
        try:
            return self._ray.get(getattr(w.actor, method).remote(*args))
        except self._ray.exceptions.RayActorError as exc:
            self._restart(proxy.worker, w.generation, exc)
            raise self._lost(proxy) from exc

    def _lost(self, proxy: EnvProxy) -> EnvWorkerCrashed:
        with self._lock:
            self.failed_calls += 1
        return EnvWorkerCrashed(
            f"the Ray worker {proxy.worker} holding env slot {proxy.slot} crashed; this episode failed and is "
            "excluded from training. Call reset() to start a new episode on the restarted worker."
        )

    def _restart(self, index: int, generation: int, cause: BaseException) -> None:
        """Replace worker `index` (once per crash, however many proxies noticed it)."""
        with self._lock:
            w = self._workers[index]
            if w.generation != generation:
                return
            log.warning("Ray env worker %d died (%s); starting a new one", index, type(cause).__name__)
            try:
                self._ray.kill(w.actor, no_restart=True)
            except Exception as exc:  # the actor may be gone already
                log.debug("killing dead worker %d: %s", index, exc)
            w.actor = self._start_actor()
            w.generation += 1
            self.restarts += 1

    def _reopen(self, proxy: EnvProxy) -> None:
        """Open the proxy's env on the restarted worker (its previous episode is lost)."""
        proxy.generation = self._workers[proxy.worker].generation
        proxy._set_described(self._call(proxy, "open", proxy.slot, opening=True))

    # ----------------------------------------------------------------- batched calls
    def _batch(
        self, method: str, proxies: Sequence[EnvProxy], args: Sequence[tuple], return_exceptions: bool
    ) -> list:
        """One `method` call per worker over its proxies; per-env exceptions in place."""
        if method == "reset_batch":
            for p in proxies:
                if p.generation != self._workers[p.worker].generation:
                    self._reopen(p)
        groups: dict[int, list[int]] = {}
        for i, p in enumerate(proxies):
            groups.setdefault(p.worker, []).append(i)
        out: list[Any] = [None] * len(proxies)
        pending = []
        for wi, idx in groups.items():
            w = self._workers[wi]
            if any(proxies[i].generation != w.generation for i in idx):  # episodes lost in an earlier crash
                for i in idx:
                    out[i] = self._lost(proxies[i]) if proxies[i].generation != w.generation else None
                idx = [i for i in idx if proxies[i].generation == w.generation]
            if idx:
                ref = getattr(w.actor, method).remote([(proxies[i].slot, *args[i]) for i in idx])
                pending.append((wi, w.generation, idx, ref))
        for wi, generation, idx, ref in pending:
            try:
                results = self._ray.get(ref)
            except self._ray.exceptions.RayActorError as exc:
                self._restart(wi, generation, exc)
                results = [("error", self._lost(proxies[i])) for i in idx]
            for i, (_, value) in zip(idx, results, strict=False):
                out[i] = value
        if not return_exceptions:
            for value in out:
                if isinstance(value, BaseException):
                    raise value
        return out

    def reset_batch(
        self,
        envs: Sequence[EnvProxy],
        seeds: Sequence[int | None],
        options: Sequence[dict[str, Any] | None] | None = None,
        *,
        return_exceptions: bool = False,
    ) -> list[tuple[str, dict[str, Any]] | BaseException]:
        """Reset many proxies with one Ray call per worker; results in input order."""
        opts = options if options is not None else [None] * len(envs)
        return self._batch(
            "reset_batch", envs, [(s, o) for s, o in zip(seeds, opts, strict=False)], return_exceptions
        )

    def step_batch(
        self, envs: Sequence[EnvProxy], actions: Sequence[Any], *, return_exceptions: bool = False
    ) -> list[tuple[str, float, bool, bool, dict[str, Any]] | BaseException]:
        """Step many proxies with one Ray call per worker; results in input order.

        With `return_exceptions=True` a failed env's entry is its exception (e.g.
        `EnvWorkerCrashed`) and the other envs' results are still returned.
        """
        return self._batch("step_batch", envs, [(a,) for a in actions], return_exceptions)

    def fork_batch(self, envs: Sequence[EnvProxy]) -> list[EnvProxy]:
        return [e.fork_unwrapped() for e in envs]

    # ----------------------------------------------------------------- introspection, shutdown
    def worker_pids(self) -> list[int]:
        return self._ray.get([w.actor.pid.remote() for w in self._workers])

    def stats(self) -> PoolStats:
        return PoolStats(len(self._workers), self._envs, self.restarts, self.failed_calls)

    def close(self) -> None:
        """Kill the actors (the Ray runtime itself is left running)."""
        for w in self._workers:
            try:
                self._ray.kill(w.actor, no_restart=True)
            except Exception as exc:  # shutting down: nothing useful to do with the error
                log.debug("killing worker: %s", exc)
        self._workers = []

    def __enter__(self) -> RayEnvPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EnvProxy(DescribedEnv):
    """A `gymnasium.Env` whose env lives in a `RayEnvPool` worker."""

    def __init__(self, pool: RayEnvPool, worker: int, slot: int, generation: int):
        self.pool = pool
        self.worker = worker
        self.slot = slot
        self.generation = generation
        self._described: dict[str, Any] = {}
        self._parser: ActionParser | None = None
        self._closed = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if self.generation != self.pool._workers[self.worker].generation:
            self.pool._reopen(self)
        return self.pool._call(self, "reset", self.slot, seed, options)

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return self.pool._call(self, "step", self.slot, action)

    def close(self) -> None:
        if not self._closed and self.pool._workers:
            self._closed = True
            try:
                self.pool._call(self, "close", self.slot)
            except EnvWorkerCrashed:
                pass  # the env died with its worker

    def fork_unwrapped(self) -> EnvProxy:
        """A new slot on the same worker holding an independent copy of this env."""
        with self.pool._lock:
            slot = next(self.pool._slot_ids)
            self.pool._workers[self.worker].slots += 1
            self.pool._envs += 1
        self.pool._call(self, "fork", self.slot, slot)
        new = EnvProxy(self.pool, self.worker, slot, self.generation)
        new._set_described(self._described)
        return new

    def _set_described(self, described: dict[str, Any]) -> None:
        self._described = dict(described)
        self._parser = None
        spec_id = described.get("spec_id")
        if spec_id and spec_id in gymnasium.registry:
            self.spec = gymnasium.registry[spec_id]

    def oracle_action(self) -> str:
        return self.pool._call(self, "call", self.slot, "oracle_action", ())

    def state_dict(self) -> dict[str, Any]:
        return self.pool._call(self, "call", self.slot, "state_dict", ())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool._call(self, "call", self.slot, "load_state_dict", (state,))

    def remote_attr(self, name: str) -> Any:
        """Read any other attribute of the remote env (it must be picklable)."""
        return self.pool._call(self, "attr", self.slot, name)

    def __repr__(self) -> str:
        return f"<EnvProxy {self.pool.env!r} worker={self.worker} slot={self.slot}>"


def make_envs(
    env_id: str,
    n: int,
    *,
    env_workers: int = 0,
    ray_address: str | None = None,
    num_cpus_per_worker: float = 1.0,
    **env_kwargs: Any,
) -> list[gymnasium.Env]:
    """`n` envs for a collector: local ones, or proxies on `env_workers` Ray actors.

    The body of a CLI's `--env-workers N [--ray-address ADDR]` flags; the proxies keep their pool alive.
    """
    if env_workers <= 0:
        import agentgym

        return [agentgym.make(env_id, **env_kwargs) for _ in range(n)]
    pool = RayEnvPool(
        env_id,
        env_workers,
        env_kwargs=env_kwargs,
        address=ray_address,
        num_cpus_per_worker=num_cpus_per_worker,
    )
    return list(pool.make_envs(n))
