"""`budget check`'s forecast and anomaly rules, on synthetic spend and a fixed "now"."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from salesctl.reports.budget import (
    BudgetRequest,
    check_budgets,
    run_budget_check,
    summary_line,
)
from salesctl.reports.synthetic import insert_calls, make_call

NOW = datetime(2025, 3, 20, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def hourly(start: datetime, stop: datetime, cost: str = "1", **call: Any) -> list[dict[str, Any]]:
    """One call of `cost` in the middle of every hour of `[start, stop)`."""
    rows = []
    moment = start
    while moment < stop:
        rows.append(make_call(cost_usd=cost, timestamp=moment + HOUR / 2, **call))
        moment += HOUR
    return rows


def request(**values: Any) -> BudgetRequest:
    return BudgetRequest(
        daily_usd=values.pop("daily_usd", None),
        monthly_usd=values.pop("monthly_usd", Decimal(10_000)),
        **values,
    )


async def check(session, now: datetime = NOW, **values: Any):  # type: ignore[no-untyped-def]
    async with session.begin():
        return await check_budgets(session, request(**values), now=now)


# --- the forecast ------------------------------------------------------------------------


async def test_a_steady_month_is_forecast_to_its_end(engine, session) -> None:
    # $1 an hour since March 1st: 468 hours so far, 276 left until April.
    await insert_calls(engine, hourly(datetime(2025, 3, 1, tzinfo=UTC), NOW))
    result = await check(session, monthly_usd=Decimal(800))
    assert result.forecast.day_end_usd == Decimal(24)
    assert result.forecast.month_end_usd == Decimal(744)
    assert result.forecast.crosses_at is None
    assert result.severity == "info"
    assert "monthly $468.00 of $800.00 (58.5%; forecast $744.00)" in result.summary
    assert "monthly_forecast_usd=744;;800;0" in result.summary


async def test_a_forecast_over_the_monthly_budget_warns_and_says_when(engine, session) -> None:
    await insert_calls(engine, hourly(datetime(2025, 3, 1, tzinfo=UTC), NOW))
    result = await check(session, monthly_usd=Decimal(600))
    assert result.budgets[0].percent == 78.0  # below the 80 % warning: the spend alone is info
    assert result.forecast.crosses_at == datetime(2025, 3, 26, tzinfo=UTC)  # 132 h at $1/h
    assert result.severity == "warning"
    assert result.exit_code == 1
    assert result.summary.startswith(
        "BUDGET WARNING - monthly $468.00 of $600.00 (78.0%; forecast $744.00, "
        "crossing 2025-03-26 00:00 UTC)"
    )


async def test_the_forecast_crossing_is_said_in_the_configured_time_zone(engine, session) -> None:
    await insert_calls(engine, hourly(datetime(2025, 2, 28, 23, tzinfo=UTC), NOW))
    result = await check(session, monthly_usd=Decimal(600), timezone="Europe/Berlin")
    assert result.forecast.crosses_at is not None
    assert "crossing 2025-03-26 00:00 CET" in result.summary


async def test_a_busy_first_hour_does_not_project_a_month_of_it(engine, session) -> None:
    # Trailing week: $1 an hour. The month's first hour so far: one $5 call.
    now = datetime(2025, 3, 1, 1, tzinfo=UTC)
    rows = hourly(now - HOUR - 7 * DAY, now - HOUR)
    rows.append(make_call(cost_usd="5", timestamp=now - HOUR / 2))
    await insert_calls(engine, rows)
    result = await check(session, now=now)
    # The month's own rate ($5/h) weighs 1/25 after one hour; the trailing $1/h the rest:
    # 5 + 743 h x (5/25 + 24/25) = 866.88, not 5 x 744 = 3,720.
    assert result.forecast.month_end_usd == Decimal("866.88")
    assert result.forecast.day_end_usd == Decimal("31.68")  # 5 + 23 h x 1.16


async def test_no_history_and_no_spend_forecast_nothing(engine, session) -> None:
    result = await check(session, monthly_usd=Decimal(1))
    assert (result.forecast.day_end_usd, result.forecast.month_end_usd) == (0, 0)
    assert result.forecast.crosses_at is None
    assert [a.usual_usd for a in result.anomalies] == [None, None]
    assert result.severity == "info"


# --- anomalies ---------------------------------------------------------------------------


def same_hour_each_day(*, days: int, cost: str, at: datetime = NOW - HOUR / 4, **call: Any):  # type: ignore[no-untyped-def]
    return [make_call(cost_usd=cost, timestamp=at - k * DAY, **call) for k in range(1, days + 1)]


async def test_a_last_hour_spike_names_the_agent_and_model_that_drove_it(engine, session) -> None:
    rows = same_hour_each_day(days=7, cost="0.10", agent_type="marketing")
    rows += same_hour_each_day(days=7, cost="0.05", agent_type="qualification")
    rows += [
        make_call(agent_type="qualification", cost_usd="0.05", timestamp=NOW - HOUR / 4),
        make_call(
            agent_type="growth",
            provider="openrouter",
            model="deepseek/deepseek-chat-v3-0324",
            cost_usd="2",
            timestamp=NOW - HOUR / 2,
        ),
    ]
    await insert_calls(engine, rows)
    result = await check(session)
    hour = next(a for a in result.anomalies if a.window == "last_hour")
    assert hour.spend_usd == Decimal("2.05")
    assert hour.usual_usd == Decimal("0.15")
    assert hour.history_days == 7
    assert hour.is_spike
    assert hour.period == "2025-03-20T12"
    assert hour.driver is not None
    assert (hour.driver.agent_type, hour.driver.provider, hour.driver.model) == (
        "growth",
        "openrouter",
        "deepseek/deepseek-chat-v3-0324",
    )
    assert result.severity == "warning"
    assert (
        "spike: last hour $2.05 is 13.7x the usual $0.15 "
        "(growth on openrouter:deepseek/deepseek-chat-v3-0324)"
    ) in result.summary


async def test_the_last_hour_is_sixty_minutes_to_the_second(engine, session) -> None:
    rows = same_hour_each_day(days=7, cost="0.10")
    rows += [
        make_call(cost_usd="5", timestamp=NOW - HOUR - timedelta(seconds=1)),  # just before
        make_call(cost_usd="0.20", timestamp=NOW - HOUR),  # the window's first instant
    ]
    await insert_calls(engine, rows)
    result = await check(session)
    hour = next(a for a in result.anomalies if a.window == "last_hour")
    assert hour.spend_usd == Decimal("0.2")
    assert not hour.is_spike  # 2x the usual $0.10


async def test_today_so_far_is_compared_with_the_same_hours(engine, session) -> None:
    # Each trailing day: $0.10 in the morning, $5 in the evening (after NOW's time of day).
    rows = same_hour_each_day(days=7, cost="0.10", at=NOW.replace(hour=8))
    rows += same_hour_each_day(days=7, cost="5", at=NOW.replace(hour=20))
    rows.append(make_call(agent_type="bdr", cost_usd="1", timestamp=NOW.replace(hour=9)))
    await insert_calls(engine, rows)
    result = await check(session)
    today = next(a for a in result.anomalies if a.window == "today")
    assert today.spend_usd == Decimal(1)
    # The same hours (midnight to noon) usually cost $0.10; the evenings are not counted,
    # though the week's average hour ($35.70 / 168 h x 12 h = $2.55) sets the floor.
    assert today.usual_usd == Decimal("2.55")
    assert not today.is_spike
    await insert_calls(
        engine, [make_call(agent_type="bdr", cost_usd="9", timestamp=NOW.replace(hour=10))]
    )
    result = await check(session)
    today = next(a for a in result.anomalies if a.window == "today")
    assert today.is_spike
    assert today.driver is not None
    assert today.driver.agent_type == "bdr"
    assert "spike: today $10.00 is 3.9x the usual $2.55 by this time (bdr on" in result.summary
    assert not next(a for a in result.anomalies if a.window == "last_hour").is_spike


async def test_a_quiet_hour_does_not_make_one_call_a_spike(engine, session) -> None:
    rows = same_hour_each_day(days=7, cost="1", at=NOW.replace(hour=18))
    rows.append(make_call(cost_usd="0.05", timestamp=NOW - HOUR / 2))
    await insert_calls(engine, rows)
    result = await check(session)
    hour = next(a for a in result.anomalies if a.window == "last_hour")
    assert hour.usual_usd == Decimal("0.041667")  # $7 over the week's 168 hours
    assert not hour.is_spike


async def test_a_spike_needs_three_trailing_days_with_spend(engine, session) -> None:
    await insert_calls(engine, [*same_hour_each_day(days=2, cost="0.10")])
    await insert_calls(engine, [make_call(cost_usd="5", timestamp=NOW - HOUR / 2)])
    result = await check(session)
    assert not any(a.is_spike for a in result.anomalies)
    assert {a.history_days for a in result.anomalies} == {2}
    await insert_calls(engine, [make_call(cost_usd="0.10", timestamp=NOW - 3 * DAY)])
    result = await check(session)
    assert all(a.is_spike for a in result.anomalies)


async def test_windows_whose_detail_rows_were_pruned_come_from_the_rollups(engine, session) -> None:
    from salesctl.reports.rollups import prune

    rows = same_hour_each_day(days=7, cost="0.10")
    rows.append(make_call(cost_usd="2", timestamp=NOW - HOUR / 4))
    await insert_calls(engine, rows)
    await prune(engine, before=NOW - 2 * DAY)
    result = await check(session)
    hour = next(a for a in result.anomalies if a.window == "last_hour")
    # The hour's windows are whole UTC hours here, so the hourly sums answer them exactly.
    assert hour.usual_usd == Decimal("0.1")
    assert hour.is_spike


async def test_an_agent_check_sees_only_that_agents_spike(engine, session) -> None:
    rows = same_hour_each_day(days=7, cost="0.10", agent_type="marketing")
    rows += same_hour_each_day(days=7, cost="0.10", agent_type="bdr")
    rows.append(make_call(agent_type="marketing", cost_usd="3", timestamp=NOW - HOUR / 2))
    await insert_calls(engine, rows)
    marketing = await check(session, agent="marketing")
    assert any(a.is_spike for a in marketing.anomalies)
    assert {a.scope for a in marketing.anomalies} == {"marketing:hour-spike", "marketing:spike"}
    bdr = await check(session, agent="bdr")
    assert not any(a.is_spike for a in bdr.anomalies)


# --- notify once -------------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


async def test_each_spike_and_forecast_crossing_is_notified_once(engine, receiver) -> None:
    rows = hourly(datetime(2025, 3, 1, tzinfo=UTC), NOW - HOUR, cost="0.10")
    rows.append(make_call(cost_usd="4", timestamp=NOW - HOUR / 2))
    await insert_calls(engine, rows)
    budget = request(monthly_usd=Decimal(60))

    first = await run_budget_check(engine, budget, notify_url=receiver.url, now=NOW)
    assert first.exit_code == 1
    assert first.forecast.crosses_at is not None
    assert sorted(a.scope for a in first.new_alerts) == [
        "hour-spike",
        "monthly",
        "monthly-forecast",
        "spike",
    ]
    assert len(receiver.posts) == 1
    text = receiver.posts[0]["text"]
    assert "monthly spend is forecast to reach $60.00 around 2025-03-" in text
    assert "hour-spike: last hour $4.00 is" in text

    later = await run_budget_check(engine, budget, notify_url=receiver.url, now=NOW + HOUR / 12)
    assert later.exit_code == 1  # still a spike, still forecast over: said already
    assert later.new_alerts == []
    assert len(receiver.posts) == 1


async def test_the_summary_line_without_a_monthly_budget_has_no_forecast(engine, session) -> None:
    await insert_calls(engine, hourly(NOW - 3 * HOUR, NOW))
    async with session.begin():
        result = await check_budgets(
            session, BudgetRequest(daily_usd=Decimal(10), monthly_usd=None), now=NOW
        )
    assert result.forecast.crosses_at is None
    assert result.forecast.day_end_usd > 3
    assert "forecast" not in summary_line(result)
