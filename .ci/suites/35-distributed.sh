#!/usr/bin/env bash
# Ray/collector equivalence: agentgym.rollout.collect on RayEnvPool proxies equals the in-process
# collector (tiny policy, greedy and seeded sampling). Marked `slow` (a few minutes on 2 CPUs);
# it skips with a printed reason when Ray or the `train` extra is absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/pytest -q -m slow tests/distributed
