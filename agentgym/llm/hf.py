"""`HFPolicy`: a transformers causal LM as sampler, scorer and trainable module.

Generation is a plain KV-cache loop over a left-padded batch (no `generate()`): it needs the
raw per-token log-probs and full-vocabulary entropies of what was sampled, stop strings, and a
generator per (prompt, sample) so a completion does not depend on its batch. Finished rows
leave the batch (their cache rows are dropped).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from agentgym.llm.base import Completion, SamplingParams, derive_seed
from agentgym.llm.chat import ChatFormat

__all__ = ["HFPolicy", "pad_left", "token_logprobs"]

log = logging.getLogger(__name__)


def pad_left(seqs: Sequence[Sequence[int]], pad_id: int, device: torch.device | str = "cpu"):
    """(B, T) ids and attention mask, left-padded (batched greedy decoding equals unbatched only so)."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            ids[i, T - len(s) :] = torch.tensor(list(s), dtype=torch.long)
            mask[i, T - len(s) :] = 1
    return ids.to(device), mask.to(device)


def token_logprobs(logits: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-prob of `ids` under `logits` and the full-vocabulary entropy, both shaped like `ids`.

    Entropy H = logsumexp(z) − Σ softmax(z)·z, computed through log_softmax for stability.
    """
    logp = F.log_softmax(logits.float(), dim=-1)  # (..., V)
    lp = logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    ent = -(logp.exp() * logp).sum(-1)
    return lp, ent


class _Row:
    """Bookkeeping of one (prompt, sample) row during generation."""

    def __init__(self, seed: int, device: torch.device):
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.ids: list[int] = []
        self.logprobs: list[float] = []
        self.entropies: list[float] = []
        self.text = ""
        self.finish = "length"


class HFPolicy:
    """A transformers causal LM behind the `LLM` protocol, plus training-time scoring.

    >>> from agentgym.llm import load_policy, SamplingParams
    >>> policy = load_policy("tiny")
    >>> out = policy.generate([policy.chat.prompt_ids("Be brief.", "Hi")], SamplingParams(max_tokens=4, temperature=0))
    >>> len(out[0].token_ids) <= 4
    True
    """

    def __init__(self, model: Any, tokenizer: Any, *, chat: ChatFormat | None = None, max_batch: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.chat = chat or ChatFormat(tokenizer, observation_role=_observation_role(tokenizer))
        self.max_batch = max_batch
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.eos_ids = {tokenizer.eos_token_id} | set(
            _as_list(getattr(model.generation_config, "eos_token_id", None))
        )
        self._piece: dict[int, str] = {}
        # transformers 5 renamed `past_key_values` to `cache`; accept both.
        params = inspect.signature(type(model).forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        device: str | None = None,
        dtype: str | torch.dtype = "float32",
        gradient_checkpointing: bool = False,
        attn_implementation: str = "sdpa",
        **kw: Any,
    ) -> HFPolicy:
        """Load a checkpoint dir or hub name. `dtype="bfloat16"` and gradient checkpointing are for GPUs."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        import transformers

        dtype_kw = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
        model = AutoModelForCausalLM.from_pretrained(
            str(path), attn_implementation=attn_implementation, **{dtype_kw: dtype}
        )
        model.to(device).eval()
        if gradient_checkpointing:
            model.gradient_checkpointing_enable()
            model.config.use_cache = False
        return cls(model, tokenizer, **kw)

    def save_pretrained(self, path: str | Path) -> None:
        self.model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def parameters(self):
        return self.model.parameters()

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def generate(
        self, prompts: list[list[int]], sampling: SamplingParams, *, seeds: list[int] | None = None
    ) -> list[Completion]:
        """Sample `sampling.n` completions per prompt (prompt-major), with logprobs and entropies.

        `seeds[i]` seeds prompt i's generators (default: derived from `sampling.seed` and i).
        """
        if seeds is not None and len(seeds) != len(prompts):
            raise ValueError(f"seeds must have one entry per prompt ({len(prompts)}), got {len(seeds)}")
        jobs = [
            (p, derive_seed(sampling.seed if seeds is None else seeds[i], i if seeds is None else 0, j))
            for i, p in enumerate(prompts)
            for j in range(sampling.n)
        ]
        was_training = self.model.training
        self.model.eval()
        try:
            out: list[Completion] = []
            for k in range(0, len(jobs), self.max_batch):
                chunk = jobs[k : k + self.max_batch]
                out.extend(self._generate_batch([p for p, _ in chunk], [s for _, s in chunk], sampling))
            return out
        finally:
            self.model.train(was_training)

    def _generate_batch(
        self, prompts: list[list[int]], seeds: list[int], sp: SamplingParams
    ) -> list[Completion]:
        from transformers import DynamicCache

        dev = self.device
        rows = [_Row(s, dev) for s in seeds]
        ids, mask = pad_left(prompts, self.pad_id, dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        try:
            cache = DynamicCache(config=self.model.config)
        except TypeError:  # transformers < 4.56
            cache = DynamicCache()
        logits = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=pos,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kw: cache},
        ).logits[:, -1]  # (B, V)
        live = list(range(len(rows)))  # row index of each batch position
        for _ in range(sp.max_tokens):
            nxt = self._choose(logits, [rows[r] for r in live], sp)  # (B_live,)
            keep = [
                b
                for b, r in enumerate(live)
                if rows[r].finish == "length" and len(rows[r].ids) < sp.max_tokens
            ]
            if not keep:
                break
            if len(keep) < len(live):
                cache.batch_select_indices(torch.tensor(keep, device=dev))
                mask, nxt = mask[keep], nxt[keep]
                live = [live[b] for b in keep]
            mask = torch.cat([mask, mask.new_ones((len(live), 1))], dim=1)
            pos = mask.sum(-1, keepdim=True) - 1
            logits = self.model(
                input_ids=nxt[:, None],
                attention_mask=mask,
                position_ids=pos,
                use_cache=True,
                **{self._cache_kw: cache},
            ).logits[:, -1]
        return [
            Completion(
                token_ids=r.ids,
                text=self.tokenizer.decode(r.ids, skip_special_tokens=True),
                logprobs=r.logprobs,
                entropies=r.entropies,
                finish_reason=r.finish,
            )
            for r in rows
        ]

    def _choose(self, logits: torch.Tensor, rows: list[_Row], sp: SamplingParams) -> torch.Tensor:
        """Pick one token per row; record its logprob, entropy and whether the row finished."""
        z = logits.float() / (sp.temperature if sp.temperature > 0 else 1.0)
        logp = F.log_softmax(z, dim=-1)  # (B, V)
        ent = -(logp.exp() * logp).sum(-1)
        if sp.greedy:
            nxt = logp.argmax(-1)
        else:
            probs = _top_p(logp.exp(), sp.top_p)
            nxt = torch.stack(
                [torch.multinomial(probs[b], 1, generator=r.gen)[0] for b, r in enumerate(rows)]
            )
        lp = logp.gather(-1, nxt[:, None]).squeeze(-1)
        for b, r in enumerate(rows):
            tid = int(nxt[b])
            r.ids.append(tid)
            r.logprobs.append(float(lp[b]))
            r.entropies.append(float(ent[b]))
            if tid in self.eos_ids:
                r.finish = "stop"
            elif sp.stop:
                r.text += self._token_text(tid)
                tail = r.text[-(max(len(s) for s in sp.stop) + 32) :]
                if any(s in tail for s in sp.stop):
                    r.finish = "stop"
        return nxt

    def _token_text(self, tid: int) -> str:
        piece = self._piece.get(tid)
        if piece is None:
            piece = self._piece[tid] = self.tokenizer.decode([tid], skip_special_tokens=False)
        return piece

    # ----------------------------------------------------------------- training-time scoring
    def forward_logprobs(
        self, batch: Mapping[str, torch.Tensor], *, temperature: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log π(token_t | tokens_<t) and the entropy at t, aligned with `input_ids` (t = 0 gets 0).

        Takes 1-D tensors (one trajectory) or a padded (B, T) batch with `attention_mask`;
        differentiable (call under `torch.no_grad()` for old/ref logprobs).
        """
        ids = batch["input_ids"].to(self.device)
        single = ids.dim() == 1
        ids = ids[None] if single else ids
        mask = batch.get("attention_mask")
        mask = torch.ones_like(ids) if mask is None else mask.to(self.device).reshape(ids.shape)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).logits
        lp, ent = token_logprobs(logits[:, :-1] / temperature, ids[:, 1:])  # (B, T-1)
        zero = lp.new_zeros((ids.shape[0], 1))
        lp, ent = torch.cat([zero, lp], 1) * mask, torch.cat([zero, ent], 1) * mask
        return (lp[0], ent[0]) if single else (lp, ent)

    @torch.no_grad()
    def score(
        self, contexts: list[list[int]], continuations: list[list[int]], *, batch_size: int = 16
    ) -> list[float]:
        """Teacher-forced mean log-prob of each continuation after its context (IGPO's belief)."""
        if len(contexts) != len(continuations):
            raise ValueError(f"{len(contexts)} contexts but {len(continuations)} continuations")
        from agentgym.rollout.tensors import pad_batch

        out: list[float] = []
        for k in range(0, len(contexts), batch_size):
            items = []
            for c, x in zip(contexts[k : k + batch_size], continuations[k : k + batch_size], strict=True):
                seq = torch.tensor([*c, *x], dtype=torch.long)
                span = torch.zeros(len(seq), dtype=torch.long)
                span[len(c) :] = 1
                items.append({"input_ids": seq, "loss_mask": span})
            batch = pad_batch(items, pad_id=self.pad_id)
            lp, _ = self.forward_logprobs(batch)
            m = batch["loss_mask"].to(lp.device).float()
            out.extend((lp * m).sum(-1).div(m.sum(-1).clamp(min=1)).tolist())
        return out


def _top_p(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    if top_p >= 1.0:
        return probs
    sorted_p, idx = probs.sort(-1, descending=True)
    drop = sorted_p.cumsum(-1) - sorted_p > top_p
    sorted_p = sorted_p.masked_fill(drop, 0.0)
    return torch.zeros_like(probs).scatter(-1, idx, sorted_p)


def _as_list(x: Any) -> list[int]:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [int(x)]


def _observation_role(tokenizer: Any) -> str:
    template = getattr(tokenizer, "chat_template", None) or ""
    has_tool = "<|tool|>" in tokenizer.get_vocab() or "'tool'" in template or '"tool"' in template
    return "tool" if has_tool else "user"
