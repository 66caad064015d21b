# agentgym trainer on NVIDIA GPUs: CUDA torch + vLLM + agentgym[all].
#
#   docker build -f docker/train-gpu.Dockerfile -t agentgym-train-gpu .
#   docker run --gpus all -v $PWD/runs:/runs agentgym-train-gpu \
#       agentgym train --config examples/configs/search_small.yaml --out /runs/search
#
# vLLM pins its own CUDA torch build, and agentgym's `train` extra pins torch==2.13.0 (the CPU
# reference machines' wheel). So vLLM goes in first and brings its torch; then agentgym with
# every extra except `train`, plus the train extra's other packages (keep this list in step
# with pyproject.toml's `train` extra).
ARG BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
FROM ${BASE}
ARG VLLM_SPEC=vllm
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-dev git build-essential \
    && rm -rf /var/lib/apt/lists/* && python3 -m venv /opt/venv
RUN pip install "${VLLM_SPEC}"
WORKDIR /opt/agentgym
COPY pyproject.toml README.md ./
COPY agentgym ./agentgym
COPY examples ./examples
RUN pip install ".[search,code,server,ray,dev]" "transformers>=4.46" "tokenizers>=0.20" "safetensors>=0.4" \
        "accelerate>=1.0" "matplotlib>=3.7" "tqdm>=4.66" \
    && python -c "import torch, vllm; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'vllm', vllm.__version__)"
WORKDIR /work
CMD ["agentgym", "--help"]
