"""Latency of a trivial code cell in each sandbox, against a bare `python -c` subprocess.

Prints one JSON object. Targets (issue 7): process sandbox <= 2x the bare subprocess (the
no-isolation baseline, same interpreter, same run); a persistent-session cell <= 10 ms;
docker numbers are reported when an engine and the image are available.

    python benchmarks/sandbox.py [--n 40] [--docker-host unix:///tmp/agentgym-docker/docker.sock]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

from agentgym.errors import SandboxError
from agentgym.tools.sandbox import make_sandbox

CODE = "print(1 + 1)"


def _timeit(fn: Callable[[], Any], n: int, warmup: int = 3) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "median_ms": round(statistics.median(times) * 1e3, 3),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))] * 1e3, 3),
        "min_ms": round(times[0] * 1e3, 3),
    }


def _check(out: Any) -> None:
    if getattr(out, "stdout", "2\n") != "2\n":
        raise RuntimeError(f"unexpected sandbox output: {out!r}")


def bench_process(n: int) -> dict[str, Any]:
    res: dict[str, Any] = {}
    with make_sandbox("process", timeout=10) as sb:
        python = sb.python
        res["bare_subprocess"] = _timeit(
            lambda: subprocess.run([python, "-c", CODE], capture_output=True, check=True), n
        )
        res["bare_subprocess_isolated_flag"] = _timeit(
            lambda: subprocess.run([python, "-I", "-c", CODE], capture_output=True, check=True), n
        )
        res["process_sandbox"] = _timeit(lambda: _check(sb.run(CODE)), n)
        res["process_isolation"] = sb.isolation
        with sb.session() as s:
            res["process_session_cell"] = _timeit(lambda: _check(s.run(CODE)), n * 5)
    with make_sandbox("process", timeout=10, isolation="unshare") as fb:
        res["process_fallback_unshare"] = _timeit(lambda: _check(fb.run(CODE)), n)
    res["ratio_process_vs_bare"] = round(
        res["process_sandbox"]["median_ms"] / res["bare_subprocess"]["median_ms"], 3
    )
    res["target_process_le_2x_bare"] = res["ratio_process_vs_bare"] <= 2.0
    res["target_session_cell_le_10ms"] = res["process_session_cell"]["median_ms"] <= 10.0
    return res


def bench_docker(n: int, base_url: str | None) -> dict[str, Any]:
    try:
        sb = make_sandbox("docker", timeout=10, base_url=base_url, pool_size=2)
    except SandboxError as exc:
        return {"docker": f"skipped: {exc}"}
    res: dict[str, Any] = {}
    try:
        container = sb._take()  # a warm container: raw `docker exec` latency, no boot script
        try:
            api = sb.client.api

            def raw_exec() -> None:
                eid = api.exec_create(container.id, ["python3", "-c", CODE], user=sb.user)["Id"]
                api.exec_start(eid)

            res["docker_exec_warm_container"] = _timeit(raw_exec, n)
        finally:
            sb._discard(container)
        time.sleep(2)  # let the pool refill
        res["docker_sandbox_run"] = _timeit(lambda: _check(sb.run(CODE)), max(10, n // 2))
        with sb.session() as s:
            res["docker_session_cell"] = _timeit(lambda: _check(s.run(CODE)), n * 2)
    finally:
        sb.close()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="timed repetitions per measurement")
    ap.add_argument(
        "--docker-host",
        default=os.environ.get("DOCKER_HOST"),
        help="Docker-API socket (default: $DOCKER_HOST)",
    )
    args = ap.parse_args()
    out: dict[str, Any] = {
        "benchmark": "sandbox_latency",
        "code": CODE,
        "n": args.n,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m": os.getloadavg()[0],
        },
    }
    out.update(bench_process(args.n))
    out.update(bench_docker(args.n, args.docker_host))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
