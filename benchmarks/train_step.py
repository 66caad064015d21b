"""GRPO training-step time: agentgym's Trainer vs TRL's GRPOTrainer, same model, batch and optimizer.

    python benchmarks/train_step.py [--steps 6] [--prompts 1] [--group 8] [--tokens 64] [--model tiny]

One GRPO step = sample `prompts × group` completions of `tokens` new tokens (temperature 1), score
them (a length-based reward, identical for both), compute group advantages, one AdamW update of
the whole batch (no reference model, β = 0). Each side runs in its own subprocess so its peak RSS
is its own; the first step is a warm-up and excluded. The sides alternate for `--rounds` rounds
(A B, B A, A B, ...) so drift of a shared machine hits both; prints JSON with each round's seconds
per step and ratio, the median ratio agentgym/TRL (target ≤ 0.7) and peak RSS.

`--gpu` instead measures agentgym's update throughput and MFU of a Qwen2-0.5B-shaped model (bf16)
built from a config, for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROMPT = "Question: What is 12 plus 30?"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reward(completions: list[str]) -> list[float]:
    return [len(c) % 7 / 7.0 for c in completions]


def run_agentgym(a: argparse.Namespace) -> dict:
    import torch

    from agentgym.llm import SamplingParams, load_policy
    from agentgym.rollout import Trajectory, Turn
    from agentgym.trainers.run_config import RunConfig
    from agentgym.trainers.trainer import Trainer

    torch.manual_seed(0)
    policy = load_policy(a.model, device="cpu")
    cfg = RunConfig.from_dict({
        "envs": [{"id": "Calculator-v0"}],
        "trainer": {"steps": a.steps, "prompts_per_step": a.prompts, "group_size": a.group, "lr": 1e-5, "eval_every": 0,
                    "micro_batch_size": a.prompts * a.group, "progress": False, "max_new_tokens": a.tokens},
        "algorithm": {"name": "grpo", "kl_coef": 0.0},
    })  # fmt: skip
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, policy, tmp)
        prompt = policy.chat.prompt_ids("", PROMPT)
        for step in range(a.steps):
            t0 = time.perf_counter()
            comps = policy.generate(
                [prompt] * (a.prompts * a.group),
                SamplingParams(temperature=1.0, max_tokens=a.tokens, seed=step),
            )
            rewards = _reward([c.text for c in comps])
            trajs = []
            for i, (c, r) in enumerate(zip(comps, rewards, strict=True)):
                turn = Turn(c.text, list(c.token_ids), list(c.logprobs), "", [], r, {})
                trajs.append(
                    Trajectory(
                        task_id="q",
                        group_id=f"g{i // a.group}",
                        env_id="bench",
                        prompt_ids=prompt,
                        turns=[turn],
                    )
                )
            batch = tr.make_batch(trajs, [None] * len(trajs), step)
            tr._score_batch(batch)
            batch.tensors["advantages"] = tr.algo.advantages(batch)
            tr.update(batch)
            times.append(time.perf_counter() - t0)
    return {
        "s_per_step": sum(times[1:]) / max(len(times) - 1, 1),
        "peak_rss_mb": _rss_mb(),
        "steps": len(times),
    }


def run_trl(a: argparse.Namespace) -> dict:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from agentgym.llm.tiny import ensure_tiny_model

    path = str(ensure_tiny_model(a.model))
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            times.append(time.perf_counter() - self.t0)

    def reward(completions, **kw):
        texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
        return _reward(texts)

    n = a.prompts * a.group
    ds = Dataset.from_dict({"prompt": [PROMPT] * (n * (a.steps + 1))})
    with tempfile.TemporaryDirectory() as tmp:
        args = GRPOConfig(
            output_dir=tmp, per_device_train_batch_size=n, num_generations=a.group, max_completion_length=a.tokens,
            max_steps=a.steps, learning_rate=1e-5, beta=0.0, use_cpu=True, report_to=[], logging_steps=10_000,
            save_strategy="no", temperature=1.0, seed=0, bf16=False,
        )  # fmt: skip
        trainer = GRPOTrainer(
            model=path, reward_funcs=reward, args=args, train_dataset=ds, callbacks=[Clock()]
        )
        trainer.train()
    return {
        "s_per_step": sum(times[1:]) / max(len(times) - 1, 1),
        "peak_rss_mb": _rss_mb(),
        "steps": len(times),
    }


def run_gpu(a: argparse.Namespace) -> dict:  # pragma: no cover - needs a GPU
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    cfg = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                      num_key_value_heads=2, vocab_size=151936, max_position_embeddings=4096)  # fmt: skip
    model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    B, T = 16, 1024
    ids = torch.randint(0, cfg.vocab_size, (B, T), device="cuda")
    n_params = sum(p.numel() for p in model.parameters())
    for i in range(8):
        if i == 3:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        out = model(input_ids=ids).logits.float().log_softmax(-1).mean()
        out.backward()
        opt.step()
        opt.zero_grad()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / 5
    flops = 6 * n_params * B * T
    peak = 989e12  # H100/H200 dense bf16
    return {"tokens_per_s": B * T / dt, "s_per_step": dt, "mfu": flops / dt / peak, "params": n_params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--prompts", type=int, default=1)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of both sides")
    ap.add_argument("--side", choices=["agentgym", "trl"], help=argparse.SUPPRESS)
    ap.add_argument("--gpu", action="store_true")
    a = ap.parse_args()
    if a.gpu:
        print(json.dumps(run_gpu(a)))
        return
    if a.side:
        print(json.dumps((run_agentgym if a.side == "agentgym" else run_trl)(a)))
        return
    res: dict = {"config": {k: v for k, v in vars(a).items() if k != "side"}, "rounds": []}
    for r in range(a.rounds):
        sides = ("agentgym", "trl") if r % 2 == 0 else ("trl", "agentgym")
        round_res = {side: _run_side(a, side) for side in sides}
        round_res["ratio"] = round_res["agentgym"]["s_per_step"] / round_res["trl"]["s_per_step"]
        res["rounds"].append(round_res)
    ratios = sorted(x["ratio"] for x in res["rounds"])
    res["ratio_agentgym_over_trl"] = statistics.median(ratios)
    res["ratio_range"] = [ratios[0], ratios[-1]]
    for side in ("agentgym", "trl"):
        res[side] = {
            "s_per_step_median": statistics.median(x[side]["s_per_step"] for x in res["rounds"]),
            "peak_rss_mb": max(x[side]["peak_rss_mb"] for x in res["rounds"]),
        }
    print(json.dumps(res, indent=2))


def _run_side(a: argparse.Namespace, side: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--side", side, "--steps", str(a.steps), "--prompts", str(a.prompts),
           "--group", str(a.group), "--tokens", str(a.tokens), "--model", a.model]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
