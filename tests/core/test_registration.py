"""Registration, `make`, "did you mean", and third-party plugins via entry points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import gymnasium
import pytest

import agentgym
from agentgym.core import registration
from agentgym.errors import EnvNotFound


def test_builtins_are_in_gymnasiums_registry() -> None:
    assert "agentgym/Calculator-v0" in gymnasium.registry
    ids = [e.id for e in agentgym.list_envs()]
    assert "agentgym/Calculator-v0" in ids
    env = agentgym.make("Calculator-v0")  # namespace optional
    assert env.spec.id == "agentgym/Calculator-v0"


def test_unknown_id_suggests() -> None:
    with pytest.raises(EnvNotFound, match="Did you mean `agentgym/Calculator-v0`"):
        agentgym.make("agentgym/Calculater-v0")


def test_register_a_callable_and_a_class() -> None:
    agentgym.register(
        "TmpCalc-v0", lambda **kw: agentgym.make("agentgym/Calculator-v0").unwrapped, description="tmp"
    )
    env = agentgym.make("agentgym/TmpCalc-v0")
    assert isinstance(env.reset(seed=0)[0], str)
    with pytest.raises(ValueError, match="registers under"):
        agentgym.register("other/X-v0", "x:y")


def test_entry_point_plugin_is_discovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "agentgym_dummy_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            import agentgym
            from agentgym.envs.calculator import CalculatorEnv

            class DummyEnv(CalculatorEnv):
                instructions = "A third-party env."

            def register():
                agentgym.register("Dummy-v0", "agentgym_dummy_plugin:DummyEnv", description="from a plugin")
            """
        )
    )
    dist = tmp_path / "agentgym_dummy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: agentgym-dummy-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[agentgym.envs]\ndummy = agentgym_dummy_plugin:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registration, "_plugins_loaded", False)
    try:
        env = agentgym.make("agentgym/Dummy-v0")
        assert env.unwrapped.instructions == "A third-party env."
        assert "agentgym/Dummy-v0" in [e.id for e in agentgym.list_envs()]
    finally:
        gymnasium.registry.pop("agentgym/Dummy-v0", None)
        sys.modules.pop("agentgym_dummy_plugin", None)


def test_broken_plugin_is_logged_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[agentgym.envs]\nbroken = no_such_module_xyz:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registration, "_plugins_loaded", False)
    env = agentgym.make("agentgym/Calculator-v0")
    assert env is not None
    assert "broken" in caplog.text
