"""Exact arithmetic through a whitelisting AST evaluator (no `eval`).

Numbers are `fractions.Fraction` so `0.1 + 0.2` is exactly `0.3` and `1/3*3` is `1`; functions
that leave the rationals (sqrt of a non-square, log, exp) return floats. Exponents and result
sizes are bounded so `9**9**9` is refused instead of eating the machine.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable
from fractions import Fraction

from agentgym.tools.base import FunctionTool, ToolResult

__all__ = ["CalculatorError", "calculator", "evaluate", "format_number"]

Number = Fraction | float

MAX_EXPONENT = 1000
MAX_BITS = 4096
MAX_EXPRESSION_CHARS = 2000


class CalculatorError(ValueError):
    """The expression is not allowed or not computable; the message says why."""


def _check_size(x: Number) -> Number:
    if isinstance(x, Fraction):
        if x.numerator.bit_length() > MAX_BITS or x.denominator.bit_length() > MAX_BITS:
            raise CalculatorError(f"result too large (more than {MAX_BITS} bits)")
    elif math.isinf(x) or math.isnan(x):
        raise CalculatorError("result is not a finite number")
    return x


def _power(a: Number, b: Number) -> Number:
    if isinstance(b, Fraction) and b.denominator == 1:
        if abs(b) > MAX_EXPONENT:
            raise CalculatorError(f"exponent {b} is too large (limit {MAX_EXPONENT})")
        if isinstance(a, Fraction):
            bits = max(a.numerator.bit_length(), a.denominator.bit_length())
            if bits * abs(int(b)) > MAX_BITS:
                raise CalculatorError(f"result too large (more than {MAX_BITS} bits)")
            if a == 0 and b < 0:
                raise CalculatorError("division by zero (0 to a negative power)")
            return a ** int(b)
    fa, fb = float(a), float(b)
    if fa < 0 and not float(fb).is_integer():
        raise CalculatorError("negative number to a fractional power is not real")
    try:
        return _exact_if_integral(math.pow(fa, fb))
    except OverflowError as exc:
        raise CalculatorError("result too large") from exc


def _exact_if_integral(x: float) -> Number:
    if math.isfinite(x) and x.is_integer() and abs(x) < 2**53:
        return Fraction(int(x))
    return x


def _div(a: Number, b: Number) -> Number:
    if b == 0:
        raise CalculatorError("division by zero")
    return a / b


def _floordiv(a: Number, b: Number) -> Number:
    if b == 0:
        raise CalculatorError("division by zero")
    return Fraction(math.floor(a / b))


def _mod(a: Number, b: Number) -> Number:
    if b == 0:
        raise CalculatorError("modulo by zero")
    return a % b


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise CalculatorError("sqrt of a negative number")
    if isinstance(x, Fraction):
        n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if n * n == x.numerator and d * d == x.denominator:
            return Fraction(n, d)
    return math.sqrt(x)


def _log(x: Number, base: Number | None = None) -> Number:
    if x <= 0 or (base is not None and (base <= 0 or base == 1)):
        raise CalculatorError("log is defined for positive numbers (and a base other than 1)")
    return _exact_if_integral(math.log(x) if base is None else math.log(x, base))


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return Fraction(round(x))
    return round(x if isinstance(x, Fraction) else Fraction(x), int(ndigits))


def _exp(x: Number) -> Number:
    if x > 700:
        raise CalculatorError("exp argument too large")
    return math.exp(x)


_BINOPS: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _power,
}
_FUNCS: dict[str, Callable[..., Number]] = {
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "sqrt": _sqrt,
    "log": _log,
    "ln": _log,
    "exp": _exp,
    "floor": lambda x: Fraction(math.floor(x)),
    "ceil": lambda x: Fraction(math.ceil(x)),
}
_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e}


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CalculatorError(f"only numbers are allowed, got {node.value!r}")
        return Fraction(str(node.value)) if isinstance(node.value, float) else Fraction(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _check_size(_BINOPS[type(node.op)](_eval(node.left), _eval(node.right)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
            fname = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise CalculatorError(f"function `{fname}` is not allowed; allowed: {', '.join(_FUNCS)}")
        if node.keywords:
            raise CalculatorError("keyword arguments are not allowed")
        args = [_eval(a) for a in node.args]
        try:
            return _check_size(_FUNCS[node.func.id](*args))
        except TypeError as exc:
            raise CalculatorError(f"{node.func.id}: wrong number of arguments") from exc
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise CalculatorError(
            f"unknown name `{node.id}`: only numbers, operators and {', '.join(_FUNCS)} are allowed"
        )
    if isinstance(node, ast.Attribute):
        raise CalculatorError("attribute access is not allowed")
    raise CalculatorError(f"`{type(node).__name__}` is not allowed in a calculator expression")


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression exactly.

    >>> evaluate("0.1 + 0.2") == Fraction(3, 10)
    True
    >>> evaluate("2 ** 10")
    Fraction(1024, 1)
    """
    if not isinstance(expression, str):
        raise CalculatorError(f"expression must be a string, got {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    text = expression.strip().replace("×", "*").replace("÷", "/").replace("−", "-").replace("^", "**")
    text = text.replace(",", "") if "," in text and "(" not in text else text
    if not text:
        raise CalculatorError("empty expression")
    try:
        with warnings.catch_warnings():  # "3or 4" only warns; as an error it reaches the agent, not stderr
            warnings.simplefilter("error", SyntaxWarning)
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"syntax error in `{expression}`: {exc.msg}") from exc
    return _eval(tree)


def format_number(x: Number) -> str:
    """Integers as integers, terminating fractions as decimals, others as `p/q ≈ decimal`."""
    if isinstance(x, float):
        return f"{x:.12g}"
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d == 1:
        s = f"{x.numerator / x.denominator:.15f}".rstrip("0")
        if Fraction(s) == x:
            return s
    return f"{x.numerator}/{x.denominator} ≈ {float(x):.12g}"


def _calculator(expression: str) -> ToolResult:
    """Evaluate an arithmetic expression exactly.

    Supports + - * / // % ** and parentheses, decimals, and abs, round, min, max, sqrt, log, exp.

    Args:
        expression: the expression to evaluate, e.g. "(12 + 7) * 3 / 4".
    """
    try:
        value = evaluate(expression)
    except CalculatorError as exc:
        return ToolResult(error=str(exc))
    except (ZeroDivisionError, OverflowError, ValueError, RecursionError, MemoryError) as exc:
        return ToolResult(error=f"cannot evaluate `{expression:.80}`: {type(exc).__name__}")
    return ToolResult(content=format_number(value), data=value)


calculator = FunctionTool(_calculator, name="calculator", timeout=None)
