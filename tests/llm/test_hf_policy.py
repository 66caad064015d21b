"""HFPolicy: sampling records, determinism, batch invariance, scoring, save/load."""

from __future__ import annotations

import pytest
import torch

from agentgym.llm import SamplingParams, load_policy
from agentgym.llm.hf import HFPolicy
from agentgym.rollout import pad_batch


@pytest.fixture(scope="module")
def policy():
    return load_policy("tiny", device="cpu")


def _prompts(policy, n=4):
    return [policy.chat.prompt_ids("Answer briefly.", f"Question number {i}: {'x ' * i}") for i in range(n)]


def test_completion_records_are_consistent(policy):
    out = policy.generate(_prompts(policy), SamplingParams(max_tokens=12, seed=1))
    for c in out:
        assert 1 <= len(c.token_ids) <= 12
        assert len(c.logprobs) == len(c.token_ids) == len(c.entropies)
        assert all(lp <= 0 for lp in c.logprobs) and all(h >= 0 for h in c.entropies)
        assert c.text == policy.tokenizer.decode(c.token_ids, skip_special_tokens=True)
        assert c.finish_reason in ("stop", "length")


def test_seeded_sampling_is_reproducible_and_batch_independent(policy):
    prompts = _prompts(policy)
    sp = SamplingParams(max_tokens=10, seed=3)
    a = policy.generate(prompts, sp, seeds=[10, 11, 12, 13])
    b = policy.generate(prompts[2:3], sp, seeds=[12])
    assert a[2].token_ids == b[0].token_ids
    assert a[2].logprobs == pytest.approx(b[0].logprobs, abs=1e-5)
    c = policy.generate(prompts, sp, seeds=[10, 11, 12, 14])
    assert [x.token_ids for x in a[:3]] == [x.token_ids for x in c[:3]]


def test_n_samples_differ(policy):
    out = policy.generate(_prompts(policy, 1), SamplingParams(max_tokens=8, n=4, seed=0))
    assert len(out) == 4 and len({tuple(c.token_ids) for c in out}) > 1


def test_greedy_batch_equals_single(policy):
    prompts = _prompts(policy, 6)
    sp = SamplingParams(temperature=0, max_tokens=12)
    batched = policy.generate(prompts, sp)
    for p, c in zip(prompts, batched, strict=True):
        assert policy.generate([p], sp)[0].token_ids == c.token_ids


def test_stop_strings_end_a_completion(policy):
    prompts = _prompts(policy, 4)
    seeds = [100, 101, 102, 103]
    free = policy.generate(prompts, SamplingParams(max_tokens=20, seed=5), seeds=seeds)
    # stop on a 2-character piece an unconstrained sample produced: the same seeded stream must
    # stop right after the token that completes its first occurrence
    idx, target = next((i, c) for i, c in enumerate(free) if len(c.text) > 6)
    stop = target.text[3:5]
    got = policy.generate(
        [prompts[idx]], SamplingParams(max_tokens=20, seed=5, stop=(stop,)), seeds=[seeds[idx]]
    )[0]
    assert target.token_ids[: len(got.token_ids)] == got.token_ids
    assert got.finish_reason == "stop" and len(got.token_ids) < len(target.token_ids) + 1
    assert stop in policy.tokenizer.decode(got.token_ids)
    assert stop not in policy.tokenizer.decode(got.token_ids[:-1])


def test_forward_logprobs_padding_invariant_and_differentiable(policy):
    seqs = [torch.tensor(p + p[:5]) for p in _prompts(policy, 3)]
    batch = pad_batch([{"input_ids": s} for s in seqs], pad_id=policy.pad_id)
    lp, _ent = policy.forward_logprobs(batch)
    assert lp.shape == batch["input_ids"].shape and (lp[:, 0] == 0).all()
    for i, s in enumerate(seqs):
        lp1, _ = policy.forward_logprobs({"input_ids": s})
        assert torch.allclose(lp[i, : len(s)], lp1, atol=1e-5)
        assert (lp[i, len(s) :] == 0).all()
    lp.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.parameters())
    policy.model.zero_grad()


def test_score_is_mean_logprob_of_the_continuation(policy):
    ctx = _prompts(policy, 2)
    cont = [policy.chat.encode(" 42</answer>"), policy.chat.encode(" seven")]
    got = policy.score(ctx, cont)
    for c, x, g in zip(ctx, cont, got, strict=True):
        with torch.no_grad():
            lp, _ = policy.forward_logprobs({"input_ids": torch.tensor(c + x)})
        assert g == pytest.approx(lp[len(c) :].mean().item(), abs=1e-5)


def test_save_and_load_round_trip(policy, tmp_path):
    policy.save_pretrained(tmp_path / "ckpt")
    again = HFPolicy.from_pretrained(tmp_path / "ckpt", device="cpu")
    p = _prompts(policy, 1)
    sp = SamplingParams(temperature=0, max_tokens=8)
    assert again.generate(p, sp)[0].token_ids == policy.generate(p, sp)[0].token_ids
    assert again.tokenizer.chat_template == policy.tokenizer.chat_template


def test_prefix_cache_prefills_only_new_tokens_and_matches_a_fresh_prefill(policy):
    first_prompts = _prompts(policy, 3)
    sp = SamplingParams(max_tokens=6, seed=5)
    tail = policy.chat.observation_ids("<information>42</information>", [])
    with policy.prefix_cache() as store:
        first = policy.generate(first_prompts, sp)
        assert len(store.entries) == 3
        # two prompts extend a kept sequence by action + observation; one shares nothing
        second = [p + c.token_ids + tail for p, c in zip(first_prompts[:2], first[:2], strict=True)]
        second.append(policy.chat.prompt_ids("Other system.", "A new episode"))
        cached = policy.generate(second, sp, seeds=[1, 2, 3])
        assert store.hits == 2
        assert store.reused_tokens == sum(
            len(p) + len(c.token_ids) - 1 for p, c in zip(first_prompts[:2], first[:2], strict=True)
        )
        assert len(store.entries) == 4  # two consumed prefixes freed; the unused one and three new ends kept
    fresh = policy.generate(second, sp, seeds=[1, 2, 3])
    assert policy._kv_store is None
    for a, b in zip(cached, fresh, strict=True):
        assert a.token_ids == b.token_ids
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
        assert a.entropies == pytest.approx(b.entropies, abs=1e-4)


def test_sampled_token_frequencies_match_their_probabilities(policy):
    """Inverse-CDF sampling from per-row uniforms draws from the model's distribution."""
    import math
    from collections import Counter

    n = 512
    # temperature 0.1 makes the untrained model's first token peaked enough to count (p ≈ 0.55)
    out = policy.generate(_prompts(policy, 1), SamplingParams(max_tokens=1, n=n, seed=11, temperature=0.1))
    counts = Counter(c.token_ids[0] for c in out)
    prob = {c.token_ids[0]: math.exp(c.logprobs[0]) for c in out}
    assert len(counts) > 3  # a real distribution, not a constant
    checked = 0
    for tok, k in counts.items():
        p = prob[tok]
        if p * n >= 20:
            checked += 1
            assert abs(k / n - p) <= 4 * math.sqrt(p * (1 - p) / n), (tok, k / n, p)
    assert checked >= 1
    nucleus = policy.generate(
        _prompts(policy, 1), SamplingParams(max_tokens=1, n=64, seed=3, temperature=0.1, top_p=0.3)
    )
    assert {c.token_ids[0] for c in nucleus} == {max(prob, key=prob.get)}  # top-p 0.3 keeps the head only


def _gqa_policy() -> HFPolicy:
    """A 2-layer Qwen2 with grouped-query attention and bias-free projections (the other shape the lean step serves)."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    tiny = load_policy("tiny", device="cpu")
    cfg = Qwen2Config(vocab_size=len(tiny.tokenizer), hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)  # fmt: skip
    torch.manual_seed(0)
    return HFPolicy(AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa").eval(), tiny.tokenizer)


@pytest.mark.parametrize("shape", ["tiny", "gqa"])
def test_lean_decode_step_equals_the_transformers_forward(policy, shape):
    from agentgym.llm.decode import LeanDecoder

    pol = policy if shape == "tiny" else _gqa_policy()
    lean = LeanDecoder.for_model(pol.model)
    assert lean is not None
    prompts = _prompts(pol, 4)  # different lengths: left padding and a mask
    (c1, mask, logits), (c2, _, _) = pol._prefill(prompts, reserve=4), pol._prefill(prompts, reserve=4)
    nxt = logits.argmax(-1)
    for _ in range(3):
        mask = torch.cat([mask, mask.new_ones((len(prompts), 1))], dim=1)
        pos = mask.sum(-1, keepdim=True) - 1
        with torch.no_grad():
            ref = pol.model(input_ids=nxt[:, None], attention_mask=mask, position_ids=pos, use_cache=True,
                            **{pol._cache_kw: c1}).logits[:, -1]  # fmt: skip
        got = lean.step(nxt, pos, c2, mask)
        assert torch.allclose(got, ref, atol=1e-5), (got - ref).abs().max()
        for a, b in zip(c1.layers, c2.layers, strict=True):
            assert torch.allclose(a.keys, b.keys, atol=1e-6) and torch.allclose(a.values, b.values, atol=1e-6)
        nxt = ref.argmax(-1)


def test_generate_is_the_same_with_and_without_the_lean_step(policy, monkeypatch):
    from agentgym.llm import decode

    prompts = _prompts(policy, 5)
    sp = SamplingParams(max_tokens=16, seed=7)
    lean = policy.generate(prompts, sp)
    monkeypatch.setattr(decode.LeanDecoder, "for_model", classmethod(lambda cls, model: None))
    plain = policy.generate(prompts, sp)
    assert [c.token_ids for c in lean] == [c.token_ids for c in plain]
    for a, b in zip(lean, plain, strict=True):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5)
        assert a.entropies == pytest.approx(b.entropies, abs=1e-5)


def test_lean_step_declines_models_it_does_not_cover(policy):
    from transformers import AutoModelForCausalLM, GPT2Config

    from agentgym.llm.decode import LeanDecoder

    gpt2 = AutoModelForCausalLM.from_config(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64))
    assert LeanDecoder.for_model(gpt2) is None
    wrapped = load_policy("tiny", device="cpu").model
    proj = wrapped.model.layers[0].self_attn.q_proj
    wrapped.model.layers[0].self_attn.q_proj = torch.nn.Sequential(proj)  # stands in for an adapter
    assert LeanDecoder.for_model(wrapped) is None
    assert LeanDecoder.for_model(policy.model) is not None
