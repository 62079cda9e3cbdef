"""The one rule money reads by (reelforge.domain.money.usd_text), in `reelforge report`, the
console's tables and charts (static/console.js mirrors it), invoices, quotes and the planner."""

from __future__ import annotations

import pytest

from reelforge.domain.money import usd_text


@pytest.mark.parametrize(
    ("value", "amount", "unit"),
    [
        (None, "n/a", "n/a"),
        (0, "$0.00", "$0.00"),
        (-0.0, "$0.00", "$0.00"),
        (0.5, "$0.50", "$0.50"),
        (-0.34, "-$0.34", "-$0.34"),
        (1234.56, "$1,234.56", "$1,234.56"),
        (1234567.891, "$1,234,567.89", "$1,234,567.89"),
        (0.0687, "$0.07", "$0.0687"),  # a unit price under $1: 4 significant digits
        (0.123456, "$0.12", "$0.1235"),
        (0.99996, "$1.00", "$1.00"),
        (0.004, "$0.004", "$0.004"),  # under a cent: never $0.00
        (0.00068754, "$0.0006875", "$0.0006875"),
        (0.000083, "$0.000083", "$0.000083"),
        (-0.0012, "-$0.0012", "-$0.0012"),
        (0.009999, "$0.01", "$0.009999"),
        (1.5, "$1.50", "$1.50"),
        # halves away from zero on the number as written, as the console's charts round
        (0.125, "$0.13", "$0.125"),
        (0.015, "$0.02", "$0.015"),
        (2.675, "$2.68", "$2.68"),
        (0.995, "$1.00", "$1.00"),  # rounds to a whole cent at $1: shown to the cent
        (-0.125, "-$0.13", "-$0.125"),
        (float("nan"), "n/a", "n/a"),
        (float("inf"), "n/a", "n/a"),
    ],
)
def test_usd_text(value: float | None, amount: str, unit: str) -> None:
    assert usd_text(value) == amount
    assert usd_text(value, unit=True) == unit
