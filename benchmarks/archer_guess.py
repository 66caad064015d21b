"""Learning run: ArCHer on GuessNumber-v0 from a noisy-expert SFT warm start (tiny policy, CPU).

The warm start imitates an expert that guesses the midpoint of the known range only with
probability 1 − `noise` (else a uniform guess inside the range), so it plays valid but inefficient
games; with `high=16` and 5 turns, inefficient play often runs out of turns. ArCHer then trains the
same policy with its utterance-level critic. Held-out success is measured with temperature-1
sampling (the policy ArCHer optimises) on fixed seeds never used in training.

    python benchmarks/archer_guess.py --seeds 0 1 2 --iters 12 --save-dir runs/archer > result.json
    # the start and the saved end policies on 1,000 games no evaluation has used, other draws
    python benchmarks/archer_guess.py --score --save-dir runs/archer --eval-episodes 1000 \
        --skip-episodes 1000 --sampling-seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENV_KW: dict[str, Any] = {"high": 16, "max_turns": 5}
EVAL_START = 10**6  # held-out seeds EVAL_START, EVAL_START + 1, ... (--eval-episodes of them)


def noisy_demos(chat: Any, n: int, noise: float, seed: int) -> list[Any]:
    import agentgym
    from agentgym.envs.guess import GuessNumberEnv
    from agentgym.rollout.demos import demo_episode
    from agentgym.tools.base import ToolCall

    rng = np.random.default_rng(seed)

    class Noisy(GuessNumberEnv):
        def oracle_action(self) -> str:
            if not (self._found or self._lo == self._hi) and rng.random() < noise:
                guess = int(rng.integers(self._lo, self._hi + 1))
                return self.parser.format_call(ToolCall("guess", {"number": str(guess)}))
            return super().oracle_action()

    env = Noisy(**ENV_KW)
    demos = [demo_episode(env, s, chat, env_id="GuessNumber-v0") for s in range(n)]
    del agentgym
    return [d for d in demos if d.success]


def evaluate(
    policy: Any, episodes: int, temperature: float = 1.0, *, skip: int = 0, sampling_seed: int = 123
) -> tuple[float, list[Any]]:
    """Held-out success and its games; one sampling seed for every policy, so a shared start reads one
    number. `skip` and `sampling_seed` pick later held-out seeds and other draws (replication)."""
    from agentgym.llm import SamplingParams
    from agentgym.rollout.collector import collect

    first = EVAL_START + skip
    trajs = collect(policy, "GuessNumber-v0", seeds=list(range(first, first + episodes)),
                    sampling=SamplingParams(temperature=temperature, max_tokens=12, seed=sampling_seed), **ENV_KW)  # fmt: skip
    return float(np.mean([t.success for t in trajs])), trajs


def score_saved(ckpt: Path, save_dir: Path, episodes: int, skip: int, sampling_seed: int) -> dict[str, Any]:
    """Score the warm start and every saved end policy (`--save-dir`) on the same fresh held-out games."""
    from agentgym.llm.hf import HFPolicy

    scores = {}
    for name, path in [("start", ckpt), *((p.name, p) for p in sorted(save_dir.glob("seed*")) if p.is_dir())]:
        scores[name], _ = evaluate(HFPolicy.from_pretrained(path, device="cpu"), episodes,
                                   skip=skip, sampling_seed=sampling_seed)  # fmt: skip
        print(json.dumps({name: scores[name]}), flush=True, file=sys.stderr)
    ends = [v for k, v in scores.items() if k != "start"]
    return {
        "episodes": episodes, "first_seed": EVAL_START + skip, "sampling_seed": sampling_seed, "scores": scores,
        "gain_mean": float(np.mean(ends) - scores["start"]) if ends else None,
        "spread_end": float(np.max(ends) - np.min(ends)) if ends else None,
    }  # fmt: skip


def held_out_transitions(trajs: list[Any], gamma: float) -> list[Any]:
    from agentgym.trainers.archer import episode_transitions
    from agentgym.trainers.replay import TransitionBuffer

    buf, out = TransitionBuffer(10**6), []
    for t in (t for t in trajs if not t.failed):
        episode = episode_transitions(t)
        buf.add_episode(episode, gamma)  # fills each transition's mc_return
        out += episode
    return out


@torch.no_grad()
def critic_quality(critic: Any, held_out: list[Any]) -> dict[str, float]:
    """The critic on the start policy's held-out games: R² of min Q against the Monte-Carlo return,
    and the AUC with which min Q ranks a right final answer above a wrong one once "N is correct."
    was seen (the warm start's main error, so the decision the actor most needs credit for)."""
    q = torch.cat([torch.minimum(*critic.q_values([x.observation for x in b], [x.action for x in b]))
                   for b in (held_out[i : i + 256] for i in range(0, len(held_out), 256))]).cpu().numpy()  # fmt: skip
    y = np.array([x.mc_return for x in held_out])
    found = [
        i for i, x in enumerate(held_out) if x.done and "is correct." in x.observation.rsplit("\n", 1)[-1]
    ]
    pos = np.array([q[i] for i in found if held_out[i].reward > 0])
    neg = np.array([q[i] for i in found if held_out[i].reward <= 0])
    auc = float((pos[:, None] > neg[None, :]).mean()) if len(pos) and len(neg) else float("nan")
    return {
        "critic/heldout_r2": float(1 - ((q - y) ** 2).mean() / max(y.var(), 1e-9)),
        "critic/found_answer_auc": auc,
    }


def warm_start(
    out: Path, noise: float, model: str, steps: int, lr: float, n_demos: int, device: str = "cpu"
) -> Path:
    from agentgym.llm import load_policy
    from agentgym.trainers.sft import SFTConfig, SFTTrainer

    if (out / "config.json").exists():
        return out
    policy = load_policy(model, device=device)
    demos = noisy_demos(policy.chat, n_demos, noise, seed=0)
    SFTTrainer(
        policy, demos, SFTConfig(lr=lr, max_steps=steps, batch_size=16, warmup_steps=10, progress=False)
    ).train()
    policy.save_pretrained(out)
    return out


def run_seed(
    ckpt: Path,
    seed: int,
    iters: int,
    knobs: dict[str, Any],
    rollout_size: int,
    eval_episodes: int,
    *,
    device: str = "cpu",
    time_budget: float = float("inf"),
    save_dir: Path | None = None,
) -> dict[str, Any]:
    """Evaluate, train up to `iters` iterations (fewer once `time_budget` seconds of training have
    passed, so a bounded run still ends with its evaluation), evaluate again."""
    from agentgym.llm import SamplingParams
    from agentgym.llm.hf import HFPolicy
    from agentgym.trainers.archer import ArcherConfig, ArcherTrainer

    torch.manual_seed(seed)
    policy = HFPolicy.from_pretrained(ckpt, device=device)
    cfg = ArcherConfig(gamma=0.95, tau=0.1, **knobs)
    tr = ArcherTrainer(policy, "GuessNumber-v0", cfg, sampling=SamplingParams(max_tokens=12, seed=seed),
                       rollout_size=rollout_size, seed=seed, env_kwargs=ENV_KW)  # fmt: skip
    start, start_trajs = evaluate(policy, eval_episodes)
    held_out = held_out_transitions(start_trajs, cfg.gamma)
    print(json.dumps({"seed": seed, "start_success": start}), flush=True, file=sys.stderr)
    curve = []
    began = time.time()
    for it in range(iters):
        if time.time() - began > time_budget:
            break
        t0 = time.time()
        m = {**tr.train_iteration(), **critic_quality(tr.critic, held_out)}
        curve.append({"iter": it, "s": round(time.time() - t0, 1), **{k: round(v, 4) for k, v in m.items()}})
        print(json.dumps(curve[-1]), flush=True, file=sys.stderr)
    tr.close()
    if save_dir is not None:  # kept, so the end policy can be scored again on other seeds
        policy.save_pretrained(save_dir / f"seed{seed}")
    end, _ = evaluate(policy, eval_episodes)
    print(json.dumps({"seed": seed, "end_success": end}), flush=True, file=sys.stderr)
    return {"seed": seed, "start_success": start, "end_success": end, "iters_run": len(curve), "curve": curve}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--noise", type=float, default=0.7)
    ap.add_argument("--ckpt", default="/tmp/agentgym-archer-guess-sft", help="reused if it exists")
    ap.add_argument("--model", default="tiny", help="policy the warm start begins from")
    ap.add_argument("--sft-steps", type=int, default=150)
    ap.add_argument("--sft-lr", type=float, default=3e-3)
    ap.add_argument("--demos", type=int, default=1000, help="noisy-expert episodes (seeds 0..N-1)")
    ap.add_argument("--actor-lr", type=float, default=1e-4)
    ap.add_argument("--actor-epochs", type=int, default=2)
    ap.add_argument("--critic-epochs", type=int, default=8)
    ap.add_argument("--warmup-iters", type=int, default=2, help="critic-only iterations before actor updates")
    ap.add_argument("--warmup-target", default="td", choices=["td", "mc"],
                    help="critic target during the warm-up: TD (paper) or Monte-Carlo returns")  # fmt: skip
    ap.add_argument(
        "--warmup-critic-epochs", type=int, default=None, help="critic steps per warm-up iteration"
    )
    ap.add_argument("--batch-size", type=int, default=32, help="transitions per critic and actor step")
    ap.add_argument("--micro-batch-size", type=int, default=None, help="actor forward/backward chunk")
    ap.add_argument(
        "--encoder", default="hashing", choices=["hashing", "minilm", "policy"], help="critic encoder"
    )
    ap.add_argument("--critic-input", default="separate", choices=["separate", "joint"],
                    help="Q over [h_s; h_a] or over one encoding of s ⊕ a")  # fmt: skip
    ap.add_argument("--critic-lr", type=float, default=1e-3)
    ap.add_argument("--rollout-size", type=int, default=16, help="episodes per iteration (paper 128)")
    ap.add_argument("--token-baseline", action="store_true", help="actor subtracts a token-level baseline")
    ap.add_argument("--baseline-lr", type=float, default=1e-4)
    ap.add_argument("--eval-episodes", type=int, default=150, help="held-out seeds 1,000,000 onwards")
    ap.add_argument("--device", default="cpu", help="torch device of policy and critic (e.g. cuda)")
    ap.add_argument("--time-budget", type=float, default=float("inf"),
                    help="seconds of training per seed after which no new iteration starts")  # fmt: skip
    ap.add_argument("--sft-only", action="store_true", help="build the warm start and stop")
    ap.add_argument("--save-dir", default=None, help="save each seed's final policy to DIR/seed<N>")
    ap.add_argument("--score", action="store_true",
                    help="train nothing: score --ckpt and the policies in --save-dir on --eval-episodes games")  # fmt: skip
    ap.add_argument(
        "--skip-episodes", type=int, default=0, help="with --score: held-out seeds after the first K"
    )
    ap.add_argument("--sampling-seed", type=int, default=123, help="with --score: the one sampling seed")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.score:
        if args.save_dir is None:
            ap.error("--score needs --save-dir")
        got = score_saved(Path(args.ckpt), Path(args.save_dir), args.eval_episodes, args.skip_episodes,
                          args.sampling_seed)  # fmt: skip
        print(json.dumps(got, indent=1))
        return
    ckpt = warm_start(
        Path(args.ckpt), args.noise, args.model, args.sft_steps, args.sft_lr, args.demos, args.device
    )
    if args.sft_only:
        return
    knobs = {
        "actor_lr": args.actor_lr,
        "actor_epochs": args.actor_epochs,
        "critic_epochs": args.critic_epochs,
        "warmup_iters": args.warmup_iters,
        "warmup_target": args.warmup_target,
        "warmup_critic_epochs": args.warmup_critic_epochs,
        "batch_size": args.batch_size,
        "micro_batch_size": args.micro_batch_size,
        "encoder": args.encoder,
        "critic_lr": args.critic_lr,
        "critic_input": args.critic_input,
        "token_baseline": args.token_baseline,
        "baseline_lr": args.baseline_lr,
    }
    runs = [
        run_seed(
            ckpt,
            s,
            args.iters,
            knobs,
            args.rollout_size,
            args.eval_episodes,
            device=args.device,
            time_budget=args.time_budget,
            save_dir=None if args.save_dir is None else Path(args.save_dir),
        )
        for s in args.seeds
    ]
    start, end = [r["start_success"] for r in runs], [r["end_success"] for r in runs]
    gains = [e - s for s, e in zip(start, end, strict=True)]
    print(json.dumps({
        "env": "GuessNumber-v0", "env_kwargs": ENV_KW, "knobs": knobs, "rollout_size": args.rollout_size, "eval_episodes": args.eval_episodes, "iters": args.iters,
        "start_success": start, "end_success": end, "gain_mean": float(np.mean(gains)),
        "spread_end": float(np.max(end) - np.min(end)), "spread_start": float(np.max(start) - np.min(start)),
        "runs": runs,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
