"""How money reads, the one rule for every surface: `reelforge report` and its verdicts, the
console's KPI dashboard (tables; static/console.js's `usd` mirrors this for the charts),
`reelforge accounts invoice` and `reelforge quote`. Files (CSV, JSON) keep raw numbers."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def usd_text(x: float | None, *, unit: bool = False) -> str:
    """Money in USD as people read it: `$1,234.56`, `-$0.34`, `$0.00`; `n/a` for nothing.

    - A `$` sign (never a `USD` suffix), the minus before it, commas between thousands.
    - Amounts (costs, revenue, margins, invoices) are shown to the cent, 2 decimals, from
      $0.01 up. A non-zero amount under a cent keeps 4 significant digits (`$0.004`,
      `$0.0006875`), so a real cost never reads `$0.00`.
    - Unit prices (`unit=True`: per generation, per device-second, per clip) keep 4
      significant digits below $1 (`$0.0687`, `$0.00012`) and 2 decimals from $1, the way
      amounts do.
    - Significant digits drop trailing zeros but never go below 2 decimals (`$0.50`).
    - Halves round away from zero on the number as written (0.125 is `$0.13`, 0.015 is
      `$0.02`), as static/console.js rounds, so a chart never differs from its table by a
      cent. Not a number (NaN, infinity) reads `n/a`.
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    below = Decimal(1) if unit else Decimal("0.01")
    size = abs(x)
    to_cents = _rounded(size, 2)
    cents = f"{to_cents:,.2f}"
    if size == 0 or to_cents >= below:
        text = cents
    else:
        places = max(2, 3 - math.floor(math.log10(size)))  # 4 significant digits
        text = f"{_rounded(size, places):,.{places}f}".rstrip("0")
        if len(text.partition(".")[2]) < 2:
            text = cents
    return f"{'-' if x < 0 and text.strip('0.,') else ''}${text}"


def _rounded(size: float, places: int) -> Decimal:
    """`size` to `places` decimals, halves away from zero, on its shortest written form."""
    return Decimal(repr(size)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
