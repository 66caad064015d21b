"""A generated set of coding tasks at graded difficulty, each with a reference solution (the oracle).

A template is a function family over lists, strings or numbers whose statement and solution
depend on a random constant `c` (e.g. "sum the elements divisible by 7"). For a seed, the
generator draws a template of the requested difficulty, a constant and 8 inputs (edge cases
included); expected outputs come from running the reference solution on the host — it is
our own code, not the agent's — and become `assert` tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.core.env import Task

__all__ = ["TEMPLATES", "Template", "generate_task"]

Rng = np.random.Generator


def _ints(rng: Rng, n: int, lo: int = -20, hi: int = 50) -> list[int]:
    return [int(x) for x in rng.integers(lo, hi, size=n)]


def _word(rng: Rng, lo: int = 1, hi: int = 8, alphabet: str = "abcdefghij") -> str:
    return "".join(str(ch) for ch in rng.choice(list(alphabet), size=int(rng.integers(lo, hi + 1))))


def _lists(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    return [([],), ([c],), *[(_ints(rng, int(rng.integers(1, 12))),) for _ in range(6)]]


def _strings(rng: Rng, c: int, alphabet: str = "abcdeAEIOU xyz!") -> list[tuple[Any, ...]]:
    return [("",), *[(_word(rng, 1, 14, alphabet),) for _ in range(7)]]


def _sentences(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    return [
        ("",),
        ("one",),
        *[(" ".join(_word(rng, 1, 6) for _ in range(int(rng.integers(1, 7)))),) for _ in range(6)],
    ]


def _list_and_k(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    return [
        ([], 3),
        ([1], 0),
        *[(_ints(rng, int(rng.integers(1, 9))), int(rng.integers(-10, 20))) for _ in range(6)],
    ]


def _naturals(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    return [(0,), (1,), (2,), *[(int(rng.integers(3, 400)),) for _ in range(5)]]


def _intervals(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    def one() -> list[list[int]]:
        out = []
        for _ in range(int(rng.integers(1, 6))):
            a = int(rng.integers(0, 30))
            out.append([a, a + int(rng.integers(0, 8))])
        return out

    return [([],), ([[1, 2]],), *[(one(),) for _ in range(6)]]


def _brackets(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    cases: list[tuple[Any, ...]] = [("",), ("()",), ("(]",)]
    for _ in range(5):
        cases.append(("".join(str(x) for x in rng.choice(list("()[]{}ab"), size=int(rng.integers(1, 12)))),))
    cases.append(("{[()()]}",))
    return cases


def _word_lists(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    stems = ["inter", "interval", "internet", "in", "tree", "trek", "abc"]
    cases: list[tuple[Any, ...]] = [([],), (["solo"],)]
    for _ in range(6):
        base = str(rng.choice(stems))
        cases.append(([base + _word(rng, 0, 3) for _ in range(int(rng.integers(1, 5)))],))
    return cases


def _word_pairs(rng: Rng, c: int) -> list[tuple[Any, ...]]:
    return [("", ""), ("abc", ""), *[(_word(rng, 0, 7, "abcd"), _word(rng, 0, 7, "abcd")) for _ in range(6)]]


@dataclass(frozen=True)
class Template:
    """A family of tasks: `{c}` in `doc` and `solution` is replaced by a drawn constant."""

    name: str
    difficulty: int
    signature: str
    doc: str
    solution: str
    inputs: Callable[[Rng, int], list[tuple[Any, ...]]]
    constants: tuple[int, int] = (2, 10)


TEMPLATES: tuple[Template, ...] = (
    Template(
        "sum_divisible",
        1,
        "xs: list[int]) -> int",
        "Return the sum of the elements of xs that are divisible by {c}.",
        "    return sum(x for x in xs if x % {c} == 0)\n",
        _lists,
    ),
    Template(
        "count_chars",
        1,
        "s: str) -> int",
        "Return how many characters of s are vowels (aeiou, either case) or the digit {c}.",
        "    return sum(1 for ch in s if ch.lower() in 'aeiou' or ch == '{c}')\n",
        _strings,
    ),
    Template(
        "shout_words",
        1,
        "s: str) -> str",
        "Return s with every word longer than {c} characters upper-cased; words are separated by single spaces.",
        "    return ' '.join(w.upper() if len(w) > {c} else w for w in s.split(' '))\n",
        _sentences,
        (1, 5),
    ),
    Template(
        "spread_plus",
        1,
        "xs: list[int]) -> int",
        "Return max(xs) - min(xs) + {c}, or 0 for an empty list.",
        "    return max(xs) - min(xs) + {c} if xs else 0\n",
        _lists,
    ),
    Template(
        "running_sum_mod",
        2,
        "xs: list[int]) -> list[int]",
        "Return the running sums of xs, each taken modulo {c}.",
        "    out, total = [], 0\n    for x in xs:\n        total += x\n        out.append(total % {c})\n    return out\n",
        _lists,
    ),
    Template(
        "rotate_extra",
        2,
        "xs: list[int], k: int) -> list[int]",
        "Rotate xs to the right by k + {c} positions (any k; an empty list stays empty).",
        "    if not xs:\n        return []\n    r = (k + {c}) % len(xs)\n    return xs[-r:] + xs[:-r] if r else list(xs)\n",
        _list_and_k,
    ),
    Template(
        "rle_min",
        2,
        "s: str) -> str",
        "Run-length encode s as char+count pairs (e.g. 'aab' -> 'a2b1'), but omit runs shorter than {c}.",
        "    out, i = [], 0\n    while i < len(s):\n        j = i\n        while j < len(s) and s[j] == s[i]:\n            j += 1\n        if j - i >= {c}:\n            out.append(s[i] + str(j - i))\n        i = j\n    return ''.join(out)\n",
        lambda rng, c: [("",), *[(_word(rng, 1, 12, "aab"),) for _ in range(7)]],
        (1, 3),
    ),
    Template(
        "digit_root_base",
        2,
        "n: int) -> int",
        "Repeatedly replace n by the sum of its digits written in base {c} until n < {c}; return n (n >= 0).",
        "    while n >= {c}:\n        t = 0\n        while n:\n            t += n % {c}\n            n //= {c}\n        n = t\n    return n\n",
        _naturals,
    ),
    Template(
        "longest_run_step",
        3,
        "xs: list[int]) -> int",
        "Return the length of the longest contiguous run in which each element is exactly {c} more than the previous one (0 for an empty list).",
        "    best = cur = 0\n    for i, x in enumerate(xs):\n        cur = cur + 1 if i and x - xs[i - 1] == {c} else 1\n        best = max(best, cur)\n    return best\n",
        lambda rng, c: [
            ([],),
            ([5],),
            *[
                ([int(v) for v in np.cumsum(rng.choice([c, c, 1, -1], size=int(rng.integers(2, 12))))],)
                for _ in range(6)
            ],
        ],
        (1, 4),
    ),
    Template(
        "merge_gaps",
        3,
        "intervals: list[list[int]]) -> list[list[int]]",
        "Merge closed integer intervals [a, b] that overlap or are separated by a gap of at most {c}; return them sorted.",
        "    out = []\n    for a, b in sorted(intervals):\n        if out and a - out[-1][1] <= {c}:\n            out[-1][1] = max(out[-1][1], b)\n        else:\n            out.append([a, b])\n    return out\n",
        _intervals,
        (0, 3),
    ),
    Template(
        "balanced_depth",
        3,
        "s: str) -> bool",
        "Return True when the brackets ()[]{{}} in s are balanced and never nested deeper than {c}; other characters are ignored.",
        "    pairs, stack = {{')': '(', ']': '[', '}}': '{{'}}, []\n    for ch in s:\n        if ch in '([{{':\n            stack.append(ch)\n            if len(stack) > {c}:\n                return False\n        elif ch in pairs:\n            if not stack or stack.pop() != pairs[ch]:\n                return False\n    return not stack\n",
        _brackets,
        (1, 4),
    ),
    Template(
        "primes_mod",
        3,
        "n: int) -> list[int]",
        "Return the primes p <= n (in increasing order) with p % {c} == 1.",
        "    sieve = [True] * (n + 1)\n    out = []\n    for p in range(2, n + 1):\n        if sieve[p]:\n            for m in range(p * p, n + 1, p):\n                sieve[m] = False\n            if p % {c} == 1:\n                out.append(p)\n    return out\n",
        _naturals,
        (2, 7),
    ),
    Template(
        "prefix_min",
        4,
        "words: list[str]) -> str",
        "Return the longest common prefix of words if it has at least {c} characters, else ''; '' for an empty list.",
        "    if not words:\n        return ''\n    p = min(words)\n    q = max(words)\n    i = 0\n    while i < len(p) and p[i] == q[i]:\n        i += 1\n    return p[:i] if i >= {c} else ''\n",
        _word_lists,
        (1, 4),
    ),
    Template(
        "edit_cost",
        4,
        "a: str, b: str) -> int",
        "Return the minimum cost to turn a into b with insertions and deletions costing 1 and substitutions costing {c}.",
        "    prev = list(range(len(b) + 1))\n    for i, ca in enumerate(a, 1):\n        cur = [i]\n        for j, cb in enumerate(b, 1):\n            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (0 if ca == cb else {c})))\n        prev = cur\n    return prev[-1]\n",
        _word_pairs,
        (1, 3),
    ),
    Template(
        "window_max_sum",
        4,
        "xs: list[int]) -> int",
        "Return the largest sum of any {c} consecutive elements of xs, or the sum of xs when it has fewer than {c} elements.",
        "    if len(xs) < {c}:\n        return sum(xs)\n    cur = best = sum(xs[:{c}])\n    for i in range({c}, len(xs)):\n        cur += xs[i] - xs[i - {c}]\n        best = max(best, cur)\n    return best\n",
        _lists,
        (2, 5),
    ),
)


def _call(name: str, args: tuple[Any, ...]) -> str:
    return f"{name}({', '.join(repr(a) for a in args)})"


def generate_task(rng: Rng, difficulty: tuple[int, int] = (1, 4)) -> Task:
    """Draw one task: a template in the difficulty range, a constant, inputs and assert-tests."""
    pool = [t for t in TEMPLATES if difficulty[0] <= t.difficulty <= difficulty[1]]
    tpl = pool[int(rng.integers(len(pool)))]
    c = int(rng.integers(tpl.constants[0], tpl.constants[1] + 1))
    doc = tpl.doc.format(c=c)
    header = f"def {tpl.name}({tpl.signature}:"
    solution = f'{header}\n    """{doc}"""\n' + tpl.solution.format(c=c)
    namespace: dict[str, Any] = {}
    exec(compile(solution, f"<reference {tpl.name}>", "exec"), namespace)  # our own reference code
    fn = namespace[tpl.name]
    tests, call = [], ""
    for args in tpl.inputs(rng, c):
        call = _call(tpl.name, args)
        expected = fn(*[list(a) if isinstance(a, list) else a for a in args])
        tests.append(f"assert {call} == {expected!r}\n")
    example = tests[-1].removeprefix("assert ").strip()
    prompt = (
        f'Write a Python function.\n\n```python\n{header}\n    """{doc}"""\n```\n\n'
        f"Example: {example}\n\nAnswer with the complete function in a ```python block."
    )
    digest = hashlib.sha1((solution + "".join(tests)).encode()).hexdigest()[:8]
    return Task(
        id=f"code-d{tpl.difficulty}-{tpl.name}-c{c}-{digest}",
        prompt=prompt,
        meta={"source": "generated", "difficulty": tpl.difficulty, "entry_point": tpl.name},
        private={
            "tests": tests,
            "solution": solution,
            "prompt_code": "",
            "entry_point": tpl.name,
            "setup": "",
            "example": call,
        },
    )
