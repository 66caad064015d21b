# The agentgym python sandbox image (used by make_sandbox("docker")).
#
# Normal build (registry reachable):
#   docker build -t agentgym/sandbox:latest -f docker/sandbox.Dockerfile docker/
# Offline build (no registry): make a Debian root filesystem with debootstrap, import it, and
# build on top of it (this is what .ci/suites/20-docker.sh does):
#   debootstrap --variant=minbase --include=python3 bookworm ROOTFS http://deb.debian.org/debian
#   tar -C ROOTFS -c . | docker import - agentgym/sandbox-base:bookworm
#   docker build --build-arg BASE=agentgym/sandbox-base:bookworm -t agentgym/sandbox:latest \
#       -f docker/sandbox.Dockerfile docker/
#
# No RUN steps: the build needs no network, and the image holds only an interpreter. The
# sandbox adds the real restrictions at run time (no network, read-only root, tmpfs /work and
# /tmp, memory/CPU/pids limits, no capabilities, no-new-privileges).
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    HOME=/work \
    PATH=/usr/local/bin:/usr/bin:/bin
# uid/gid 65534 (nobody) exist in every Debian image; numeric so no passwd entry is needed
USER 65534:65534
# No WORKDIR: the sandbox mounts a tmpfs at /work, and an image directory there would be
# copied up over it with root ownership, leaving /work unwritable for uid 65534.
CMD ["sleep", "infinity"]
