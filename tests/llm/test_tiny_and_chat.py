"""The default small models, their tokenizer and the chat layout."""

from __future__ import annotations

import pytest

from agentgym.errors import InvalidConfig
from agentgym.llm import SamplingParams, load_policy
from agentgym.llm.tiny import SIZES, build_tokenizer, ensure_tiny_model


def _params(size: str) -> int:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    s = SIZES[size]
    cfg = Qwen2Config(
        vocab_size=len(build_tokenizer()), hidden_size=s.hidden_size, intermediate_size=s.intermediate_size,
        num_hidden_layers=s.num_hidden_layers, num_attention_heads=s.num_attention_heads,
        num_key_value_heads=s.num_attention_heads, tie_word_embeddings=True,
    )  # fmt: skip
    with torch.device("meta"):
        return sum(p.numel() for p in Qwen2ForCausalLM(cfg).parameters())


def test_sizes_match_their_names():
    assert 0.4e6 < _params("tiny") < 2e6
    assert 6e6 < _params("small") < 14e6
    assert 30e6 < _params("base") < 55e6


def test_tokenizer_round_trips_env_text_and_splits_digits():
    tok = build_tokenizer()
    text = "Mia has 1234 stamps. <calculator>(12 + 7) * 3</calculator> Ünïcödé ✓"
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text
    assert [t for t in tok.tokenize("98765") if t.strip("Ġ")] == list("98765")
    for special in ("<|system|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>", "<|pad|>"):
        assert len(tok.encode(special, add_special_tokens=False)) == 1
    assert len(tok) <= 4096 and tok.eos_token == "<|end|>"


def test_unknown_size_says_what_exists():
    with pytest.raises(InvalidConfig, match="small"):
        ensure_tiny_model("smal")


def test_model_dir_is_cached_and_loadable_by_path():
    a, b = ensure_tiny_model("tiny"), ensure_tiny_model("tiny")
    assert a == b and (a / "config.json").exists() and (a / "tokenizer.json").exists()
    p = load_policy(str(a), device="cpu")
    assert p.generate([p.chat.prompt_ids("s", "u")], SamplingParams(max_tokens=3, temperature=0))[0].token_ids


def test_chat_layout_matches_the_template():
    from agentgym.llm.chat import ChatFormat

    tok = build_tokenizer()
    chat = ChatFormat(tok)
    action = "<calculator>1 + 2</calculator>"
    ids = chat.prompt_ids("SYS", "Q?") + chat.action_ids(action)
    ids += chat.observation_ids("<information>3</information>", chat.action_ids(action))
    msgs = [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": action},
        {"role": "tool", "content": "<information>3</information>"},
    ]
    assert tok.decode(ids, skip_special_tokens=False) == chat.render(msgs, add_generation_prompt=True)
    # a stop string ended the action before EOS: the end marker becomes environment text
    ended_early = chat.observation_text("obs", action_ended=False)
    assert ended_early.startswith("<|end|>") and not chat.observation_text(
        "obs", action_ended=True
    ).startswith("<|end|>")


def test_stop_strings_follow_the_action_format():
    import agentgym
    from agentgym.llm import stop_strings_for

    assert set(stop_strings_for(agentgym.make("Calculator-v0"))) == {"</calculator>", "</answer>"}
    assert set(stop_strings_for(agentgym.make("Calculator-v0", action_format="json"))) == {
        "</tool_call>",
        "</answer>",
    }
