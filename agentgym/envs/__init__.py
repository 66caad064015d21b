"""Built-in environments, registered (lazily, by entry-point string) on `import agentgym`.

Add a row to `BUILTINS` to register a new built-in env; heavy imports stay inside the env module.
"""

from __future__ import annotations

from typing import Any

from agentgym.core.registration import register

# id, entry point, description, tools, extra, default kwargs
BUILTINS: list[tuple[str, str, str, tuple[str, ...], str | None, dict[str, Any]]] = [
    (
        "Calculator-v0",
        "agentgym.envs.calculator:CalculatorEnv",
        "Arithmetic word problems (1-5 operations, distractors) with a calculator tool; exact-match reward.",
        ("calculator",),
        None,
        {},
    ),
]


def register_builtins() -> None:
    for env_id, entry, desc, tools, extra, kwargs in BUILTINS:
        register(env_id, entry, description=desc, tools=tools, extra=extra, **kwargs)
