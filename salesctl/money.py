"""How money reads in human output: one rule for every table, line and panel.

- unknown (None) is "—", never $0;
- from $1: dollars and cents with thousands separators (`$1,234.56`);
- under $1: at most four significant digits (`$0.4512`, `$0.0314`, `$0.001669`,
  `$0.00006657`), and no more digits than the amount needs (`$0.05`, `$0.002`): never the
  ten decimal places the database keeps;
- under a hundred-millionth of a dollar: `<$0.00000001`.

Exact digits belong to machine output only (`--json`, exports, the API), which serialise the
Decimal itself. Prices per million tokens are rates, not amounts, and keep their digits.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

UNKNOWN = "—"
SIGNIFICANT = 4
SMALLEST = Decimal("0.00000001")
_CENT = Decimal("0.01")


def usd(value: Decimal | None, *, unknown: str = UNKNOWN) -> str:
    """`$1,234.56`, `$0.0314`, `$0.00006657`; None is `unknown` ("—")."""
    if value is None:
        return unknown
    if value == 0:
        return "$0.00"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude < SMALLEST:
        return f"{sign}<${SMALLEST:f}"
    if magnitude < 1:
        places = SIGNIFICANT if magnitude >= _CENT else SIGNIFICANT - 1 - magnitude.adjusted()
        rounded = magnitude.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if rounded < 1:
            whole, _, fraction = f"{rounded:f}".partition(".")
            return f"{sign}${whole}.{fraction.rstrip('0').ljust(2, '0')}"
    return f"{sign}${magnitude.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"
