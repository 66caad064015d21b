"""Learning study: GRPO vs IGPO from one SFT checkpoint, 3 seeds each, on one env preset.

    python examples/learning_study.py --env calculator --sft runs/sft-calc-tiny/final --out runs/study
    python examples/learning_study.py --env search --sft runs/sft-search-tiny/final --out runs/study
    python examples/learning_study.py --env calculator_small --sft runs/sft-calc-small/final --out runs/study

Each run is `agentgym train --config examples/configs/<env>_<algo>.yaml --set warm_start.checkpoint=SFT
--set trainer.seed=S`; `--parallel` runs that many at once. Prints a markdown table (algorithm × seed:
held-out success at the start and end, steps, wall time) and writes it to OUT/<env>-table.md.
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


def table(rows: list[dict], env: str) -> str:
    lines = [
        "| algorithm | env | seed | start | end | Δ | steps | wall (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d = r["eval_success_end"] - r["eval_success_start"]
        lines.append(
            f"| {r['algo']} | {env} | {r['seed']} | {r['eval_success_start']:.3f} | {r['eval_success_end']:.3f} | {d:+.3f} | {r['steps']} | {r['wall_s']:.0f} |"
        )
    for algo in sorted({r["algo"] for r in rows}):
        ds = [r["eval_success_end"] - r["eval_success_start"] for r in rows if r["algo"] == algo]
        ends = [r["eval_success_end"] for r in rows if r["algo"] == algo]
        spread = max(ends) - min(ends)
        lines.append(
            f"| **{algo} mean** | {env} | {len(ds)} seeds | | {statistics.mean(ends):.3f} | {statistics.mean(ds):+.3f} | | spread of end {spread:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--env", required=True, choices=["calculator", "calculator_small", "search", "search_small"]
    )
    ap.add_argument(
        "--sft", required=True, help="SFT checkpoint dir (agentgym sft ... --out DIR → DIR/final)"
    )
    ap.add_argument("--out", default="runs/study")
    ap.add_argument("--algos", default="grpo,igpo")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra --set overrides")
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
    text = table(rows, args.env)
    (out / f"{args.env}-table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
