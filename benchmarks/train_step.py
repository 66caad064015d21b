"""GRPO training-step time: agentgym's Trainer vs TRL's GRPOTrainer, same model, batch and optimizer.

    python benchmarks/train_step.py [--steps 6] [--prompts 1] [--group 8] [--tokens 64] [--model tiny]

One GRPO step = sample `prompts × group` completions of `tokens` new tokens (temperature 1), score
them (a length-based reward, identical for both), compute group advantages, one AdamW update of
the whole batch (no reference model, β = 0). Each side runs in its own subprocess so its peak RSS
is its own; the first step is a warm-up and excluded. The sides alternate for `--rounds` rounds
(A B, B A, A B, ...) so drift of a shared machine hits both; prints JSON with each round's seconds
per step and ratio, the median ratio agentgym/TRL (target ≤ 0.7) and peak RSS.

`--gpu` instead measures, for docs/performance.md, a Qwen2-0.5B-shaped model (bf16, random init,
built from a config) on a CUDA device: the chip's bf16 matrix rate; one GRPO update of 16 × 1,024
tokens through agentgym's Trainer and the same update written as bare forward/backward/AdamW
(throughput, TFLOP/s, MFU); the Trainer on a ragged (padded) batch; and HFPolicy sampling speed.
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
from typing import Any

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


# Qwen2-0.5B's shape (tied embeddings; 494 M parameters with its 151,936-token vocabulary).
QWEN2_05B = {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
             "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 4096,
             "tie_word_embeddings": True}  # fmt: skip


def _qwen_shaped_policy(device: str, shape: dict, dtype: Any) -> Any:
    """An HFPolicy over a randomly initialised model of `shape`; the small tokenizer is padded
    with placeholder tokens to the model's vocabulary so every sampled id decodes."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from agentgym.llm.hf import HFPolicy
    from agentgym.llm.tiny import ensure_tiny_model

    tok = AutoTokenizer.from_pretrained(str(ensure_tiny_model("tiny")))
    tok.add_tokens([f"<x{i}>" for i in range(shape["vocab_size"] - len(tok))])
    cfg = Qwen2Config(**shape, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(cfg).to(dtype)
    return HFPolicy(model.eval(), tok)


def _train_flops(n_params: int, shape: dict, tokens: int, seq: int) -> float:
    """6·N·tokens for the matmuls plus 12·L·d·S per token for attention (PaLM's MFU convention)."""
    return (6 * n_params + 12 * shape["num_hidden_layers"] * shape["hidden_size"] * seq) * tokens


def _timed(fn: Any, reps: int, sync: Any) -> float:
    """Median seconds of `fn` over `reps` runs after one warm-up."""
    fn()
    sync()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def _matmul_tflops(device: str) -> float:
    """The chip's bf16 matrix rate as measured here (8192³ products on random data)."""
    import torch

    x, y = (torch.randn(8192, 8192, device=device, dtype=torch.bfloat16) for _ in range(2))
    dt = _timed(lambda: [x @ y for _ in range(10)], 3, lambda: torch.cuda.synchronize(device))
    return 10 * 2 * 8192**3 / dt / 1e12


def _bare_update_s(model: Any, ids: Any, adv: Any, prompt: int, micro: int, reps: int, sync: Any) -> float:
    """Seconds per GRPO update written directly: log-probs of the response, −A·log π, one AdamW step."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    mask = torch.zeros(ids.shape[0], ids.shape[1] - 1, device=ids.device)
    mask[:, prompt - 1 :] = 1.0

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        for k in range(0, ids.shape[0], micro):
            x = ids[k : k + micro]
            logp = model(input_ids=x, use_cache=False).logits[:, :-1].float().log_softmax(-1)
            lp = logp.gather(-1, x[:, 1:, None]).squeeze(-1)
            (-(lp * adv[k : k + micro, None] * mask[k : k + micro]).sum() / mask.sum()).backward()
        opt.step()

    return _timed(step, reps, sync)


def gpu_step_bench(device: str, shape: dict, *, batch: int, prompt: int, response: int, micro: int,
                   reps: int, gen_prompts: int, gen_tokens: int, dtype: Any = None) -> dict:  # fmt: skip
    """Time one GRPO update through agentgym's Trainer, the same update written as bare
    forward/backward/AdamW, and sampling through HFPolicy; FLOP rates for the first two."""
    import torch

    from agentgym.llm import SamplingParams
    from agentgym.rollout import Trajectory, Turn
    from agentgym.trainers.run_config import RunConfig
    from agentgym.trainers.trainer import Trainer

    dtype = dtype or torch.bfloat16
    sync = (lambda: torch.cuda.synchronize(device)) if device.startswith("cuda") else (lambda: None)
    policy = _qwen_shaped_policy(device, shape, dtype)
    model = policy.model
    n_params = sum(p.numel() for p in model.parameters())
    seq = prompt + response
    flops = _train_flops(n_params, shape, batch * seq, seq)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, shape["vocab_size"], (batch, seq), generator=g)
    adv = torch.randn(batch, generator=g)
    res: dict[str, Any] = {"params": n_params, "batch": batch, "seq": seq, "micro_batch": micro,
                           "flops_per_step": flops}  # fmt: skip

    res["bare_s_per_step"] = _bare_update_s(model, ids.to(device), adv.to(device), prompt, micro, reps, sync)
    cfg = RunConfig.from_dict({
        "envs": [{"id": "Calculator-v0"}],
        "trainer": {"steps": reps + 1, "prompts_per_step": 1, "group_size": batch, "lr": 1e-6, "eval_every": 0,
                    "micro_batch_size": micro, "progress": False, "max_new_tokens": response},
        "algorithm": {"name": "grpo", "kl_coef": 0.0},
    })  # fmt: skip
    rewards = adv.tolist()
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, policy, tmp)

        def trajectories(lengths: list[int]) -> list[Any]:
            return [
                Trajectory(task_id="q", group_id="g0", env_id="bench", prompt_ids=ids[i, :prompt].tolist(),
                           turns=[Turn("", ids[i, prompt : prompt + n].tolist(), [0.0] * n, "", [], rewards[i], {})])
                for i, n in enumerate(lengths)
            ]  # fmt: skip

        def agentgym_step(trajs: list[Any]) -> None:
            b = tr.make_batch(trajs, [None] * batch, 0)
            tr._score_batch(b)
            b.tensors["advantages"] = tr.algo.advantages(b)
            tr.update(b)

        full = trajectories([response] * batch)
        res["agentgym_s_per_step"] = _timed(lambda: agentgym_step(full), reps, sync)
        # Rollouts end at different lengths: responses of response/2..response tokens, so the batch
        # is padded and attention takes the masked path. Rate counted over real tokens only.
        lengths = torch.randint(response // 2, response + 1, (batch,), generator=g).tolist()
        ragged = trajectories(lengths)
        dt = _timed(lambda: agentgym_step(ragged), reps, sync)
        real = sum(prompt + n for n in lengths)
        res["agentgym_ragged"] = {"s_per_step": dt, "real_tokens": real, "tokens_per_s": real / dt,
                                  "tflops": _train_flops(n_params, shape, real, real // batch) / dt / 1e12}  # fmt: skip
    for side in ("bare", "agentgym"):
        dt = res[f"{side}_s_per_step"]
        res[f"{side}_tokens_per_s"] = batch * seq / dt
        res[f"{side}_tflops"] = flops / dt / 1e12
    res["agentgym_over_bare"] = res["agentgym_s_per_step"] / res["bare_s_per_step"]
    prompts = [ids[i % batch, :prompt].tolist() for i in range(gen_prompts)]
    params = SamplingParams(temperature=1.0, max_tokens=gen_tokens, seed=0)
    made: list[int] = []
    dt = _timed(lambda: made.append(sum(len(c.token_ids) for c in policy.generate(prompts, params))), 1, sync)
    res["generate"] = {"prompts": gen_prompts, "prompt_tokens": prompt, "max_new_tokens": gen_tokens,
                       "s": dt, "new_tokens_per_s": made[-1] / dt}  # fmt: skip
    return res


def run_gpu(a: argparse.Namespace) -> dict:  # pragma: no cover - needs a GPU
    """The `--gpu` report: the measured bf16 matrix rate and `gpu_step_bench` at Qwen2-0.5B's shape.

    MFU is against the datasheet's dense bf16 peak (989 TFLOP/s for H100/H200 SXM) and, as
    `mfu_of_measured`, against the matrix rate measured in the same run.
    """
    import torch

    res: dict[str, Any] = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    res["matmul_tflops_measured"] = _matmul_tflops("cuda")
    res.update(gpu_step_bench("cuda", QWEN2_05B, batch=a.gpu_batch, prompt=256, response=768, micro=a.gpu_micro,
                              reps=a.steps, gen_prompts=64, gen_tokens=256))  # fmt: skip
    for side in ("bare", "agentgym"):
        res[f"{side}_mfu"] = res[f"{side}_tflops"] / 989.0
        res[f"{side}_mfu_of_measured"] = res[f"{side}_tflops"] / res["matmul_tflops_measured"]
    res["agentgym_ragged"]["mfu"] = res["agentgym_ragged"]["tflops"] / 989.0
    res["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return res


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
    ap.add_argument("--gpu-batch", type=int, default=16, help="--gpu: sequences per update")
    ap.add_argument("--gpu-micro", type=int, default=8, help="--gpu: sequences per forward/backward")
    a = ap.parse_args()
    if a.gpu:
        print(json.dumps(run_gpu(a), indent=2))
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
