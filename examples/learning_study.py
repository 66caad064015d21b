"""Learning study: GRPO vs IGPO from one SFT checkpoint, 3 seeds each, on one env preset.

    python examples/learning_study.py --env calculator --sft runs/sft-calc-tiny/final --out runs/study
    python examples/learning_study.py --env search --sft runs/sft-search-tiny/final --out runs/study
    python examples/learning_study.py --env calculator_small --sft runs/sft-calc-small/final --out runs/study

Each run is `agentgym train --config examples/configs/<env>_<algo>.yaml --set warm_start.checkpoint=SFT
--set trainer.seed=S`; `--parallel` runs that many at once. Prints a markdown table (algorithm × seed:
held-out success at the start and end, steps, wall time) and writes it to OUT/<env>-table.md.

`--greedy-episodes N` also scores the SFT checkpoint and each run's `final/` policy greedily on the
first N held-out seeds (cached in OUT/<run>/greedy.json), so a run evaluated by sampling
(`--set trainer.eval_temperature=1.0`) reports the greedy view beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def run_one(env: str, algo: str, seed: int, sft: str, out: Path, extra: list[str]) -> dict:
    run_dir = out / f"{env}-{algo}-s{seed}"
    summary = run_dir / "summary.json"
    if not summary.exists():
        cmd = [sys.executable, "-m", "agentgym", "train", "--config", f"examples/configs/{env}_{algo}.yaml", "--out", str(run_dir),
               "--set", f"warm_start.checkpoint={sft}", "--set", f"trainer.seed={seed}", "--set", "trainer.progress=false", *extra]  # fmt: skip
        resume = ["--resume"] if (run_dir / "metrics.jsonl").exists() else []
        with open(out / f"{env}-{algo}-s{seed}.log", "a") as log:
            subprocess.run(
                cmd + resume,
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
    return {"algo": algo, "seed": seed, **json.loads(summary.read_text())}


def greedy_success(policy_dir: Path, run_dir: Path, n: int) -> float:
    """Greedy success of `policy_dir` on the first `n` held-out seeds of `run_dir`'s resolved config."""
    from agentgym.llm.hf import HFPolicy
    from agentgym.trainers.run_config import load_run_config
    from agentgym.trainers.sft import evaluate_success

    cfg = load_run_config(run_dir / "config.yaml")
    entry, tc = cfg.envs[0], cfg.trainer
    seeds = range(tc.eval_seed_offset, tc.eval_seed_offset + n)
    policy = HFPolicy.from_pretrained(policy_dir, device="cpu")
    kw = {**entry.kwargs, **(entry.eval_kwargs or {})}
    return evaluate_success(policy, entry.id, seeds, max_turns=tc.max_turns, **kw)["eval/success/mean"]


def add_greedy(rows: list[dict], sft: str, out: Path, env: str, n: int) -> None:
    """Fill `greedy_start` (the SFT checkpoint, scored once) and `greedy_end` of each row."""
    for r in rows:
        run_dir = out / f"{env}-{r['algo']}-s{r['seed']}"
        cache = run_dir / "greedy.json"
        if not cache.exists():
            start_cache = out / f"{env}-sft-greedy-{n}.json"
            if not start_cache.exists():
                start_cache.write_text(json.dumps(greedy_success(Path(sft), run_dir, n)))
            start = json.loads(start_cache.read_text())
            cache.write_text(
                json.dumps({"start": start, "end": greedy_success(run_dir / "final", run_dir, n)})
            )
        g = json.loads(cache.read_text())
        r["greedy_start"], r["greedy_end"] = g["start"], g["end"]


def table(rows: list[dict], env: str) -> str:
    greedy = all("greedy_end" in r for r in rows)
    extra = " greedy start | greedy end |" if greedy else ""
    lines = [
        "| algorithm | env | seed | start | end | Δ | steps | wall (s) |" + extra,
        "|---|---|---|---|---|---|---|---|" + ("---|---|" if greedy else ""),
    ]
    for r in rows:
        d = r["eval_success_end"] - r["eval_success_start"]
        g = f" {r['greedy_start']:.3f} | {r['greedy_end']:.3f} |" if greedy else ""
        lines.append(
            f"| {r['algo']} | {env} | {r['seed']} | {r['eval_success_start']:.3f} | {r['eval_success_end']:.3f} | {d:+.3f} | {r['steps']} | {r['wall_s']:.0f} |{g}"
        )
    for algo in sorted({r["algo"] for r in rows}):
        ds = [r["eval_success_end"] - r["eval_success_start"] for r in rows if r["algo"] == algo]
        ends = [r["eval_success_end"] for r in rows if r["algo"] == algo]
        spread = max(ends) - min(ends)
        g = ""
        if greedy:
            gends = [r["greedy_end"] for r in rows if r["algo"] == algo]
            g = f" | {statistics.mean(gends):.3f} (spread {max(gends) - min(gends):.3f}) |"
        lines.append(
            f"| **{algo} mean** | {env} | {len(ds)} seeds | | {statistics.mean(ends):.3f} | {statistics.mean(ds):+.3f} | | spread of end {spread:.3f} |{g}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    presets = sorted(p.stem.removesuffix("_grpo") for p in Path("examples/configs").glob("*_grpo.yaml"))
    ap.add_argument("--env", required=True, choices=presets, help="preset prefix: <env>_<algo>.yaml")
    ap.add_argument(
        "--sft", required=True, help="SFT checkpoint dir (agentgym sft ... --out DIR → DIR/final)"
    )
    ap.add_argument("--out", default="runs/study")
    ap.add_argument("--algos", default="grpo,igpo")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra --set overrides")
    ap.add_argument(
        "--greedy-episodes", type=int, default=0, help="also score SFT and final policies greedily"
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    extra = [x for s in args.extra for x in ("--set", s)]
    jobs = [
        (args.env, a, int(s), args.sft, out, extra)
        for a in args.algos.split(",")
        for s in args.seeds.split(",")
    ]
    with ThreadPoolExecutor(args.parallel) as pool:
        rows = list(pool.map(lambda j: run_one(*j), jobs))
    if args.greedy_episodes:
        add_greedy(rows, args.sft, out, args.env, args.greedy_episodes)
    text = table(rows, args.env)
    (out / f"{args.env}-table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
