"""The learning claim: SFT from scratch on oracle demos teaches the `small` model Calculator-v0.

Slow (about two hours on 2 CPU cores); run with `pytest -m slow tests/rollout/test_sft_learning.py`.
docs/policies.md has the measured curve (0.27 after 1600 steps; continued to 5,300 steps: 0.73).
"""

from __future__ import annotations

import pytest

from agentgym.llm import load_policy
from agentgym.rollout import collect_demos
from agentgym.trainers.sft import SFTConfig, SFTTrainer, evaluate_success

ENV_KW = {"difficulty": (1, 2)}
HELD_OUT = range(1_000_000, 1_000_200)


@pytest.mark.slow
def test_small_model_learns_calculator_from_demos(tmp_path):
    policy = load_policy("small", device="cpu")
    demos = collect_demos("Calculator-v0", range(4000), policy.chat, **ENV_KW)
    before = evaluate_success(policy, "Calculator-v0", HELD_OUT, **ENV_KW)["eval/success/mean"]
    cfg = SFTConfig(
        lr=2e-3,
        batch_size=16,
        max_steps=4000,
        context_loss_weight=1.0,
        out_dir=str(tmp_path),
        progress=False,
        log_every=50,
    )
    history = SFTTrainer(policy, demos, cfg).train()
    after = evaluate_success(policy, "Calculator-v0", HELD_OUT, **ENV_KW)["eval/success/mean"]
    assert history[-1]["train/loss/sft"] < history[0]["train/loss/sft"] / 4
    assert before < 0.05 and after >= 0.9, (before, after)
