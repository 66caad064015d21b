"""Fixtures for the text-game tests: one cache of generated games and one ALFWorld-format dataset
per test session, so each game is generated once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("textworld", reason="the text-game envs need the `textworld` extra")


@pytest.fixture(scope="session")
def tw_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session's generated TextWorld games live."""
    return tmp_path_factory.mktemp("textworld-games")


@pytest.fixture(scope="session")
def alfworld_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small ALFWorld data root: one generated game per task type, with and without walkthroughs."""
    from agentgym.envs.textgames.household import write_alfworld_dataset

    root = tmp_path_factory.mktemp("alfworld-data")
    write_alfworld_dataset(root, split="train", seeds=(0,), difficulty=2)
    write_alfworld_dataset(root, split="valid_unseen", seeds=(1,), difficulty=3, walkthrough=False)
    return root


def java_missing() -> bool:
    return shutil.which("java") is None


def _fuzz(env, n: int, seed: int = 0, reset_options: dict | None = None) -> int:
    """Send `n` random strings (half wrapped as commands); returns how many steps gave a text
    observation and a finite reward (an exception fails the test)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    alphabet = [
        *"abcdefghijklmnopqrstuvwxyz0123456789 <>/{}\"':,\\\n\t\x00\x1bé中😀",
        "<action>",
        "</action>",
        "go ",
        "take ",
    ]
    env.reset(seed=0, options=reset_options)
    answered = 0
    for i in range(n):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 60))))
        obs, r, term, trunc, _ = env.step(text if i % 2 else f"<action>{text}</action>")
        answered += isinstance(obs, str) and bool(np.isfinite(r))
        if term or trunc:
            env.reset(seed=0, options=reset_options)
    return answered


@pytest.fixture(scope="session")
def fuzz():
    """`fuzz(env, n)`: random strings as actions must never raise."""
    return _fuzz
