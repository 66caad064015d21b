"""Config machinery: frozen keyword-only dataclasses, type-checked from YAML, `--set a.b=c` overrides.

Every config class documents each field with an attribute docstring (unit, paper symbol, paper
default); `field_docs(cls)` reads them back for `--help` and docs. `from_dict` checks every field's
type and rejects unknown keys with a "did you mean", raising `InvalidConfig` that says how to fix it.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from agentgym.errors import InvalidConfig, did_you_mean

__all__ = ["ConfigBase", "apply_overrides", "field_docs", "load_yaml", "parse_overrides"]

C = TypeVar("C", bound="ConfigBase")


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of a dataclass and its bases: {field: doc}."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting YAML shapes (lists → tuples, dicts → configs)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except InvalidConfig as exc:
                errors.append(str(exc))
        raise InvalidConfig(f"{where}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})")
    if origin is typing.Literal:
        if value not in args:
            raise InvalidConfig(
                f"{where}: expected one of {list(args)}, got {value!r}.{did_you_mean(str(value), map(str, args))}"
            )
        return value
    if isinstance(tp, type) and issubclass(tp, ConfigBase):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise InvalidConfig(f"{where}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return tp.from_dict(value, where=where)
    if origin in (tuple, list, Sequence):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise InvalidConfig(f"{where}: expected a list, got {value!r} ({type(value).__name__})")
        item_tp = args[0] if args else Any
        return tuple(_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise InvalidConfig(f"{where}: expected a mapping, got {value!r} ({type(value).__name__})")
        return dict(value)
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads `1e-5` (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidConfig(
                f"{where}: expected a number, got {value!r} ({type(value).__name__}); write e.g. 1e-6"
            )
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidConfig(f"{where}: expected an integer, got {value!r} ({type(value).__name__})")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise InvalidConfig(f"{where}: expected true or false, got {value!r} ({type(value).__name__})")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise InvalidConfig(f"{where}: expected a string, got {value!r} ({type(value).__name__})")
        return value
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConfigBase:
    """Base of every agentgym config: typed `from_dict` / `to_dict` and `replace`."""

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any], *, where: str = "") -> C:
        """Build from a plain mapping, checking names and types; raises InvalidConfig."""
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        kwargs = {}
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in fields:
                raise InvalidConfig(
                    f"unknown field `{path}` for {cls.__name__}; valid fields: {sorted(fields)}.{did_you_mean(str(key), fields)}"
                )
            kwargs[key] = _coerce(value, hints[key], path)
        missing = [
            n
            for n, f in fields.items()
            if n not in kwargs
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise InvalidConfig(
                f"{cls.__name__} ({where or 'top level'}) needs field(s) {missing}; add them to the config"
            )
        try:
            return cls(**kwargs)
        except InvalidConfig as exc:
            raise InvalidConfig(f"{where + ': ' if where else ''}{exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Plain, YAML-ready dict (tuples become lists)."""

        def plain(v: Any) -> Any:
            if isinstance(v, ConfigBase):
                return v.to_dict()
            if isinstance(v, tuple | list):
                return [plain(x) for x in v]
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v

        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file or a non-mapping document raises InvalidConfig."""
    p = Path(path)
    if not p.is_file():
        raise InvalidConfig(
            f"config file {p} does not exist; pass a YAML file such as examples/configs/search_small.yaml"
        )
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise InvalidConfig(f"config file {p} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidConfig(f"config file {p} must hold a mapping of sections, got {type(data).__name__}")
    return data


def parse_overrides(items: Sequence[str]) -> list[tuple[list[str], Any]]:
    """Parse `a.b=c` strings; the value is read as YAML (`1e-5`, `true`, `[1, 2]`, `null`)."""
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidConfig(f"override {item!r} must look like section.field=value, e.g. trainer.lr=1e-5")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise InvalidConfig(f"override {item!r}: value is not valid YAML ({exc})") from exc
        out.append((key.strip().split("."), value))
    return out


def apply_overrides(
    data: dict[str, Any], overrides: Sequence[str] | Sequence[tuple[list[str], Any]]
) -> dict[str, Any]:
    """Return a copy of `data` with dotted overrides applied (list items by index: envs.0.weight=2)."""
    import copy

    out = copy.deepcopy(data)
    parsed = parse_overrides(overrides) if overrides and isinstance(overrides[0], str) else overrides
    for keys, value in parsed:  # type: ignore[misc]
        node: Any = out
        for k in keys[:-1]:
            if isinstance(node, list):
                node = node[int(k)]
            else:
                node = node.setdefault(k, {})
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return out
