"""One rule for money in human output (`salesctl.money.usd`), used by every renderer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesctl.money import usd


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (Decimal(0), "$0.00"),
        (Decimal("0E-10"), "$0.00"),
        # under a cent: four significant digits, no more than the amount needs
        (Decimal("0.0000665733"), "$0.00006657"),
        (Decimal("0.0000680"), "$0.000068"),
        (Decimal("0.0016692"), "$0.001669"),
        (Decimal("0.0099"), "$0.0099"),
        (Decimal("0.002"), "$0.002"),
        # a cent to a dollar: at most four decimal places
        (Decimal("0.0313998"), "$0.0314"),
        (Decimal("0.0099996"), "$0.01"),
        # from a cent, trailing zeros dropped down to cents
        (Decimal("0.05"), "$0.05"),
        (Decimal("0.5"), "$0.50"),
        # from a dollar: cents with thousands separators
        (Decimal("0.99996"), "$1.00"),
        (Decimal("3.48316"), "$3.48"),
        (Decimal("1234.5678"), "$1,234.57"),
        (Decimal("48000"), "$48,000.00"),
        # tiny and negative amounts
        (Decimal("0.0000001"), "$0.0000001"),
        (Decimal("0.000000001"), "<$0.00000001"),
        (Decimal("-0.002"), "-$0.002"),
        (Decimal("-1234.5"), "-$1,234.50"),
    ],
)
def test_money_reads_like_money(value: Decimal | None, shown: str) -> None:
    assert usd(value) == shown


def test_unknown_can_be_worded_but_is_never_zero() -> None:
    assert usd(None, unknown="cost unknown") == "cost unknown"


def test_every_renderer_uses_the_one_rule() -> None:
    from salesctl.agents import render as agents_render
    from salesctl.crm import render as crm_render
    from salesctl.repl import render as repl_render
    from salesctl.reports import render as reports_render

    for value in (None, Decimal("0.0000665733"), Decimal("0.0313998"), Decimal("48000")):
        shown = usd(value)
        assert reports_render.usd(value) == shown
        assert agents_render.usd(value) == shown
        assert crm_render.money(value) == shown
        assert repl_render.format_cost(value) == shown
