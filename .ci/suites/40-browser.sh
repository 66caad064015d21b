#!/usr/bin/env bash
# Headless-browser check of the evaluation report (pytest -m browser tests/eval).
#
# Installs Debian's `chromium` when no Chromium is on PATH, renders report.html, checks that the
# summary and one transcript render, and saves the screenshot as tests/artifacts/eval_report.png.
# If Chromium cannot be installed, it says why and exits 0 (the browser test then skips).
set -uo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive HF_HUB_OFFLINE=1
have_browser() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
if ! have_browser; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }
  fi
fi
have_browser || { echo "SKIP browser suite: chromium is not installed and could not be installed (need root and the Debian mirror)"; exit 0; }
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" -m pytest -q -m browser tests/eval -p no:cacheprovider
status=$?
[ -f tests/artifacts/eval_report.png ] && echo "screenshot: tests/artifacts/eval_report.png ($(stat -c %s tests/artifacts/eval_report.png) bytes)"
exit $status
