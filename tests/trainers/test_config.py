"""Configs: YAML presets load, `--set` overrides, InvalidConfig messages, the algorithm registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.errors import InvalidConfig
from agentgym.trainers.algorithm import (
    Algorithm,
    AlgorithmConfig,
    algorithm_names,
    get_algorithm,
    register_algorithm,
)
from agentgym.trainers.config import field_docs
from agentgym.trainers.run_config import RunConfig, TrainerConfig, load_run_config

_CONFIGS = Path(__file__).resolve().parents[2].joinpath("examples", "configs")
# The trainer presets of this package (other presets in the folder belong to other trainers).
PRESETS = sorted(
    p for prefix in ("calculator", "calc3", "search", "guess") for p in _CONFIGS.glob(f"{prefix}_*.yaml")
)
BASE = {"envs": [{"id": "Calculator-v0"}]}


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_presets_load_and_quick_is_shorter(path):
    full, quick = load_run_config(path), load_run_config(path, quick=True)
    assert type(full.algorithm) is get_algorithm(full.algorithm.name).config_class
    assert quick.trainer.steps <= full.trainer.steps
    assert RunConfig.from_dict(full.to_dict()) == full  # round trip


def test_overrides_and_types(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("envs: [{id: Calculator-v0}]\nalgorithm: {name: igpo}\n")
    cfg = load_run_config(
        p, ["trainer.lr=1e-5", "algorithm.norm=separate", "envs.0.weight=2", "trainer.max_turns=null"]
    )
    assert cfg.trainer.lr == 1e-5 and cfg.algorithm.norm == "separate" and cfg.envs[0].weight == 2.0
    assert cfg.trainer.max_turns is None


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("trainer.lr=fast", r"trainer.lr: expected a number, got 'fast'"),
        ("trainer.stepz=3", r"unknown field `trainer.stepz`.*Did you mean `steps`"),
        ("trainer.group_size=0", r"trainer.group_size must be >= 1"),
        ("algorithm.name=grpoo", r"unknown algorithm 'grpoo'.*Did you mean `grpo`"),
        ("algorithm.loss_agg=mean", r"expected one of \['token-mean'"),
        ("algorithm.dual_clip=0.5", r"dual_clip must be > 1"),
        ("trainer.steps=true", r"expected an integer, got True"),
        ("trainer.optimizer=adam", r"expected one of \['adamw', 'sgd'\]"),
        ("trainer.momentum=1.5", r"trainer.momentum must be in \[0, 1\)"),
        ("oops", r"must look like section.field=value"),
    ],
)
def test_invalid_config_says_how_to_fix(tmp_path, override, match):
    p = tmp_path / "c.yaml"
    p.write_text("envs: [{id: Calculator-v0}]\n")
    with pytest.raises(InvalidConfig, match=match):
        load_run_config(p, [override])


def test_missing_file_and_empty_envs(tmp_path):
    with pytest.raises(InvalidConfig, match="does not exist"):
        load_run_config(tmp_path / "nope.yaml")
    with pytest.raises(InvalidConfig, match="envs is empty"):
        RunConfig.from_dict({})


def test_configs_are_frozen_and_documented():
    cfg = RunConfig.from_dict(BASE)
    with pytest.raises(AttributeError):
        cfg.trainer.lr = 1.0  # type: ignore[misc]
    docs = field_docs(TrainerConfig)
    assert "lr" in docs and "steps" in docs
    for name in algorithm_names():
        cls = get_algorithm(name).config_class
        undocumented = [f for f in cls.__dataclass_fields__ if f not in field_docs(cls)]
        assert not undocumented, f"{cls.__name__} lacks attribute docstrings for {undocumented}"


def test_registry_finds_builtins_and_new_algorithms():
    assert {"grpo", "ppo", "gigpo", "igpo", "epo"} <= set(algorithm_names())

    @register_algorithm
    class Const(Algorithm):
        name = "test-const"
        config_class = AlgorithmConfig

    assert get_algorithm("test-const") is Const
    with pytest.raises(InvalidConfig, match="needs a non-empty `name`"):
        register_algorithm(type("Nameless", (Algorithm,), {}))


def test_cli_rejects_an_invalid_config_with_exit_code_2(tmp_path):
    from typer.testing import CliRunner

    from agentgym.cli import app

    p = tmp_path / "c.yaml"
    p.write_text("envs: [{id: Calculator-v0}]\ntrainer: {lr: fast}\n")
    res = CliRunner().invoke(app, ["train", "--config", str(p), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "trainer.lr: expected a number, got 'fast'" in res.output
    assert not (tmp_path / "run").exists()
