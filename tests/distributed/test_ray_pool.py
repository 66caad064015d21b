"""RayEnvPool: proxies behave exactly like local envs; a worker crash fails only its episodes."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import time
import warnings

import gymnasium
import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the Ray pool tests need the `ray` extra")

import agentgym  # noqa: E402
from agentgym.core.checks import GARBAGE_ACTIONS  # noqa: E402
from agentgym.distributed import EnvProxy, EnvWorkerCrashed, RayEnvPool  # noqa: E402
from agentgym.distributed.worker import EnvWorker  # noqa: E402
from agentgym.errors import ProviderError  # noqa: E402

SMALL_GARBAGE = [a for a in GARBAGE_ACTIONS if len(a) < 1000]


def _play(env, seed: int, step=None) -> list:
    """A scripted policy: the expert, with seeded garbage actions mixed in."""
    step = step or env.step
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    trace = [obs, info]
    for _ in range(6):
        action = env.unwrapped.oracle_action() if rng.random() < 0.7 else str(rng.choice(SMALL_GARBAGE))
        out = step(action)
        trace += [action, list(out)]
        if out[2] or out[3]:
            break
    return trace


def test_proxies_are_gymnasium_envs_and_reproduce_local_episodes_from_threads(pool):
    envs = pool.make_envs(8)
    assert {e.worker for e in envs} == {0, 1}
    assert all(isinstance(e, gymnasium.Env) for e in envs)
    assert envs[0].spec.id == "agentgym/Calculator-v0"
    local = agentgym.make("agentgym/Calculator-v0")
    assert envs[0].unwrapped.system_prompt == local.unwrapped.system_prompt
    with cf.ThreadPoolExecutor(8) as ex:  # how the collector drives its envs
        remote = list(ex.map(_play, envs, range(8)))
    assert remote == [_play(local, s) for s in range(8)]
    for e in envs:
        e.close()


def test_batched_reset_and_step_equal_local(pool):
    envs = pool.make_envs(6)
    locals_ = [agentgym.make("agentgym/Calculator-v0") for _ in envs]
    seeds = list(range(20, 26))
    assert pool.reset_batch(envs, seeds) == [e.reset(seed=s) for e, s in zip(locals_, seeds, strict=False)]
    for _ in range(2):
        actions = [e.unwrapped.oracle_action() for e in locals_]
        assert pool.step_batch(envs, actions) == [e.step(a) for e, a in zip(locals_, actions, strict=False)]
    for e in envs:
        e.close()


def test_fork_is_independent(pool):
    env = pool.make_env()
    env.reset(seed=5)
    env.step(env.oracle_action())
    copy = agentgym.fork(env)
    assert isinstance(copy, EnvProxy) and copy.slot != env.slot
    answer = env.oracle_action()
    assert copy.step(answer)[1:3] == (1.0, True)
    assert env.step(answer)[1:3] == (1.0, True)  # the original had not been advanced by the copy


def test_worker_crash_fails_only_its_episodes_and_the_worker_restarts(pool):
    envs = pool.make_envs(4)
    pool.reset_batch(envs, [0, 1, 2, 3])
    victim = envs[0].worker
    restarts = pool.restarts
    os.kill(pool.worker_pids()[victim], signal.SIGKILL)
    time.sleep(0.3)
    results = pool.step_batch(
        envs, [e.oracle_action() if e.worker != victim else "x" for e in envs], return_exceptions=True
    )
    for e, r in zip(envs, results, strict=False):
        if e.worker == victim:
            assert isinstance(r, EnvWorkerCrashed)
        else:
            assert r[0].startswith("<information>")  # the other worker's episodes go on
    with pytest.raises(EnvWorkerCrashed, match="crashed"):
        envs[0].step("x")
    assert pool.restarts == restarts + 1
    # a reset starts a fresh episode on the new worker, identical to a local one
    local = agentgym.make("agentgym/Calculator-v0")
    assert _play(envs[0], 9) == _play(local, 9)
    assert pool.stats().restarts == restarts + 1


def test_worker_unit_batches_report_errors_per_env():
    w = EnvWorker("Calculator-v0")
    w.open(0)
    out = w.reset_batch([(0, 1, None), (7, 1, None)])
    assert out[0][0] == "ok" and out[1][0] == "error" and isinstance(out[1][1], KeyError)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert w.step_batch([(0, "<answer>0</answer>")])[0][1][2] is True


def test_make_envs_local_or_on_ray(pool):
    from agentgym.distributed import make_envs

    local = make_envs("Calculator-v0", 2)
    assert all(not isinstance(e.unwrapped, EnvProxy) for e in local)
    remote = make_envs(
        "Calculator-v0", 3, env_workers=1, num_cpus_per_worker=0
    )  # the fixture's pool holds both CPUs
    assert all(isinstance(e, EnvProxy) for e in remote) and len({e.worker for e in remote}) == 1
    assert remote[0].reset(seed=3) == local[0].reset(seed=3)
    remote[0].pool.close()


def test_unplaceable_workers_fail_fast_with_advice(pool):
    with pytest.raises(ProviderError, match="CPUs free"):
        RayEnvPool("Calculator-v0", num_workers=1, num_cpus_per_worker=64, startup_timeout=1)
