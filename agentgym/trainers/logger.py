"""Metric sinks: JSONL (always), TensorBoard and Weights & Biases (optional), a progress bar."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from agentgym.errors import InvalidConfig

__all__ = ["MetricsLogger", "read_metrics"]

log = logging.getLogger(__name__)


class MetricsLogger:
    """Appends one JSON object per step to `metrics.jsonl`; mirrors to TB/W&B when enabled.

    On resume, `truncate_after(step)` drops lines logged after the checkpoint so the file holds
    each step once.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        tensorboard: bool = False,
        wandb: bool = False,
        config: dict[str, Any] | None = None,
    ):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tb = self._wandb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise InvalidConfig(
                    "trainer.tensorboard needs the `tensorboard` package: pip install tensorboard"
                ) from exc
            self._tb = SummaryWriter(str(self.path.parent / "tb"))
        if wandb:
            try:
                import wandb as wb
            except ImportError as exc:
                raise InvalidConfig("trainer.wandb needs the `wandb` package: pip install wandb") from exc
            self._wandb = wb.init(project="agentgym", dir=str(self.path.parent), config=config or {})

    def truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        keep = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in keep))

    def log(self, step: int, metrics: dict[str, float]) -> None:
        clean = {
            k: (float(v) if isinstance(v, int | float) and math.isfinite(float(v)) else None)
            for k, v in metrics.items()
        }
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **clean}, sort_keys=True) + "\n")
        if self._tb is not None:
            for k, v in clean.items():
                if v is not None:
                    self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log({k: v for k, v in clean.items() if v is not None}, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
