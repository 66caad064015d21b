"""The tiny policy and the Trainer on a CUDA device (marker `gpu`; run where a GPU is lent).

The CPU suite covers the same code paths; these check that nothing in them pins tensors to the CPU
and that bf16 training stays finite.
"""

from __future__ import annotations

import math

import pytest
import torch
from _trainer_helpers import small_run

from agentgym.trainers.trainer import Trainer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_trainer_fits_on_cuda_in_bf16(tmp_path):
    from agentgym.llm import load_policy

    policy = load_policy("tiny", device="cuda", dtype="bfloat16")
    before = [p.detach().clone() for p in policy.model.parameters()]
    records = Trainer(small_run(steps=3, eval_every=3, eval_episodes=2), policy, tmp_path).fit()
    assert sum("train/loss/total" in r for r in records) == 3
    assert any(k.startswith("eval/") for r in records for k in r)
    assert all(p.device.type == "cuda" and p.dtype == torch.bfloat16 for p in policy.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(policy.model.parameters(), before, strict=True))
    for r in records:
        bad = {k: v for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)}
        assert not bad, bad


@pytest.mark.parametrize("name", ["grpo", "ppo", "gigpo", "igpo", "epo", "arpo", "aepo", "spear"])
def test_every_trainer_algorithm_steps_on_cuda(name, tmp_path):
    from agentgym.llm import load_policy

    policy = load_policy("tiny", device="cuda")
    records = Trainer(small_run(steps=2, algorithm={"name": name}), policy, tmp_path).fit()
    losses = [r["train/loss/total"] for r in records if "train/loss/total" in r]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)


def test_forward_logprobs_on_cuda_match_the_cpu(tiny_policy):
    from agentgym.llm.hf import HFPolicy
    from agentgym.rollout.tensors import pad_batch

    gpu = HFPolicy(type(tiny_policy.model)(tiny_policy.model.config), tiny_policy.tokenizer)
    gpu.model.load_state_dict(tiny_policy.model.state_dict())
    gpu.model.to("cuda").eval()
    g = torch.Generator().manual_seed(0)
    items = [
        {"input_ids": torch.randint(3, 500, (n,), generator=g), "loss_mask": torch.ones(n, dtype=torch.long)}
        for n in (5, 17, 11)
    ]
    batch = pad_batch(items, pad_id=tiny_policy.pad_id)
    with torch.no_grad():
        lp_cpu, h_cpu = tiny_policy.forward_logprobs(batch)
        lp_gpu, h_gpu = gpu.forward_logprobs(batch)
    torch.testing.assert_close(lp_gpu.cpu(), lp_cpu, atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(h_gpu.cpu(), h_cpu, atol=1e-3, rtol=1e-3)


def test_sampling_on_cuda_returns_valid_tokens():
    from agentgym.llm import SamplingParams, load_policy

    policy = load_policy("tiny", device="cuda", dtype="bfloat16")
    prompt = policy.chat.prompt_ids("", "What is 2 plus 3?")
    out = policy.generate([prompt] * 4, SamplingParams(temperature=1.0, max_tokens=16, seed=0))
    assert len(out) == 4
    for c in out:
        assert 1 <= len(c.token_ids) <= 16
        assert all(0 <= t < len(policy.tokenizer) for t in c.token_ids)
        assert all(math.isfinite(x) and x <= 0 for x in c.logprobs)


@pytest.mark.parametrize("encoder", ["policy", "hashing"])
def test_archer_iteration_on_cuda(encoder):
    from agentgym.llm import SamplingParams, load_policy
    from agentgym.trainers.archer import ArcherConfig, ArcherTrainer

    policy = load_policy("tiny", device="cuda")
    cfg = ArcherConfig(batch_size=4, critic_epochs=2, actor_epochs=1, warmup_iters=0, encoder=encoder,
                       critic_input="joint", token_baseline=True, critic_lr=1e-4, actor_lr=1e-4)  # fmt: skip
    tr = ArcherTrainer(policy, "GuessNumber-v0", cfg, sampling=SamplingParams(max_tokens=8, seed=0),
                       rollout_size=2, env_kwargs={"high": 8, "max_turns": 3})  # fmt: skip
    try:
        m = tr.train_iteration()
    finally:
        tr.close()
    assert {"train/critic/q_loss", "train/actor/loss", "train/actor/baseline_loss"} <= set(m)
    assert all(math.isfinite(v) for v in m.values())
    assert next(tr.critic.parameters()).device.type == "cuda"


def test_clip_cov_mask_on_cuda_with_a_cpu_generator():
    from agentgym.trainers.losses import clip_cov_mask

    A = torch.tensor([[1.0, 1.0, -1.0, -1.0]], device="cuda")
    lp = torch.tensor([[-0.1, -3.0, -0.1, -3.0]], device="cuda")
    out = clip_cov_mask(A, lp, torch.ones(1, 4, device="cuda"), ratio=1.0, low=1.0, high=5.0,
                        rng=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.device.type == "cuda" and out.tolist() == [[True, False, False, True]]
