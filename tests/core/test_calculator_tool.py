"""The calculator evaluates exactly and refuses anything that is not arithmetic."""

from __future__ import annotations

import warnings

import pytest

from agentgym.tools.calculator import calculator

CASES = [
    ("1+2", "3"),
    ("2*3+4", "10"),
    ("2*(3+4)", "14"),
    ("10-4-3", "3"),
    ("-5+2", "-3"),
    ("--5", "5"),
    ("+7", "7"),
    ("7/2", "3.5"),
    ("1/3", "1/3 ≈ 0.333333333333"),
    ("2/3*3", "2"),
    ("1/3+1/6", "0.5"),
    ("0.1+0.2", "0.3"),
    ("0.1*3", "0.3"),
    ("1.5*4", "6"),
    ("7//2", "3"),
    ("-7//2", "-4"),
    ("7%3", "1"),
    ("-7%3", "2"),
    ("2**10", "1024"),
    ("2**-2", "0.25"),
    ("2^3", "8"),
    ("(-2)**3", "-8"),
    ("4**0.5", "2"),
    ("0**0", "1"),
    ("10**20", "100000000000000000000"),
    ("3 × 4", "12"),
    ("12 ÷ 4", "3"),
    ("5 − 2", "3"),
    ("abs(-3)", "3"),
    ("abs(-2.5)", "2.5"),
    ("round(2.5)", "2"),
    ("round(3.5)", "4"),
    ("round(2.675, 2)", "2.68"),
    ("min(3, 1, 2)", "1"),
    ("max(3, 1, 2)", "3"),
    ("sqrt(16)", "4"),
    ("sqrt(1/4)", "0.5"),
    ("sqrt(2)", "1.41421356237"),
    ("log(8, 2)", "3"),
    ("log(1)", "0"),
    ("exp(0)", "1"),
    ("floor(2.7)", "2"),
    ("ceil(2.1)", "3"),
    ("floor(-2.5)", "-3"),
    ("(1+2)*(3+4)/(5+6)", "21/11 ≈ 1.90909090909"),
    ("1000000*1000000", "1000000000000"),
    ("  12 +   30 ", "42"),
    ("1,000 + 5", "1005"),
    ("99/100", "0.99"),
    ("3.14159*2", "6.28318"),
    ("(((((1)))))", "1"),
    ("1e3", "1000"),
    ("6*7", "42"),
    ("100 - 58", "42"),
    ("84 / 2", "42"),
]


@pytest.mark.parametrize(("expr", "expected"), CASES)
def test_evaluates_exactly(expr: str, expected: str) -> None:
    result = calculator(expression=expr)
    assert result.error is None, result.error
    assert result.content == expected


def test_table_has_at_least_50_cases() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("__import__('os')", "not allowed"),
        ("(2).real", "attribute access"),
        ("os.system('ls')", "not allowed"),
        ("x + 1", "unknown name"),
        ("9**9**9", "too large"),
        ("10**100000", "too large"),
        ("2**5000", "too large"),
        ("lambda: 1", "Lambda"),
        ("[i for i in range(3)]", "ListComp"),
        ("{i for i in (1, 2)}", "SetComp"),
        ("'a' * 3", "only numbers"),
        ("1/0", "division by zero"),
        ("5 % 0", "modulo by zero"),
        ("sqrt(-1)", "negative"),
        ("log(0)", "positive"),
        ("(-8)**(1/3)", "not real"),
        ("1 +", "syntax error"),
        ("", "empty"),
        ("True + 1", "only numbers"),
        ("exp(1000)", "too large"),
        ("max(x=1)", "keyword"),
        ("1 if 1 else 2", "IfExp"),
        ("3or 4", "invalid decimal literal"),  # Python only warns on stderr; the agent must see it
        ("1" * 3000, "longer than"),
    ],
)
def test_refuses_with_clear_error(expr: str, fragment: str) -> None:
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        result = calculator(expression=expr)
    assert not leaked, [str(w.message) for w in leaked]  # the agent sees the problem, not stderr
    assert result.error is not None and fragment in result.error, result.error


def test_wrong_argument_type_is_an_error_not_an_exception() -> None:
    result = calculator(expression=5)  # type: ignore[arg-type]
    assert result.error is not None and "must be string" in result.error
