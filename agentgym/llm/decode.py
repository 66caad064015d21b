"""A lean one-token decode step for Llama/Qwen2-shaped causal LMs.

`HFPolicy` samples token by token; at the small sizes we train on a CPU, a transformers forward
for one token spends more time in module dispatch, mask construction and output wrappers than in
arithmetic. `LeanDecoder.step` computes the same function straight from the model's own weight
tensors (no copies) and writes into the same KV cache, so prefill, training and scoring keep using
the transformers model. Models of any other shape — other architectures, sliding windows, adapters
or quantised layers that replace `nn.Linear` — get `None` from `LeanDecoder.for_model` and keep the
transformers path.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["LeanDecoder"]

_SUPPORTED = frozenset({"llama", "qwen2"})
_ATTENTION = ("sdpa", "eager")  # implementations whose one-token result equals plain SDPA


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Llama/Qwen2 RMSNorm, computed in float32 and cast back as transformers does."""
    x32 = x.float()
    return weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def _linear(layer: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, layer.weight, layer.bias)


def _plain_layers(model: Any) -> bool:
    """Every projection a plain `nn.Linear` (no adapter, quantisation or hook in between)."""
    for layer in model.model.layers:
        a, mlp = getattr(layer, "self_attn", None), getattr(layer, "mlp", None)
        names = [(a, n) for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
        names += [(mlp, n) for n in ("gate_proj", "up_proj", "down_proj")]
        if any(type(getattr(m, n, None)) is not torch.nn.Linear for m, n in names):
            return False
    return type(model.lm_head) is torch.nn.Linear


class LeanDecoder:
    """One decode step of a supported model, reading its current weights."""

    def __init__(self, model: Any):
        cfg = model.config
        self.model = model
        self.heads = cfg.num_attention_heads
        self.kv_heads = getattr(cfg, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        self.eps = cfg.rms_norm_eps
        self.layers = [
            (layer.input_layernorm, layer.self_attn, layer.post_attention_layernorm, layer.mlp)
            for layer in model.model.layers
        ]

    @classmethod
    def for_model(cls, model: Any) -> LeanDecoder | None:
        """A decoder for `model` if it has the plain Llama/Qwen2 shape, else None."""
        cfg = getattr(model, "config", None)
        inner = getattr(model, "model", None)
        if cfg is None or inner is None or getattr(cfg, "model_type", None) not in _SUPPORTED:
            return None
        if (
            getattr(cfg, "hidden_act", None) != "silu"
            or getattr(cfg, "_attn_implementation", None) not in _ATTENTION
        ):
            return None
        if getattr(cfg, "use_sliding_window", False) or getattr(cfg, "pretraining_tp", 1) != 1:
            return None
        if any(t != "full_attention" for t in getattr(cfg, "layer_types", None) or []):
            return None
        if not hasattr(inner, "rotary_emb") or not _plain_layers(model):
            return None
        return cls(model)

    @torch.no_grad()
    def step(
        self, ids: torch.Tensor, positions: torch.Tensor, cache: Any, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Logits (B, V) after feeding `ids` (B,) at `positions` (B, 1); appends their K/V to `cache`.

        `mask` (B, T) marks the valid cache positions including the new one (None: no padding).
        """
        inner = self.model.model
        x = inner.embed_tokens(ids)[:, None]  # (B, 1, D)
        cos, sin = inner.rotary_emb(x, positions)
        cos, sin = cos[:, None], sin[:, None]  # broadcast over heads
        attn_mask = None if mask is None else mask[:, None, None, :].bool()
        B, gqa = x.shape[0], self.kv_heads != self.heads
        for i, (norm_in, attn, norm_post, mlp) in enumerate(self.layers):
            h = _rms_norm(x, norm_in.weight, self.eps)
            q, k, v = (
                _linear(lin, h).view(B, 1, -1, self.head_dim).transpose(1, 2)
                for lin in (attn.q_proj, attn.k_proj, attn.v_proj)
            )
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            keys, values = cache.update(k, v, i)
            o = F.scaled_dot_product_attention(q, keys, values, attn_mask=attn_mask, enable_gqa=gqa)
            x = x + _linear(attn.o_proj, o.transpose(1, 2).reshape(B, 1, -1))
            h = _rms_norm(x, norm_post.weight, self.eps)
            x = x + _linear(mlp.down_proj, F.silu(_linear(mlp.gate_proj, h)) * _linear(mlp.up_proj, h))
        return _linear(self.model.lm_head, _rms_norm(x, inner.norm.weight, self.eps))[:, -1]
