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
    (
        "Code-v0",
        "agentgym.envs.code.env:CodeEnv",
        "Write a Python function that passes hidden unit tests (generated, HumanEval, MBPP) with a sandboxed python tool.",
        ("python",),
        None,
        {},
    ),
    (
        "Remote-v0",
        "agentgym.server.client:RemoteEnv",
        "Any env served by `agentgym serve`, over HTTP (needs url=..., env_id=...).",
        (),
        None,
        {},
    ),
    (
        "GAIA-v0",
        "agentgym.envs.gaia.env:GAIAEnv",
        "GAIA-format tasks (data_dir=...) or the built-in generated GAIA-style set; GAIA scorer.",
        ("search", "fetch", "python", "calculator", "read_file"),
        None,
        {},
    ),
    (
        "GuessNumber-v0",
        "agentgym.envs.guess:GuessNumberEnv",
        "Find a secret number in [low, high] with higher/lower feedback; sparse reward (expert: binary search).",
        ("guess",),
        None,
        {},
    ),
    (
        "TwentyQuestions-v0",
        "agentgym.envs.guess:TwentyQuestionsEnv",
        "Find a secret entity of the generated world with yes/no questions; sparse reward.",
        ("ask",),
        None,
        {},
    ),
    (
        "TextWorld-v0",
        "agentgym.envs.textgames.textworld:TextWorldEnv",
        "TextWorld games generated offline (cooking, treasure_hunter, coin_collector, household) at difficulty 1-3.",
        ("action",),
        "textworld",
        {},
    ),
    (
        "ScienceWorld-v0",
        "agentgym.envs.textgames.scienceworld:ScienceWorldEnv",
        "ScienceWorld's 30 science tasks (train/dev/test variations); reward = score change / 100.",
        ("action",),
        "textworld",
        {},
    ),
    (
        "ALFWorld-v0",
        "agentgym.envs.textgames.alfworld:ALFWorldEnv",
        "ALFWorld household games from ALFWORLD_DATA or data_dir=; reward 1 when the goal is reached.",
        ("action",),
        "textworld",
        {},
    ),
    (
        "SearchQA-v0",
        "agentgym.envs.search_qa:SearchQAEnv",
        "Multi-hop QA (1-4 hops) with a search tool over a generated world (default) or any corpus; EM/F1/cover-EM.",
        ("search",),
        "search",
        {},
    ),
    (
        "SimSearchQA-v0",
        "agentgym.envs.sim_search_qa:SimSearchQAEnv",
        "SearchQA with a ZeroSearch simulated search engine (corpus-grounded or LLM) and a noise curriculum.",
        ("search",),
        "search",
        {},
    ),
]


def register_builtins() -> None:
    for env_id, entry, desc, tools, extra, kwargs in BUILTINS:
        register(env_id, entry, description=desc, tools=tools, extra=extra, **kwargs)
