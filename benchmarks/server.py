"""Env-server and Ray-pool throughput, printed as JSON.

1. Loopback HTTP: `step` on Calculator-v0 through `agentgym serve` (a separate process) with 1 and
   32 concurrent clients (asyncio + httpx, one session each): steps/s and p50/p99 latency, against
   the same steps in-process (ratio).
2. RayEnvPool with 2 workers vs in-process for a tool-heavy env (SearchQA-v0 with BM25 when it is
   registered, else Calculator-v0, named in the output): steps/s over a batch of envs.

    python benchmarks/server.py [--steps 3000] [--ray-envs 16] [--ray-rounds 30] [--skip-ray]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import psutil

import agentgym

ACTION = "<calculator>(12 + 7) * 3 / 4</calculator>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stats(latencies: list[float], wall: float) -> dict[str, float]:
    lat = np.asarray(latencies) * 1000
    return {
        "steps": len(lat),
        "steps_per_s": round(len(lat) / wall, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3),
    }


def in_process(steps: int) -> dict[str, float]:
    env = agentgym.make("agentgym/Calculator-v0", max_turns=10**9)
    env.reset(seed=0)
    lat = []
    start = time.perf_counter()
    for _ in range(steps):
        t = time.perf_counter()
        env.step(ACTION)
        lat.append(time.perf_counter() - t)
    return _stats(lat, time.perf_counter() - start)


async def _client(base: str, steps: int, out: list[float], seed: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        body = {"env_id": "Calculator-v0", "seed": seed, "env_kwargs": {"max_turns": 10**9}}
        sid = (await c.post("/v1/sessions", json=body)).json()["session_id"]
        for _ in range(steps):
            t = time.perf_counter()
            r = await c.post(f"/v1/sessions/{sid}/step", json={"action": ACTION})
            out.append(time.perf_counter() - t)
            r.raise_for_status()
        await c.delete(f"/v1/sessions/{sid}")


async def over_http(base: str, clients: int, steps: int) -> dict[str, float]:
    lat: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*[_client(base, steps // clients, lat, i) for i in range(clients)])
    return _stats(lat, time.perf_counter() - start)


def http_bench(steps: int) -> dict[str, object]:
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "agentgym",
        "serve",
        "Calculator-v0",
        "--port",
        str(port),
        "--max-sessions",
        "1000",
    ]
    server = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        asyncio.run(over_http(base, 4, 400))  # warm-up
        local = in_process(steps)
        proc = psutil.Process(server.pid)
        cpu0 = sum(proc.cpu_times()[:2])
        one = asyncio.run(over_http(base, 1, steps))
        cpu1 = sum(proc.cpu_times()[:2])
        many = asyncio.run(over_http(base, 32, steps))
        cpu2 = sum(proc.cpu_times()[:2])
        # CPU seconds the server spent per step: its capacity on one free core, whatever the load
        one["server_cpu_ms_per_step"] = round(1000 * (cpu1 - cpu0) / one["steps"], 3)
        many["server_cpu_ms_per_step"] = round(1000 * (cpu2 - cpu1) / many["steps"], 3)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "env": "agentgym/Calculator-v0",
        "in_process": local,
        "http_1_client": one,
        "http_32_clients": many,
        "ratio_http32_vs_in_process_steps_per_s": round(many["steps_per_s"] / local["steps_per_s"], 4),
        "targets": {"steps_per_s_32_clients": 500, "p50_ms": 5},
        "load_average_1min": os.getloadavg()[0],
    }


def _tool_heavy_env() -> str:
    ids = {e.id for e in agentgym.list_envs()}
    return "agentgym/SearchQA-v0" if "agentgym/SearchQA-v0" in ids else "agentgym/Calculator-v0"


def _expert_actions(env_id: str, seeds: range) -> dict[int, list[str]]:
    """The expert's actions per seed, recorded once so both runs replay the same work."""
    env = agentgym.make(env_id)
    out = {}
    for seed in seeds:
        env.reset(seed=seed)
        acts: list[str] = []
        while True:
            acts.append(env.unwrapped.oracle_action())
            *_, term, trunc, _ = env.step(acts[-1])
            if term or trunc:
                break
        out[seed] = acts
    return out


def _replay(reset_batch, step_batch, n_envs: int, scripts: dict[int, list[str]]) -> float:
    """Run every scripted episode, `n_envs` at a time in lock-step; return steps/s."""
    seeds = sorted(scripts)
    steps = 0
    start = time.perf_counter()
    for k in range(0, len(seeds), n_envs):
        batch = seeds[k : k + n_envs]
        reset_batch(batch)
        for t in range(max(len(scripts[s]) for s in batch)):
            live = [i for i, s in enumerate(batch) if t < len(scripts[s])]
            step_batch(live, [scripts[batch[i]][t] for i in live])
            steps += len(live)
    return steps / (time.perf_counter() - start)


def ray_bench(n_envs: int, rounds: int) -> dict[str, object]:
    import ray

    from agentgym.distributed import RayEnvPool

    env_id = _tool_heavy_env()
    scripts = _expert_actions(env_id, range(n_envs * rounds))
    local = [agentgym.make(env_id) for _ in range(n_envs)]
    local_sps = _replay(
        lambda seeds: [local[i].reset(seed=s) for i, s in enumerate(seeds)],
        lambda live, acts: [local[i].step(a) for i, a in zip(live, acts, strict=False)],
        n_envs,
        scripts,
    )
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    pool = RayEnvPool(env_id, num_workers=2)
    proxies = pool.make_envs(n_envs)
    startup = time.perf_counter() - t0
    ray_sps = _replay(
        lambda seeds: pool.reset_batch(proxies[: len(seeds)], seeds),
        lambda live, acts: pool.step_batch([proxies[i] for i in live], acts),
        n_envs,
        scripts,
    )
    pool.close()
    ray.shutdown()
    return {
        "env": env_id,
        "note": "SearchQA-v0 was not registered; Calculator-v0 is not tool-heavy"
        if env_id.endswith("Calculator-v0")
        else "",
        "envs_in_lock_step": n_envs,
        "episodes": len(scripts),
        "workers": 2,
        "cpus": os.cpu_count(),
        "ray_startup_s": round(startup, 2),
        "in_process_steps_per_s": round(local_sps, 1),
        "ray_step_batch_steps_per_s": round(ray_sps, 1),
        "ratio_ray_vs_in_process": round(ray_sps / local_sps, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3200)
    ap.add_argument("--ray-envs", type=int, default=16)
    ap.add_argument("--ray-rounds", type=int, default=30)
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()
    out: dict[str, object] = {"server": http_bench(args.steps)}
    if not args.skip_ray:
        out["ray"] = ray_bench(args.ray_envs, args.ray_rounds)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
