"""The seed's monitoring utilities: same import path, shapes and wording, exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from salesctl.core.cost_monitoring import (
    check_cost_alerts,
    get_cache_hit_rate,
    get_cost_per_lead_avg,
    get_daily_spend,
)
from salesctl.reports.rollups import fold
from salesctl.reports.synthetic import insert_calls, insert_leads, make_call

NOW = datetime(2025, 1, 15, 15, 30, tzinfo=UTC)


async def test_daily_spend_and_the_seed_alert_message(engine, session) -> None:
    await insert_calls(
        engine,
        [
            make_call(timestamp=NOW - timedelta(hours=2), cost_usd="0.0400"),
            make_call(timestamp=NOW - timedelta(minutes=5), cost_usd="0.0021"),
            make_call(timestamp=NOW - timedelta(days=1), cost_usd="5"),  # yesterday
        ],
    )
    await fold(engine)
    await insert_calls(engine, [make_call(timestamp=NOW - timedelta(minutes=1), cost_usd="0")])
    assert await get_daily_spend(session, now=NOW) == {
        "date": "2025-01-15",
        "total_cost_usd": 0.0421,
        "total_requests": 3,
        "estimated_cost_usd": 0.0,
        "estimated_requests": 0,
        "unpriced_requests": 0,
    }
    assert await check_cost_alerts(session, daily_budget=10.0, now=NOW) == {
        "severity": "info",
        "message": "Daily spend within budget: $0.0421/$10.00 (0.4%)",
        "current_spend": 0.0421,
    }


@pytest.mark.parametrize(
    ("budget", "severity", "message"),
    [
        (0.05, "warning", "Daily spend approaching budget: $0.0421/$0.05 (84.2%)"),
        (0.04, "critical", "Daily spend exceeded budget: $0.0421/$0.04 (105.2%)"),
    ],
)
async def test_alert_severities(
    engine, session, budget: float, severity: str, message: str
) -> None:
    await insert_calls(engine, [make_call(timestamp=NOW - timedelta(hours=1), cost_usd="0.0421")])
    alert = await check_cost_alerts(session, daily_budget=budget, now=NOW)
    assert (alert["severity"], alert["message"]) == (severity, message)


async def test_days_follow_the_configured_time_zone(engine, session) -> None:
    # 23:00 UTC on the 14th is already the 15th in Tokyo.
    await insert_calls(engine, [make_call(timestamp=datetime(2025, 1, 14, 23, tzinfo=UTC))])
    spend = await get_daily_spend(session, timezone="Asia/Tokyo", now=NOW)
    assert (spend["date"], spend["total_requests"]) == ("2025-01-16", 0)
    spend = await get_daily_spend(
        session, timezone="Asia/Tokyo", now=datetime(2025, 1, 15, 1, tzinfo=UTC)
    )
    assert (spend["date"], spend["total_requests"]) == ("2025-01-15", 1)


async def test_cost_per_lead_average_over_the_last_days(engine, session) -> None:
    first, second = await insert_leads(engine, ["A", "B"])
    await insert_calls(
        engine,
        [
            make_call(lead_id=first, timestamp=NOW - timedelta(days=1), cost_usd="0.0001"),
            make_call(lead_id=second, timestamp=NOW - timedelta(days=2), cost_usd="0.0002"),
            make_call(lead_id=second, timestamp=NOW - timedelta(days=3), cost_usd="0.0001"),
            make_call(lead_id=first, timestamp=NOW - timedelta(days=30), cost_usd="9"),
            make_call(timestamp=NOW - timedelta(days=1), cost_usd="1"),  # no lead
        ],
    )
    assert await get_cost_per_lead_avg(session, days=7, now=NOW) == pytest.approx(0.0002)
    assert await get_cost_per_lead_avg(session, days=7, now=NOW + timedelta(days=60)) == 0.0


async def test_cache_hit_rate_over_the_last_hours(engine, session) -> None:
    rows = [make_call(timestamp=NOW - timedelta(hours=h)) for h in (1, 2, 3)]
    rows += [make_call(timestamp=NOW - timedelta(hours=4), cache_hit=True)]
    rows += [make_call(timestamp=NOW - timedelta(hours=30), cache_hit=True)]
    await insert_calls(engine, rows)
    assert await get_cache_hit_rate(session, hours=24, now=NOW) == {
        "cache_hit_rate": 0.25,
        "total_requests": 4,
        "cache_hits": 1,
    }
