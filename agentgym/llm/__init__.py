"""Policy and generation backends behind one `LLM` protocol, and `load_policy(spec)`.

Specs (the same as `--model` everywhere): `tiny` | `small` | `base` (agentgym's small models,
built from a config), a local checkpoint dir or hub name (transformers), `vllm:PATH` (vLLM
offline engine), `openai:BASE_URL[#MODEL]` (any OpenAI-compatible server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentgym.llm.base import LLM, Completion, SamplingParams, derive_seed
from agentgym.llm.chat import ChatFormat, stop_strings_for

if TYPE_CHECKING:
    from agentgym.llm.hf import HFPolicy
    from agentgym.llm.openai_chat import OpenAIChat
    from agentgym.llm.vllm_engine import VLLMEngine

__all__ = [
    "LLM",
    "ChatFormat",
    "Completion",
    "HFPolicy",
    "OpenAIChat",
    "SamplingParams",
    "VLLMEngine",
    "derive_seed",
    "load_policy",
    "stop_strings_for",
]

_LAZY = {
    "HFPolicy": "agentgym.llm.hf",
    "OpenAIChat": "agentgym.llm.openai_chat",
    "VLLMEngine": "agentgym.llm.vllm_engine",
}


def __getattr__(name: str) -> Any:  # torch, httpx and vllm load only when used
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentgym.llm' has no attribute {name!r}")


def load_policy(spec: str, **kw: Any) -> Any:
    """Build a policy from a `--model` spec.

    Args:
        spec: `tiny|small|base`, `PATH`, `HUB_NAME`, `vllm:PATH_OR_SIZE` or `openai:BASE_URL[#MODEL]`.
        **kw: backend options (`device`, `dtype`, `seed` for the small models, `api_key`, ...).
    """
    from agentgym.llm.tiny import SIZES, ensure_tiny_model

    if spec.startswith("openai:"):
        from agentgym.llm.openai_chat import OpenAIChat

        url, _, model = spec[len("openai:") :].partition("#")
        return OpenAIChat(url, model=model or None, **kw)
    if spec.startswith("vllm:"):
        from agentgym.llm.vllm_engine import VLLMEngine

        path = spec[len("vllm:") :]
        return VLLMEngine(str(ensure_tiny_model(path)) if path in SIZES else path, **kw)
    from agentgym.llm.hf import HFPolicy

    if spec in SIZES:
        seed = kw.pop("seed", 0)
        return HFPolicy.from_pretrained(ensure_tiny_model(spec, seed=seed), **kw)
    return HFPolicy.from_pretrained(spec, **kw)
