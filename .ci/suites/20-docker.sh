#!/usr/bin/env bash
# Docker-backend sandbox tests against a real engine started here, offline.
#
# Installs docker.io + debootstrap, starts dockerd on a private socket with no bridge and no
# iptables, builds the sandbox image from a debootstrap root filesystem (registries are
# unreachable in CI), runs `pytest -m docker tests/sandbox`, and stops the daemon. If the engine
# cannot start, it says why and exits 0 (the docker tests are then skipped, not failed).
# Also runs the `slow` sandbox tests (HumanEval 164/164 through the process backend).
# Reuses an engine already answering on $AGENTGYM_DOCKER_STATE/docker.sock (and leaves it running).
set -uo pipefail
cd "$(dirname "$0")/../.."
STATE=${AGENTGYM_DOCKER_STATE:-/tmp/agentgym-docker}
SOCK="$STATE/docker.sock"
IMAGE=agentgym/sandbox:latest
BASE=agentgym/sandbox-base:bookworm
export DOCKER_HOST="unix://$SOCK" DEBIAN_FRONTEND=noninteractive
skip() { echo "SKIP docker suite: $*"; exit 0; }

install() {  # install apt packages whose command is missing
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || return 1
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}
install dockerd docker.io || skip "cannot install docker.io (need root and the Debian mirror)"
install debootstrap debootstrap || skip "cannot install debootstrap"
mkdir -p "$STATE"

started=""
if ! docker info >/dev/null 2>&1; then
  dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --data-root "$STATE/data" --exec-root "$STATE/exec" --pidfile "$STATE/dockerd.pid" \
    -H "$DOCKER_HOST" >"$STATE/dockerd.log" 2>&1 &
  started=$!
  trap 'kill "$started" 2>/dev/null; wait "$started" 2>/dev/null' EXIT
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || skip "dockerd did not start: $(tail -3 "$STATE/dockerd.log" | tr '\n' ' ')"
fi
echo "docker engine $(docker version --format '{{.Server.Version}}') on $DOCKER_HOST"

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    ROOTFS="$STATE/rootfs"
    if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
      rm -rf "$ROOTFS"
      debootstrap --variant=minbase --include=python3 bookworm "$ROOTFS" http://deb.debian.org/debian \
        >"$STATE/debootstrap.log" 2>&1 || skip "debootstrap failed: $(tail -2 "$STATE/debootstrap.log" | tr '\n' ' ')"
    fi
    tar -C "$ROOTFS" -c . | docker import - "$BASE" >/dev/null || skip "docker import of the rootfs failed"
  fi
  docker build -q --network none --build-arg BASE="$BASE" -t "$IMAGE" -f docker/sandbox.Dockerfile docker/ \
    || { echo "FAILED: docker build of $IMAGE"; exit 1; }
fi

.venv/bin/pytest -m "docker or slow" tests/sandbox -q -p no:cacheprovider
rc=$?
leftover=$(docker ps -aq --filter label=agentgym.sandbox | wc -l)
if [ "$leftover" != 0 ]; then
  echo "FAILED: $leftover sandbox containers were left behind"; docker rm -f $(docker ps -aq --filter label=agentgym.sandbox) >/dev/null
  rc=1
fi
exit $rc
