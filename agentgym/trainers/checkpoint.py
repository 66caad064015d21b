"""Checkpoints: one directory per step, written atomically, verified on load.

`ckpt-000010/` holds `state.pt` (policy, critic and optimizer state, LR scheduler, RNG states,
step, algorithm state) and `COMPLETE` (the sha256 of state.pt). A directory without a matching
`COMPLETE` — a run killed mid-save, a truncated or edited file — is refused with an error that
names the file, never silently loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agentgym.errors import AgentGymError

__all__ = [
    "CheckpointError",
    "capture_rng",
    "latest_checkpoint",
    "load_checkpoint",
    "restore_rng",
    "save_checkpoint",
]

log = logging.getLogger(__name__)
_NAME = re.compile(r"^ckpt-(\d{6,})$")


class CheckpointError(AgentGymError):
    """A checkpoint is missing, partial or corrupt."""


def capture_rng() -> dict[str, Any]:
    """Python, NumPy and torch RNG states (CPU, and CUDA when present)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(run_dir: str | Path, step: int, state: dict[str, Any], *, keep: int = 2) -> Path:
    """Write `state` as ckpt-<step>/ atomically (temp dir + rename) and prune old checkpoints."""
    run_dir = Path(run_dir)
    final = run_dir / f"ckpt-{step:06d}"
    tmp = run_dir / f".tmp-ckpt-{step:06d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(state, tmp / "state.pt")
    (tmp / "COMPLETE").write_text(_sha256(tmp / "state.pt") + "\n")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if keep > 0:
        for old in sorted(_checkpoints(run_dir))[:-keep]:
            shutil.rmtree(old[1], ignore_errors=True)
    log.info("saved checkpoint %s", final)
    return final


def _checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    out = []
    for p in run_dir.iterdir() if run_dir.is_dir() else []:
        m = _NAME.match(p.name)
        if m and p.is_dir():
            out.append((int(m.group(1)), p))
    return out


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest ckpt-* dir of a run (complete or not: `load_checkpoint` verifies it)."""
    found = sorted(_checkpoints(Path(run_dir)))
    return found[-1][1] if found else None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and verify a checkpoint dir; raises CheckpointError naming the bad file."""
    path = Path(path)
    state_file, marker = path / "state.pt", path / "COMPLETE"
    if not state_file.is_file():
        raise CheckpointError(
            f"checkpoint {path} has no {state_file.name}: expected {state_file}; it is partial — delete {path} and resume from an older one"
        )
    if not marker.is_file():
        raise CheckpointError(
            f"checkpoint file {state_file} has no COMPLETE marker (the save was interrupted); delete {path} to resume from an older checkpoint"
        )
    expected = marker.read_text().strip()
    actual = _sha256(state_file)
    if expected != actual:
        raise CheckpointError(
            f"checkpoint file {state_file} is corrupt: sha256 {actual[:12]}… does not match {marker} ({expected[:12]}…); delete {path}"
        )
    try:
        return torch.load(state_file, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for bad pickles
        raise CheckpointError(f"checkpoint file {state_file} could not be read: {exc}") from exc
