"""`HFPolicy`: a transformers causal LM as sampler, scorer and trainable module.

Generation is a plain KV-cache loop over a left-padded batch (no `generate()`): it needs the
raw per-token log-probs and full-vocabulary entropies of what was sampled, stop strings, and a
generator per (prompt, sample) so a completion does not depend on its batch. Finished rows
leave the batch (their cache rows are dropped). Decode steps of Llama/Qwen2-shaped models use
`agentgym.llm.decode.LeanDecoder` (the same function without transformers' per-call overhead).

Inside `with policy.prefix_cache():` each finished row's KV is kept, and a later prompt that
extends a kept sequence (turn t+1 = turn t's context + action + observation) prefills only its
new tokens. The collector opens one such scope per `run`, so weights never change under it.
"""

from __future__ import annotations

import inspect
import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from agentgym.llm.base import Completion, SamplingParams, derive_seed
from agentgym.llm.chat import ChatFormat
from agentgym.llm.decode import LeanDecoder

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


KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values shaped (heads, tokens, head_dim)


class _KVStore:
    """Finished sequences' KV caches, keyed by their token ids, least recently used evicted first."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[int, ...], KV] = OrderedDict()
        self.used: set[tuple[int, ...]] = set()
        self.hits = self.reused_tokens = 0

    def longest_prefix(self, prompt: Sequence[int]) -> tuple[tuple[int, ...], KV] | None:
        """The longest kept sequence that is a proper prefix of `prompt` (one token must stay new)."""
        best, whole = None, tuple(prompt)
        for key in self.entries:
            if len(key) < len(whole) and (best is None or len(key) > len(best)) and whole[: len(key)] == key:
                best = key
        if best is None:
            return None
        self.used.add(best)
        self.hits += 1
        self.reused_tokens += len(best)
        self.entries.move_to_end(best)
        return best, self.entries[best]

    def put(self, tokens: tuple[int, ...], kv: KV) -> None:
        self.entries[tokens] = kv
        self.entries.move_to_end(tokens)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def drop_used(self) -> None:
        """A consumed prefix is superseded by its extension: free it once the call is over."""
        for key in self.used:
            self.entries.pop(key, None)
        self.used.clear()


class _Row:
    """Bookkeeping of one (prompt, sample) row during generation."""

    def __init__(self) -> None:
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
        self._kv_store: _KVStore | None = None
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
    @contextmanager
    def prefix_cache(self, max_entries: int | None = None) -> Iterator[_KVStore]:
        """Reuse KV caches across `generate` calls within this scope (multi-turn prefill saving).

        Only valid while the weights stay fixed; the store is dropped when the scope ends. Keeps at
        most `max_entries` sequences (default 4 × `max_batch`); consumed prefixes are freed.
        """
        previous = self._kv_store
        self._kv_store = _KVStore(max_entries or 4 * self.max_batch)
        try:
            yield self._kv_store
        finally:
            self._kv_store = previous

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
            if self._kv_store is not None:
                self._kv_store.drop_used()

    def _new_cache(self, reserve: int) -> Any:
        """A DynamicCache whose plain layers append into spare room (see `_growing_layer`)."""
        from transformers import DynamicCache

        try:
            cache = DynamicCache(config=self.model.config)
        except TypeError:  # transformers < 4.56
            return DynamicCache()
        layer_type = _growing_layer()
        layers = getattr(cache, "layers", None)
        if layer_type is not None and layers and all(type(x) is layer_type.__base__ for x in layers):
            cache.layers = [layer_type(reserve) for _ in layers]
        return cache

    def _prefill(self, prompts: list[list[int]], reserve: int) -> tuple[Any, torch.Tensor, torch.Tensor]:
        """Run the prompts through the model: (cache, attention mask, last-position logits).

        Rows whose prompt extends a kept sequence start from its KV (left-padded to a common
        length) and feed only their new tokens, at positions continuing the kept ones.
        """
        dev = self.device
        store = self._kv_store
        hits = [store.longest_prefix(p) if store is not None else None for p in prompts]
        cache = self._new_cache(reserve)
        if not any(hits):
            ids, mask = pad_left(prompts, self.pad_id, dev)
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
        else:
            kept = [len(h[0]) if h else 0 for h in hits]
            width = max(kept)
            ids, new_mask = pad_left([p[n:] for p, n in zip(prompts, kept, strict=True)], self.pad_id, dev)
            old_mask = torch.zeros((len(prompts), width), dtype=torch.long, device=dev)
            some = next(h[1] for h in hits if h)
            for layer, (k0, v0) in enumerate(some):
                keys = k0.new_zeros((len(prompts), k0.shape[0], width, k0.shape[2]))
                values = v0.new_zeros((len(prompts), v0.shape[0], width, v0.shape[2]))
                for b, h in enumerate(hits):
                    if h:
                        keys[b, :, width - kept[b] :] = h[1][layer][0]
                        values[b, :, width - kept[b] :] = h[1][layer][1]
                cache.update(keys, values, layer)
            for b, n in enumerate(kept):
                old_mask[b, width - n :] = 1
            mask = torch.cat([old_mask, new_mask], dim=1)
            start = torch.tensor(kept, device=dev)[:, None]
            pos = (start + new_mask.cumsum(-1) - 1).clamp(min=0)
        logits = self.model(
            input_ids=ids,
            attention_mask=_unless_full(mask),
            position_ids=pos,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kw: cache},
        ).logits[:, -1]  # (B, V)
        return cache, mask, logits

    def _keep(self, cache: Any, mask: torch.Tensor, batch_rows: list[int], tokens: list[list[int]]) -> None:
        """Store the KV of the given batch rows (whose fed tokens are `tokens[i]`) for later prefixes."""
        store = self._kv_store
        for b, seq in zip(batch_rows, tokens, strict=True):
            valid = mask[b].bool()
            if int(valid.sum()) != len(seq):
                continue  # never store a cache that does not match its key
            kv = [
                (layer.keys[b][:, valid].clone(), layer.values[b][:, valid].clone()) for layer in cache.layers
            ]
            store.put(tuple(seq), kv)

    def _generate_batch(
        self, prompts: list[list[int]], seeds: list[int], sp: SamplingParams
    ) -> list[Completion]:
        dev = self.device
        rows = [_Row() for _ in seeds]
        # each row's random stream, drawn up front from its own seed: (rows, max_tokens)
        uniforms = (
            None
            if sp.greedy
            else torch.stack(
                [torch.rand(sp.max_tokens, generator=torch.Generator().manual_seed(s)) for s in seeds]
            ).to(dev)
        )
        cache, mask, logits = self._prefill(prompts, reserve=sp.max_tokens)
        padded = _unless_full(mask) is not None  # new tokens never add padding
        lean = LeanDecoder.for_model(self.model)
        keep_kv = self._kv_store is not None and hasattr(cache, "layers")
        live = list(range(len(rows)))  # row index of each batch position
        for step in range(sp.max_tokens):
            u = None if uniforms is None else uniforms[torch.tensor(live, device=dev), step]
            nxt = self._choose(logits, [rows[r] for r in live], sp, u)  # (B_live,)
            keep = [
                b
                for b, r in enumerate(live)
                if rows[r].finish == "length" and len(rows[r].ids) < sp.max_tokens
            ]
            if keep_kv:  # rows leaving now: their last sampled token was never fed
                kept = set(keep)
                gone = [b for b in range(len(live)) if b not in kept]
                self._keep(cache, mask, gone, [prompts[live[b]] + rows[live[b]].ids[:-1] for b in gone])
            if not keep:
                break
            if len(keep) < len(live):
                cache.batch_select_indices(torch.tensor(keep, device=dev))
                mask, nxt = mask[keep], nxt[keep]
                live = [live[b] for b in keep]
            mask = torch.cat([mask, mask.new_ones((len(live), 1))], dim=1)
            pos = mask.sum(-1, keepdim=True) - 1
            if lean is not None:
                logits = lean.step(nxt, pos, cache, mask if padded else None)
            else:
                logits = self.model(
                    input_ids=nxt[:, None],
                    attention_mask=mask if padded else None,
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

    def _choose(
        self, logits: torch.Tensor, rows: list[_Row], sp: SamplingParams, uniforms: torch.Tensor | None
    ) -> torch.Tensor:
        """Pick one token per row; record its logprob, entropy and whether the row finished.

        Sampling inverts each row's CDF at that row's own pre-drawn uniform (`uniforms`, one per
        live row), so a row's tokens depend only on its seed, and the batch needs no per-row calls.
        """
        z = logits.float() / (sp.temperature if sp.temperature > 0 else 1.0)
        logp = F.log_softmax(z, dim=-1)  # (B, V)
        p = logp.exp()
        ent = -(p * logp).sum(-1)
        if uniforms is None:  # greedy
            nxt = logp.argmax(-1)
        else:
            cdf = _top_p(p, sp.top_p).double().cumsum(-1)
            target = (uniforms.double() * cdf[:, -1])[:, None]
            nxt = torch.searchsorted(cdf, target, right=True).squeeze(-1).clamp(max=cdf.shape[-1] - 1)
        lp = logp.gather(-1, nxt[:, None]).squeeze(-1)
        for r, tid, lpv, h in zip(rows, nxt.tolist(), lp.tolist(), ent.tolist(), strict=True):
            r.ids.append(tid)
            r.logprobs.append(lpv)
            r.entropies.append(h)
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


def _unless_full(mask: torch.Tensor) -> torch.Tensor | None:
    """The mask, or None when it masks nothing (the model then skips building a 4-D mask)."""
    return None if bool(mask.all()) else mask


@lru_cache(maxsize=1)
def _growing_layer() -> type | None:
    """A DynamicLayer subclass that writes new tokens into preallocated room.

    The stock layer concatenates the whole cache with each new token: at batch 32 that copy was
    a sixth of a rollout's time (benchmarks/rollout.py). This one reserves the decode budget at
    prefill and appends in place; if anything replaces its tensors (batch selection, crop), the
    next update rebuilds the room from them, so stock behaviour is kept.
    """
    try:
        from transformers.cache_utils import DynamicLayer
    except ImportError:  # transformers < 4.56 has no cache layers
        return None

    class GrowingLayer(DynamicLayer):
        def __init__(self, reserve: int = 0, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.reserve = reserve
            self._room: tuple[torch.Tensor, torch.Tensor] | None = None
            self._view: torch.Tensor | None = None

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n, new = self.get_seq_length(), key_states.shape[-2]
            if self._room is None or self.keys is not self._view or n + new > self._room[0].shape[-2]:
                self._make_room(key_states, value_states, n, n + new + max(self.reserve, n // 2))
            keys, values = self._room
            keys[..., n : n + new, :] = key_states
            values[..., n : n + new, :] = value_states
            self.keys, self.values = keys[..., : n + new, :], values[..., : n + new, :]
            self._view = self.keys
            return self.keys, self.values

        def _make_room(self, k: torch.Tensor, v: torch.Tensor, n: int, size: int) -> None:
            rooms = []
            for new, old in ((k, self.keys), (v, self.values)):
                room = new.new_empty((*new.shape[:-2], size, new.shape[-1]))
                if n:
                    room[..., :n, :] = old
                rooms.append(room)
            self._room = (rooms[0], rooms[1])

    return GrowingLayer


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
