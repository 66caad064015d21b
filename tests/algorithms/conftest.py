"""Single-threaded torch for these small-tensor tests: on a loaded 2-core machine, intra-op threads
only add contention (a 16-wide critic step is ~40× slower with 2 threads under load)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
