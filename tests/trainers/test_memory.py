"""release_freed_memory: glibc's malloc_trim where present, a no-op elsewhere."""

from __future__ import annotations

import platform

import pytest

from agentgym.trainers import memory


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def test_release_freed_memory_returns_scattered_free_chunks_to_the_os() -> None:
    if platform.system() != "Linux" or not platform.libc_ver()[0].startswith("glibc"):
        pytest.skip("malloc_trim is glibc's; elsewhere release_freed_memory is a no-op (next test)")
    # scatter ~400 MB of small-ish blocks, then free all but every 8th: the survivors pin the
    # heap, so without a trim glibc keeps the freed pages between them
    blocks = [bytearray(100_000) for _ in range(4000)]
    keep = blocks[::8]
    del blocks
    before = _rss_mb()
    assert memory.release_freed_memory() is True
    after = _rss_mb()
    assert len(keep) == 500
    assert after < before - 100, (before, after)


def test_release_freed_memory_is_a_no_op_without_glibc(monkeypatch) -> None:
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.release_freed_memory() is False
