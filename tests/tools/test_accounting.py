"""Cost accounting: totals match the calls made, prices apply, budgets stop cleanly."""

from __future__ import annotations

import threading

import pytest

from agentgym.tools.accounting import Accountant, BudgetExceeded, Price, default_accountant, using


def test_totals_match_calls_and_prices() -> None:
    acct = Accountant(
        prices={"llm": Price(per_1k_input_tokens=0.5, per_1k_output_tokens=1.5), "web": Price(per_call=0.01)}
    )
    for _ in range(3):
        acct.record("web", latency_s=0.1)
    acct.record("web", latency_s=0.2, error=True)
    acct.record("llm", tokens_in=2000, tokens_out=1000, latency_s=1.0)
    t = acct.totals()
    assert t["cost/web/calls"] == 4 and t["cost/web/errors"] == 1
    assert t["cost/web/latency_s"] == pytest.approx(0.5)
    assert t["cost/web/usd"] == pytest.approx(0.04)
    assert t["cost/llm/usd"] == pytest.approx(2 * 0.5 + 1 * 1.5)
    assert t["cost/total_usd"] == pytest.approx(2.54)


def test_concurrent_records_are_not_lost() -> None:
    acct = Accountant(prices={"s": Price(per_call=1.0)})
    threads = [threading.Thread(target=lambda: [acct.record("s") for _ in range(1000)]) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert acct.snapshot()["s"].calls == 8000 and acct.total_cost == pytest.approx(8000)


def test_budget_raises_with_reason() -> None:
    acct = Accountant(prices={"web": Price(per_call=0.25)}, budget=1.0)
    for _ in range(3):
        acct.check_budget()
        acct.record("web")
    acct.check_budget()
    acct.record("web")
    assert acct.over_budget
    with pytest.raises(BudgetExceeded, match=r"budget 1 spent .*web: 4 calls"):
        acct.check_budget()


def test_using_swaps_the_default() -> None:
    before = default_accountant()
    with using(Accountant()) as acct:
        assert default_accountant() is acct
    assert default_accountant() is before
