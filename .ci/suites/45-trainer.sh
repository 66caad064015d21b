#!/usr/bin/env bash
# Trainer exactness suite: kill -9 + --resume reproduces an uninterrupted run, a corrupt checkpoint
# is refused by name, and 2-process DDP (gloo, torch.distributed.run) matches one process.
# CPU only, tiny policy; a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1
.venv/bin/pytest -m slow -q -p no:cacheprovider tests/trainers/test_resume_ddp.py
