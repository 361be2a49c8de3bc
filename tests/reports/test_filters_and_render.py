"""Dates as people type them, money with enough digits, and the report as a terminal shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesctl.config import Settings
from salesctl.errors import ConfigError, InvalidInput
from salesctl.reports.filters import build_filters, parse_time, resolve_window
from salesctl.reports.render import bar

NOW = datetime(2025, 3, 15, 10, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2025-01-15", False, datetime(2025, 1, 14, 23, 0, tzinfo=UTC)),
        ("2025-01-15", True, datetime(2025, 1, 15, 23, 0, tzinfo=UTC)),
        ("2025-01-15T09:30", False, datetime(2025, 1, 15, 8, 30, tzinfo=UTC)),
        ("2025-01-15T09:30:00Z", False, datetime(2025, 1, 15, 9, 30, tzinfo=UTC)),
        ("7d", False, datetime(2025, 3, 8, 10, 30, tzinfo=UTC)),
        ("24h", False, datetime(2025, 3, 14, 10, 30, tzinfo=UTC)),
        ("today", False, datetime(2025, 3, 14, 23, 0, tzinfo=UTC)),
        ("today", True, datetime(2025, 3, 15, 23, 0, tzinfo=UTC)),
        ("yesterday", False, datetime(2025, 3, 13, 23, 0, tzinfo=UTC)),
        ("this-month", False, datetime(2025, 2, 28, 23, 0, tzinfo=UTC)),
        ("this-month", True, datetime(2025, 3, 31, 22, 0, tzinfo=UTC)),  # after the DST switch
        ("last-month", False, datetime(2025, 1, 31, 23, 0, tzinfo=UTC)),
    ],
)
def test_dates_are_read_in_the_configured_zone(text: str, end: bool, expected: datetime) -> None:
    assert parse_time(text, zone=BERLIN, now=NOW, end=end) == expected


def test_a_datetime_until_includes_that_instant() -> None:
    until = parse_time("2025-01-16T23:59:59", zone=ZoneInfo("UTC"), now=NOW, end=True)
    assert until == datetime(2025, 1, 16, 23, 59, 59, 1, tzinfo=UTC)


def test_the_default_window_is_the_last_thirty_local_days() -> None:
    since, until = resolve_window(None, None, zone=BERLIN, now=NOW)
    assert (since, until) == (datetime(2025, 2, 13, 23, 0, tzinfo=UTC), None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": "soon"}, "--since 'soon' is not a date or time"),
        ({"since": "2025-03-02", "until": "2025-03-01"}, "is not after"),
        ({"lead_id": 0}, "is not a lead id"),
    ],
)
def test_bad_filters_name_the_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_filters(settings=Settings(), now=NOW, **kwargs)


def test_chat_agent_names_and_provider_aliases_are_understood() -> None:
    filters = build_filters(settings=Settings(), agents=["sr-bdr", "cs"], provider="anthropic")
    assert (filters.agents, filters.provider) == (("sr_bdr", "customer_success"), "claude")


def test_an_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        build_filters(settings=Settings(timezone="Mars/Olympus"))


def test_bars_scale_to_the_peak_in_eighths() -> None:
    assert bar(Decimal(10), Decimal(10), width=4) == "████"
    assert bar(Decimal(5), Decimal(10), width=4) == "██"
    assert bar(Decimal("1.25"), Decimal(10), width=4) == "▌"
    assert bar(Decimal(0), Decimal(10), width=4) == ""


def test_the_rendered_report_reads_right_at_a_fixed_width() -> None:
    from rich.console import Console

    from salesctl.reports.costs import (
        AgentCost,
        CacheStats,
        CostReport,
        LeadCost,
        TimePoint,
        Tokens,
        Window,
    )
    from salesctl.reports.render import render_cost_report

    report = CostReport(
        total_cost_usd=Decimal("0.042153"),
        total_requests=1247,
        by_agent=[
            AgentCost(
                "qualification",
                "passthrough",
                823,
                Decimal("0.004938"),
                Decimal("0.000006"),
                645.2,
                "cerebras",
                "llama3.1-8b",
                unpriced_requests=2,
                success_rate=0.99,
            )
        ],
        by_lead=[LeadCost(123, "TechCorp Inc", Decimal("0.000234"), 5, ["enrichment"])],
        cache_stats=CacheStats(1247, 287, 0.2301, Decimal("0.001725")),
        time_series=[
            TimePoint("2025-01-15", Decimal("0.021067"), 623),
            TimePoint("2025-01-16", Decimal("0.010533"), 311, 2),
        ],
        window=Window(datetime(2025, 1, 15, tzinfo=UTC), None, "UTC", "day"),
        filters={"agent_type": None},
        timezone="UTC",
        unpriced_requests=2,
        failed_requests=1,
        refused_requests=0,
        tokens=Tokens(1000, 500, 0, 0),
        by_provider_model=[],
        leads_total=40,
    )
    console = Console(width=120, record=True, color_system=None)
    console.print(render_cost_report(report, models=[("cerebras", "llama3.1-8b")]))
    text = console.export_text()
    assert "Total cost  $0.0422*" in text
    assert "Calls       1,247 (1 failed, 2 unpriced)" in text
    assert "From cache  287 of 1,247 calls (23%) · saved $0.001725" in text
    assert "$0.004938*" in text
    assert "+2?" not in text
    assert "* leaves out unpriced calls: 2 calls had no known price" in text
    assert "qualification   pass     823   $0.004938*" in text
    assert "llama3.1-8b" in text
    assert "Top 1 of 40 leads" in text
    assert "Daily cost (days cut in UTC)" in text
    assert "2025-01-15  " + "█" * 40 in text
    assert "$0.0105*  311 calls" in text


def test_router_agents_show_their_model_mix_and_served_ids_are_said_once() -> None:
    from rich.console import Console

    from salesctl.reports.costs import AgentCost, ModelShare
    from salesctl.reports.render import ModelNames, _model_mix

    sonnet, flash = "claude-sonnet-4-5-20250929", "gemini-1.5-flash-002"
    agent = AgentCost(
        "sr_bdr",
        "smart_router",
        40,
        Decimal("0.01"),
        None,
        None,
        "gemini",
        flash,
        models=[
            ModelShare("claude", sonnet, 4, Decimal("0.007")),
            ModelShare("gemini", flash, 36, Decimal("0.003")),
        ],
    )
    configured = [("claude", "claude-sonnet-4-5"), ("gemini", "gemini-1.5-flash")]
    names = ModelNames(configured, [("claude", sonnet), ("gemini", flash)])

    assert _model_mix(agent, names) == "claude-sonnet-4-5 70%\ngemini-1.5-flash 30%"
    console = Console(width=200, record=True, color_system=None)
    console.print(names.note())
    assert console.export_text().strip() == (
        "Models are named as configured; the providers served claude-sonnet-4-5 as "
        f"{sonnet}, gemini-1.5-flash as {flash}."
    )
    # a served id two configured ids could claim, or none, is shown as served
    assert ModelNames([], [("claude", sonnet)]).name("claude", sonnet) == sonnet
    assert ModelNames(configured, [], wide=True).name("claude", sonnet) == sonnet


def test_days_without_calls_collapse_into_one_line() -> None:
    from salesctl.reports.costs import TimePoint
    from salesctl.reports.render import DailyChart, Legend

    points = [TimePoint(f"2025-01-{d:02d}", Decimal(0), 0) for d in range(1, 25)]
    points += [TimePoint("2025-01-25", Decimal("0.5"), 3), TimePoint("2025-01-26", Decimal(0), 0)]
    rows = DailyChart(points, "day", "UTC", Legend()).rows()
    assert rows == [
        "… 24 days with no spend",
        ("2025-01-25", Decimal("0.5"), "$0.50", "3 calls"),
        ("2025-01-26", None, "", "0 calls"),
    ]
