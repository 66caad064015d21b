"""The default small policy: a Qwen2-architecture model built from a config, no hub access.

Its byte-level BPE tokenizer is trained with `tokenizers` on text from the registered envs
(system prompts, observations, oracle actions), splits digits one by one (arithmetic copies
digits, not whole numbers), and carries role tokens and a chat template. Model and tokenizer
are saved as a normal transformers checkpoint under the user cache dir, so every backend
(transformers, vLLM, an OpenAI server) loads them by path.

>>> from agentgym.llm.tiny import SIZES
>>> sorted(SIZES)
['base', 'small', 'tiny']
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from agentgym.errors import InvalidConfig, did_you_mean

__all__ = ["SIZES", "TinySpec", "build_tokenizer", "cache_dir", "corpus_texts", "ensure_tiny_model"]

log = logging.getLogger(__name__)

ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|tool|>")
END_TOKEN, PAD_TOKEN = "<|end|>", "<|pad|>"
SPECIAL_TOKENS = (PAD_TOKEN, END_TOKEN, *ROLE_TOKENS)
# Each message: role token, newline, content, end token, newline. The assistant's end token is
# the EOS it samples; the newline after it belongs to the next (environment) segment.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
TOKENIZER_VERSION = 1


@dataclass(frozen=True)
class TinySpec:
    """Architecture of one size (Qwen2; head_dim 64 so vLLM's CPU attention accepts it)."""

    hidden_size: int
    num_hidden_layers: int
    intermediate_size: int
    num_attention_heads: int
    max_position_embeddings: int = 2048


SIZES: dict[str, TinySpec] = {
    "tiny": TinySpec(128, 2, 512, 2),  # ≈ 0.7 M parameters with a 2k vocabulary
    "small": TinySpec(256, 8, 1024, 4),  # ≈ 9 M
    "base": TinySpec(512, 10, 2048, 8),  # ≈ 43 M
}


def cache_dir() -> Path:
    """`$AGENTGYM_CACHE` or the platform user cache dir (e.g. ~/.cache/agentgym)."""
    env = os.environ.get("AGENTGYM_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("agentgym"))


# Envs whose text trains the default tokenizer (those registered here are used). The cache key
# is the list actually used, so the tokenizer changes only when one of these appears.
TOKENIZER_ENVS: tuple[str, ...] = ("Calculator-v0", "SearchQA-v0")


def _default_env_ids() -> list[str]:
    import agentgym

    registered = {info.id.split("/", 1)[-1] for info in agentgym.list_envs()}
    return [e for e in TOKENIZER_ENVS if e in registered]


def corpus_texts(
    env_ids: Sequence[str] | None = None, *, seeds: int = 300, time_budget_s: float = 20.0
) -> Iterator[str]:
    """Yield system prompts, observations and oracle actions from oracle episodes.

    An env that cannot be built here (missing extra or data) is skipped with a log line; each
    env gets at most `time_budget_s` seconds.
    """
    import agentgym

    for env_id in env_ids or _default_env_ids():
        try:
            env = agentgym.make(env_id)
        except Exception as exc:  # an optional env may be unavailable; the tokenizer goes on
            log.warning("tokenizer corpus: skipping %s (%s)", env_id, exc)
            continue
        u = env.unwrapped
        yield u.system_prompt
        t0 = time.monotonic()
        for seed in range(seeds):
            if time.monotonic() - t0 > time_budget_s:
                break
            try:
                yield from _oracle_episode_texts(env, u, seed)
            except NotImplementedError:
                break
        env.close()


def _oracle_episode_texts(env, u, seed: int) -> Iterator[str]:
    obs, _ = env.reset(seed=seed)
    yield obs
    for _ in range(64):
        action = u.oracle_action()
        yield action
        obs, _, term, trunc, _ = env.step(action)
        yield obs
        if term or trunc:
            return


def _tokenizer_key(env_ids: Sequence[str], vocab_size: int) -> str:
    raw = json.dumps({"v": TOKENIZER_VERSION, "envs": sorted(env_ids), "vocab": vocab_size})
    return hashlib.sha1(raw.encode()).hexdigest()[:10]


def build_tokenizer(
    out_dir: str | Path | None = None,
    *,
    env_ids: Sequence[str] | None = None,
    vocab_size: int = 2048,
    force: bool = False,
):
    """Train (or load the cached) byte-level BPE tokenizer on env text; returns a HF tokenizer.

    Rebuild after registering new envs with `force=True` (or pass their ids): the cache key is
    the env id list and the vocabulary size.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    ids = list(env_ids or _default_env_ids())
    out = (
        Path(out_dir)
        if out_dir
        else cache_dir() / "tokenizers" / f"bpe{vocab_size}-{_tokenizer_key(ids, vocab_size)}"
    )
    if (out / "tokenizer.json").exists() and not force:
        return PreTrainedTokenizerFast.from_pretrained(str(out))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_texts(ids), trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=END_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=list(ROLE_TOKENS),
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    hf.chat_template = CHAT_TEMPLATE
    out.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(str(out))
    (out / "agentgym_tokenizer.json").write_text(json.dumps({"env_ids": ids, "vocab_size": vocab_size}))
    log.info("trained a %d-token BPE tokenizer on %s -> %s", len(hf), ", ".join(ids), out)
    return hf


def ensure_tiny_model(size: str = "tiny", *, seed: int = 0, force: bool = False, **tokenizer_kw) -> Path:
    """Build (once) a randomly initialised model of `size` and return its checkpoint dir.

    The init is seeded, so the same size, seed and tokenizer give the same weights everywhere.
    """
    if size not in SIZES:
        raise InvalidConfig(
            f"unknown tiny model size {size!r}; expected one of {sorted(SIZES)}.{did_you_mean(size, SIZES)}"
        )
    tokenizer = build_tokenizer(**tokenizer_kw)
    spec = SIZES[size]
    key = hashlib.sha1(
        json.dumps(
            {"spec": asdict(spec), "seed": seed, "vocab": tokenizer.get_vocab()}, sort_keys=True
        ).encode()
    ).hexdigest()[:10]
    out = cache_dir() / "models" / f"{size}-{key}"
    if (out / "config.json").exists() and not force:
        return out
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_attention_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    tmp.replace(out) if not out.exists() else None
    n = sum(p.numel() for p in model.parameters())
    log.info("built the %s model (%.2f M parameters) -> %s", size, n / 1e6, out)
    return out
