"""Text-game adapters vs the packages called directly: steps/s under the expert, generation time.

For each TextWorld generator (and household / ALFWorld-format games, and ScienceWorld) the same
gold command sequence is played (a) through the raw package, requesting the same information
the adapter needs, and (b) through the agentgym env with `oracle_action()`; the ratio
raw_steps_per_s / adapter_steps_per_s is the adapter's overhead (target <= 1.5). Game
generation time is measured on an empty cache. Prints one JSON object.

    python benchmarks/textworlds.py --seeds 3 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import agentgym
from agentgym.envs.textgames.pddl import demangle_ids
from agentgym.envs.textgames.textworld import generate_game

warnings.filterwarnings("ignore", message=".*is not fully supported.*")
# TextWorld's engines run inside this process: CPU time is robust to other load on the machine.
# ScienceWorld runs in a JVM (another process), so it is timed on the wall clock.
_clock = time.process_time


def _adapter_run(env: Any, task_id: str, clock: Any = None) -> tuple[int, float, bool]:
    clock = clock or _clock
    env.reset(options={"task": task_id})
    n, won, t0 = 0, False, clock()
    while True:
        *_, term, trunc, info = env.step(env.unwrapped.oracle_action())
        n += 1
        if term or trunc:
            won = bool(info["won"])
            break
    return n, clock() - t0, won


def _raw_textworld(path: Path, walkthrough: list[str] | None, minimal: bool) -> tuple[int, float, list[str]]:
    import textworld

    if minimal:
        infos = textworld.EnvInfos(score=True, won=True, lost=True, extras=["walkthrough"])
    else:
        infos = textworld.EnvInfos(
            admissible_commands=True, score=True, max_score=True, won=True, lost=True, moves=True,
            facts=True, objective=True, policy_commands=True, extras=["walkthrough"],
        )  # fmt: skip
    env = textworld.start(str(path), request_infos=infos)
    state = env.reset()
    walk = walkthrough or list(state["extra.walkthrough"])
    t0 = _clock()
    for cmd in walk:
        state, _, _ = env.step(cmd)
    dt = _clock() - t0
    env.close()
    assert state["won"], "the raw walkthrough must win, or the baseline measures nothing"
    return len(walk), dt, walk


def _raw_pddl(path: Path) -> tuple[int, float]:
    import textworld
    from textworld.envs.pddl import PddlEnv

    env = PddlEnv(textworld.EnvInfos(admissible_commands=True, won=True, facts=True, moves=True))
    env.load(str(path))
    names = demangle_ids(info.id for info in env._entity_infos.values())  # as ALFWorld's AlfredDemangler
    for info in env._entity_infos.values():
        info.name = names[info.id]
    env.reset()
    walk = json.loads(Path(path).read_text())["walkthrough"]
    t0 = _clock()
    for cmd in walk:
        state, _, _ = env.step(cmd)
    dt = _clock() - t0
    assert state["won"], "the raw walkthrough must win, or the baseline measures nothing"
    return len(walk), dt


def bench_textworld(game: str, seeds: int, repeats: int, cache: Path) -> dict[str, Any]:
    gen = []
    for s in range(seeds):
        t0 = time.perf_counter()  # wall: generation compiles in a subprocess
        generate_game(game, 1, s, cache_dir=cache)
        gen.append(time.perf_counter() - t0)
    env = agentgym.make("agentgym/TextWorld-v0", game=game, difficulty=1, cache_dir=str(cache))
    raw_n = raw_t = min_t = ad_n = ad_t = 0.0
    wins = 0
    for _ in range(repeats):
        for s in range(seeds):
            path = generate_game(game, 1, s, cache_dir=cache)
            n, dt, wins_ = _adapter_run(env, f"{game}-d1-s{s}")
            ad_n, ad_t, wins = ad_n + n, ad_t + dt, wins + wins_
            if game == "household":
                n, dt = _raw_pddl(path)
                raw_n, raw_t = raw_n + n, raw_t + dt
            else:
                n, dt, walk = _raw_textworld(path, None, minimal=False)
                raw_n, raw_t = raw_n + n, raw_t + dt
                min_t += _raw_textworld(path, walk, minimal=True)[1]
    env.close()
    raw_sps, ad_sps = raw_n / raw_t, ad_n / ad_t
    out = {
        "clock": "cpu",
        "generate_s_per_game": round(sum(gen) / len(gen), 3),
        "raw_steps_per_s": round(raw_sps, 1),
        "adapter_steps_per_s": round(ad_sps, 1),
        "overhead_ratio": round(raw_sps / ad_sps, 3),
        "oracle_wins": f"{wins}/{seeds * repeats}",
    }
    if min_t:
        out["raw_minimal_infos_steps_per_s"] = round(raw_n / min_t, 1)
    return out


def bench_scienceworld(task: str, repeats: int) -> dict[str, Any]:
    from scienceworld import ScienceWorldEnv

    sim = ScienceWorldEnv("", envStepLimit=100_000)
    env = agentgym.make("agentgym/ScienceWorld-v0", task=task, reproducible=False)
    raw_n = raw_t = ad_n = ad_t = 0.0
    wins = 0
    for _ in range(repeats):  # interleaved, so both see the same machine load
        sim.load(task, 0, "", generateGoldPath=True)
        sim.reset()
        gold = sim.get_gold_action_sequence()
        t0 = time.perf_counter()
        for cmd in gold:
            sim.step(cmd)
        raw_n, raw_t = raw_n + len(gold), raw_t + time.perf_counter() - t0
        n, dt, won = _adapter_run(env, f"{task}-v0", clock=time.perf_counter)
        ad_n, ad_t, wins = ad_n + n, ad_t + dt, wins + won
    sim.close()
    env.close()
    env = agentgym.make("agentgym/ScienceWorld-v0", task=task, reproducible=True)
    env.reset(options={"task": f"{task}-v0"})
    t1 = time.perf_counter()
    env.reset(options={"task": f"{task}-v0"})
    reset_fresh_jvm = time.perf_counter() - t1
    env.close()
    raw_sps, ad_sps = raw_n / raw_t, ad_n / ad_t
    return {
        "clock": "wall",
        "raw_steps_per_s": round(raw_sps, 1),
        "adapter_steps_per_s": round(ad_sps, 1),
        "overhead_ratio": round(raw_sps / ad_sps, 3),
        "oracle_wins": f"{wins}/{repeats}",
        "reset_s_reproducible": round(reset_fresh_jvm, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--games", nargs="*", default=["cooking", "treasure_hunter", "coin_collector", "household"]
    )
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scienceworld-task", default="find-living-thing", help="'' to skip ScienceWorld")
    args = ap.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="agentgym-bench-tw-"))
    results: dict[str, Any] = {"seeds": args.seeds, "repeats": args.repeats}
    try:
        for game in args.games:
            results[f"textworld/{game}"] = bench_textworld(game, args.seeds, args.repeats, cache)
        if args.scienceworld_task and shutil.which("java"):
            results[f"scienceworld/{args.scienceworld_task}"] = bench_scienceworld(
                args.scienceworld_task, args.repeats
            )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
