"""Learning study: GRPO vs IGPO from one SFT checkpoint, 3 seeds each, on one env preset.

    python examples/learning_study.py --env calculator --sft runs/sft-calc-tiny/final --out runs/study
    python examples/learning_study.py --env search --sft runs/sft-search-tiny/final --out runs/study
    python examples/learning_study.py --env calculator_small --sft runs/sft-calc-small/final --out runs/study

Each run is `agentgym train --config examples/configs/<env>_<algo>.yaml --set warm_start.checkpoint=SFT
--set trainer.seed=S` (presets named algorithm first, as `arpo_search.yaml`, are found too);
`--parallel` runs that many at once. Prints a markdown table (algorithm × seed: held-out success at
the start and end, steps, wall time) and writes it to OUT/<env>-table.md.

`--greedy-episodes N` also scores the SFT checkpoint and each run's `final/` policy greedily on the
first N held-out seeds (cached in OUT/<run>/greedy-N.json), so a run evaluated by sampling
(`--set trainer.eval_temperature=1.0`) reports the greedy view beside it. `--sampled-episodes N` does
the same at the run's evaluation temperature (its rollout temperature if evaluation is greedy)
with one sampling seed for every policy: N can be far larger than the in-run evaluation, so start
and end are compared with less noise.
`--skip-episodes K --sampling-seed S` scores the held-out seeds after the first K with sampling seed
S instead: a replication on fresh problems.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def preset(env: str, algo: str) -> Path:
    """`<env>_<algo>.yaml`, or `<algo>_<env>.yaml` for the presets named algorithm first
    (`arpo_search.yaml`)."""
    configs = Path("examples/configs")
    first = configs / f"{env}_{algo}.yaml"
    return first if first.exists() else configs / f"{algo}_{env}.yaml"


def run_one(env: str, algo: str, seed: int, sft: str, out: Path, extra: list[str]) -> dict:
    run_dir = out / f"{env}-{algo}-s{seed}"
    summary = run_dir / "summary.json"
    if not summary.exists():
        cmd = [sys.executable, "-m", "agentgym", "train", "--config", str(preset(env, algo)), "--out", str(run_dir),
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


def heldout_success(
    policy_dir: Path, run_dir: Path, n: int, *, sampled: bool = False, skip: int = 0, seed: int = 0
) -> float:
    """Success of `policy_dir` on `n` held-out seeds of `run_dir`'s resolved config: greedy,
    or (`sampled`) at the run's evaluation temperature (its rollout temperature when evaluation is
    greedy, i.e. the policy RL optimises) with one fixed sampling seed shared by every
    policy scored, so start and end see the same random numbers. `skip` and `seed` pick later held-out
    seeds and another sampling seed, to replicate a result on fresh episodes."""
    from agentgym.llm import SamplingParams
    from agentgym.llm.hf import HFPolicy
    from agentgym.trainers.run_config import load_run_config
    from agentgym.trainers.sft import evaluate_success

    cfg = load_run_config(run_dir / "config.yaml")
    entry, tc = cfg.envs[0], cfg.trainer
    policy = HFPolicy.from_pretrained(policy_dir, device="cpu")
    kw = {**entry.kwargs, **(entry.eval_kwargs or {})}
    if sampled:
        kw["sampling"] = SamplingParams(
            temperature=tc.eval_temperature or tc.temperature,
            top_p=tc.top_p,
            max_tokens=tc.max_new_tokens,
            seed=seed,
        )
        kw["max_context_tokens"] = tc.max_context_tokens
    seeds = range(tc.eval_seed_offset + skip, tc.eval_seed_offset + skip + n)
    got = evaluate_success(policy, entry.id, seeds, max_turns=tc.max_turns, max_batch=100, **kw)
    return got["eval/success/mean"]


def add_heldout(
    rows: list[dict], sft: str, out: Path, env: str, n: int, *, sampled: bool, skip: int = 0, seed: int = 0
) -> None:
    """Fill `<kind>_start` (the SFT checkpoint, scored once) and `<kind>_end` of each row, where kind
    is `greedy` or `sampled`; scores are cached in OUT/<run>/<kind>-<n>.json."""
    kind = "sampled" if sampled else "greedy"
    tag = f"{kind}-{n}" + (f"-from{skip}-seed{seed}" if skip or seed else "")
    score = functools.partial(heldout_success, n=n, sampled=sampled, skip=skip, seed=seed)
    for r in rows:
        run_dir = out / f"{env}-{r['algo']}-s{r['seed']}"
        cache = run_dir / f"{tag}.json"
        if not cache.exists():
            start_cache = out / f"{env}-sft-{tag}.json"
            if not start_cache.exists():
                start_cache.write_text(json.dumps(score(Path(sft), run_dir)))
            start = json.loads(start_cache.read_text())
            cache.write_text(json.dumps({"start": start, "end": score(run_dir / "final", run_dir)}))
        g = json.loads(cache.read_text())
        r[f"{kind}_start"], r[f"{kind}_end"] = g["start"], g["end"]


def table(rows: list[dict], env: str) -> str:
    kinds = [k for k in ("greedy", "sampled") if all(f"{k}_end" in r for r in rows)]
    head = "".join(f" {k} start | {k} end |" for k in kinds)
    lines = [
        "| algorithm | env | seed | start | end | Δ | steps | wall (s) |" + head,
        "|---|---|---|---|---|---|---|---|" + "---|---|" * len(kinds),
    ]
    for r in rows:
        d = r["eval_success_end"] - r["eval_success_start"]
        extra = "".join(f" {r[f'{k}_start']:.3f} | {r[f'{k}_end']:.3f} |" for k in kinds)
        lines.append(
            f"| {r['algo']} | {env} | {r['seed']} | {r['eval_success_start']:.3f} | {r['eval_success_end']:.3f} | {d:+.3f} | {r['steps']} | {r['wall_s']:.0f} |{extra}"
        )
    for algo in sorted({r["algo"] for r in rows}):
        mine = [r for r in rows if r["algo"] == algo]
        ds = [r["eval_success_end"] - r["eval_success_start"] for r in mine]
        ends = [r["eval_success_end"] for r in mine]
        extra = ""
        for k in kinds:  # an empty start cell, then the mean end with its gain and spread
            kends = [r[f"{k}_end"] for r in mine]
            gain = statistics.mean(kends) - mine[0][f"{k}_start"]
            extra += f" | {statistics.mean(kends):.3f} ({gain:+.3f}, spread {max(kends) - min(kends):.3f}) |"
        lines.append(
            f"| **{algo} mean** | {env} | {len(ds)} seeds | | {statistics.mean(ends):.3f} | {statistics.mean(ds):+.3f} | | spread of end {max(ends) - min(ends):.3f} |{extra}"
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
    ap.add_argument(
        "--sampled-episodes",
        type=int,
        default=0,
        help="also score SFT and final policies by sampling, one fixed seed for all",
    )
    ap.add_argument(
        "--skip-episodes", type=int, default=0, help="score held-out seeds after the first K (replication)"
    )
    ap.add_argument(
        "--sampling-seed", type=int, default=0, help="the one sampling seed of --sampled-episodes"
    )
    args = ap.parse_args()
    missing = [a for a in args.algos.split(",") if not preset(args.env, a).exists()]
    if missing:
        ap.error(f"no preset for {missing} on {args.env}: looked for <env>_<algo>.yaml and <algo>_<env>.yaml")
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
        add_heldout(
            rows, args.sft, out, args.env, args.greedy_episodes, sampled=False, skip=args.skip_episodes
        )
    if args.sampled_episodes:
        add_heldout(
            rows, args.sft, out, args.env, args.sampled_episodes, sampled=True, skip=args.skip_episodes,
            seed=args.sampling_seed,
        )  # fmt: skip
    text = table(rows, args.env)
    (out / f"{args.env}-table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
