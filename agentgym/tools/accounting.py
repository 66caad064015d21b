"""Accounting for calls that cost money or time: web search, simulator LLMs, hosted APIs.

Every such call records its service, latency and tokens on an `Accountant`; a user-settable price
table turns them into an estimated cost, and an optional budget stops the run cleanly (or lets a
caller fall back to its cache) once it is spent. Trainers and the evaluator log `totals()` as
`cost/...` metrics.

>>> acct = Accountant(prices={"web": Price(per_call=0.005)}, budget=0.01)
>>> acct.record("web", latency_s=0.2)
>>> acct.record("web", latency_s=0.3)
>>> round(acct.total_cost, 3), acct.over_budget
(0.01, True)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from agentgym.errors import AgentGymError

__all__ = [
    "Accountant",
    "BudgetExceeded",
    "Price",
    "ServiceTotals",
    "budget_spent",
    "default_accountant",
    "set_default_accountant",
]


class BudgetExceeded(AgentGymError):
    """The run's cost budget is spent; the message names the budget and what spent it."""


@dataclass(frozen=True)
class Price:
    """Estimated price of one service, in the currency the user chooses (USD by default)."""

    per_call: float = 0.0
    per_1k_input_tokens: float = 0.0
    per_1k_output_tokens: float = 0.0

    def cost(self, calls: int, tokens_in: int, tokens_out: int) -> float:
        return (
            calls * self.per_call
            + tokens_in / 1000 * self.per_1k_input_tokens
            + tokens_out / 1000 * self.per_1k_output_tokens
        )


@dataclass
class ServiceTotals:
    calls: int = 0
    errors: int = 0
    latency_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


@dataclass
class Accountant:
    """Thread-safe totals per service, with prices and an optional budget."""

    prices: Mapping[str, Price] = field(default_factory=dict)
    budget: float | None = None
    _totals: dict[str, ServiceTotals] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def record(
        self,
        service: str,
        *,
        latency_s: float = 0.0,
        tokens_in: int = 0,
        tokens_out: int = 0,
        calls: int = 1,
        error: bool = False,
    ) -> None:
        """Add calls to `service`'s totals (one call by default)."""
        price = self.prices.get(service, Price())
        with self._lock:
            t = self._totals.setdefault(service, ServiceTotals())
            t.calls += calls
            t.errors += int(error)
            t.latency_s += latency_s
            t.tokens_in += tokens_in
            t.tokens_out += tokens_out
            t.cost += price.cost(calls, tokens_in, tokens_out)

    @property
    def total_cost(self) -> float:
        with self._lock:
            return sum(t.cost for t in self._totals.values())

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.total_cost >= self.budget - 1e-12

    def check_budget(self) -> None:
        """Raise `BudgetExceeded` once the budget is spent (call before an expensive call)."""
        if self.over_budget:
            spent = ", ".join(f"{k}: {v.calls} calls, {v.cost:.4f}" for k, v in self.snapshot().items())
            raise BudgetExceeded(
                f"cost budget {self.budget:g} spent ({self.total_cost:.4f}; {spent}); raise the budget or use the cache"
            )

    def snapshot(self) -> dict[str, ServiceTotals]:
        with self._lock:
            return {k: ServiceTotals(**vars(v)) for k, v in self._totals.items()}

    def totals(self) -> dict[str, float]:
        """Flat `cost/...` metrics: per service calls, errors, latency, tokens, cost; and the total."""
        out: dict[str, float] = {}
        for name, t in sorted(self.snapshot().items()):
            out[f"cost/{name}/calls"] = t.calls
            out[f"cost/{name}/errors"] = t.errors
            out[f"cost/{name}/latency_s"] = round(t.latency_s, 6)
            out[f"cost/{name}/tokens_in"] = t.tokens_in
            out[f"cost/{name}/tokens_out"] = t.tokens_out
            out[f"cost/{name}/usd"] = t.cost
        out["cost/total_usd"] = self.total_cost
        return out

    def reset(self) -> None:
        with self._lock:
            self._totals.clear()


_default = Accountant()


def default_accountant() -> Accountant:
    """The process-wide accountant that tools record on unless given another."""
    return _default


def set_default_accountant(acct: Accountant) -> Accountant:
    """Replace the process-wide accountant (e.g. with prices and a budget); returns the old one."""
    global _default
    old, _default = _default, acct
    return old


def budget_spent(acct: Accountant | None = None) -> str | None:
    """Why the budget stops the run (the `BudgetExceeded` message), or None while money is left."""
    try:
        (acct or default_accountant()).check_budget()
    except BudgetExceeded as exc:
        return str(exc)
    return None


@contextmanager
def using(acct: Accountant) -> Iterator[Accountant]:
    """Temporarily make `acct` the default accountant."""
    old = set_default_accountant(acct)
    try:
        yield acct
    finally:
        set_default_accountant(old)
