"""Oracle demonstrations and the SFT trainer (tiny model, a few steps)."""

from __future__ import annotations

import json

import pytest
import torch

from agentgym.rollout import collect_demos
from agentgym.trainers.sft import SFTConfig, SFTTrainer


def test_demos_render_like_the_chat_template(tiny_policy):
    demos = collect_demos("Calculator-v0", range(5), tiny_policy.chat)
    assert len(demos) == 5 and all(d.success for d in demos)
    tok = tiny_policy.tokenizer
    for d in demos:
        msgs = [
            {"role": "system", "content": d.system_prompt},
            {"role": "user", "content": d.first_observation},
        ]
        for t in d.turns:
            msgs.append({"role": "assistant", "content": t.action})
            msgs.append({"role": "tool", "content": t.observation})
        want = tok.apply_chat_template(
            msgs[:-1], tokenize=False
        )  # up to the last action, end marker included
        got = tok.decode(d.to_tensors()["input_ids"].tolist(), skip_special_tokens=False)
        assert want.rstrip("\n") == got


@pytest.mark.integration
def test_sft_loss_goes_down_and_resume_matches(tiny_policy, tmp_path):
    from agentgym.llm import load_policy

    demos = collect_demos("Calculator-v0", range(64), tiny_policy.chat, difficulty=1)
    cfg = dict(lr=3e-3, batch_size=8, warmup_steps=2, log_every=1, progress=False, save_every=3)
    full = load_policy("tiny", device="cpu")
    hist = SFTTrainer(full, demos, SFTConfig(max_steps=12, out_dir=str(tmp_path / "a"), **cfg)).train()
    losses = [r["train/loss/sft"] for r in hist]
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3
    rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and {"train/loss/sft", "train/lr", "perf/tokens_per_s"} <= set(rows[0])

    # interrupted after 6 steps, resumed to 12: same weights as the uninterrupted run
    part = load_policy("tiny", device="cpu")
    SFTTrainer(part, demos, SFTConfig(max_steps=12, out_dir=str(tmp_path / "b"), **cfg)).train(stop_at=6)
    resumed = load_policy("tiny", device="cpu")
    SFTTrainer(resumed, demos, SFTConfig(max_steps=12, out_dir=str(tmp_path / "b"), **cfg)).train()
    for (n, p), q in zip(full.model.named_parameters(), resumed.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), n


def test_context_loss_covers_exactly_the_predicted_non_policy_tokens(tiny_policy):
    from agentgym.llm import load_policy
    from agentgym.rollout import pad_batch
    from agentgym.trainers.sft import _context_mask

    demos = collect_demos("Calculator-v0", range(3), tiny_policy.chat, difficulty=1)
    batch = pad_batch([d.to_tensors() for d in demos], pad_id=tiny_policy.pad_id)
    ctx = _context_mask(batch)
    assert int((ctx * batch["loss_mask"]).sum()) == 0 and int(ctx[:, 0].sum()) == 0
    expected = int(batch["attention_mask"].sum() - batch["loss_mask"].sum()) - len(demos)
    assert int(ctx.sum()) == expected and int((ctx * (1 - batch["attention_mask"])).sum()) == 0
    cfg = SFTConfig(max_steps=1, batch_size=3, context_loss_weight=0.5, progress=False, log_every=1)
    row = SFTTrainer(load_policy("tiny", device="cpu"), demos, cfg).train()[-1]  # not the shared policy
    assert 0 < row["train/loss/context"] < 20


def test_evaluate_success_samples_with_the_given_params_reproducibly(tiny_policy, monkeypatch):
    import agentgym.rollout.collector as collector
    from agentgym.llm import SamplingParams
    from agentgym.trainers.sft import evaluate_success

    seen = []
    real = collector.collect
    monkeypatch.setattr(collector, "collect", lambda *a, **kw: seen.append(kw["sampling"]) or real(*a, **kw))
    hot = SamplingParams(temperature=1.0, max_tokens=8, seed=3)
    kw = {"max_turns": 2, "difficulty": 1}
    first = evaluate_success(tiny_policy, "Calculator-v0", range(4), sampling=hot, **kw)
    again = evaluate_success(tiny_policy, "Calculator-v0", range(4), sampling=hot, **kw)
    greedy = evaluate_success(tiny_policy, "Calculator-v0", range(4), **kw)
    assert first == again
    assert seen[:2] == [hot, hot] and seen[2].temperature == 0
    assert set(greedy) == {"eval/success/mean", "eval/reward/mean", "eval/failed"}
