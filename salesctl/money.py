"""How money reads in human output: one rule for every table, line and panel.

- unknown (None) is "—", never $0;
- from $1: dollars and cents with thousands separators (`$1,234.56`);
- from a cent to $1: at most four decimal places, trailing zeros dropped down to cents
  (`$0.4512`, `$0.0314`, `$0.05`);
- under a cent: four significant digits (`$0.001669`, `$0.00006657`, `$0.002000`), so a
  column of sub-cent costs keeps one precision from line to line;
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
        if rounded < _CENT:
            return f"{sign}${rounded:f}"
        if rounded < 1:
            whole, _, fraction = f"{rounded:.4f}".partition(".")
            return f"{sign}${whole}.{fraction.rstrip('0').ljust(2, '0')}"
    return f"{sign}${magnitude.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"
