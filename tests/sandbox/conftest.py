"""Sandbox fixtures: a bubblewrap process sandbox, and a docker sandbox when an engine is reachable."""

from __future__ import annotations

import os
import shutil

import pytest

from agentgym.errors import SandboxError
from agentgym.tools.sandbox import Limits, ProcessSandbox, bwrap_available

DOCKER_SOCKET = os.path.join(os.environ.get("AGENTGYM_DOCKER_STATE", "/tmp/agentgym-docker"), "docker.sock")
LIMITS = Limits(
    timeout=1.5, memory_mb=256, max_output_bytes=200_000, max_processes=32, max_file_mb=32, tmpfs_mb=64
)


def docker_base_url() -> str | None:
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    return f"unix://{DOCKER_SOCKET}" if os.path.exists(DOCKER_SOCKET) else None


def make_process(limits: Limits = LIMITS, **kw) -> ProcessSandbox:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install -y bubblewrap; .ci/pre/10-bubblewrap.sh)")
    if not bwrap_available():
        pytest.skip("bubblewrap cannot create namespaces here (user namespaces disabled?)")
    return ProcessSandbox(limits, isolation="bwrap", **kw)


def make_docker(limits: Limits = LIMITS, **kw):
    pytest.importorskip("docker", reason="the docker SDK is not installed (pip install 'agentgym[code]')")
    from agentgym.tools.sandbox.docker_backend import DockerSandbox

    try:
        return DockerSandbox(limits, base_url=docker_base_url(), **kw)
    except SandboxError as exc:
        pytest.skip(f"no usable Docker engine/image: {exc}")


@pytest.fixture(scope="module")
def process_sandbox():
    sb = make_process()
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def docker_sandbox():
    sb = make_docker()
    yield sb
    sb.close()


@pytest.fixture(scope="module", params=["process", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request):
    sb = make_process() if request.param == "process" else make_docker()
    yield sb
    sb.close()
