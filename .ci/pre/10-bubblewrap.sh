#!/usr/bin/env bash
# The process sandbox needs bubblewrap (and setpriv + prlimit, from util-linux, present on Debian) for full isolation.
# Without it the sandbox falls back to unshare-only isolation and its bwrap tests skip.
set -uo pipefail
if command -v bwrap >/dev/null 2>&1; then
  echo "bubblewrap present: $(bwrap --version)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bubblewrap missing and not root: cannot install it (process-sandbox bwrap tests will skip)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq bubblewrap >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; } \
  || echo "could not install bubblewrap (process-sandbox bwrap tests will skip)"
command -v bwrap >/dev/null 2>&1 && echo "installed $(bwrap --version)"
exit 0
