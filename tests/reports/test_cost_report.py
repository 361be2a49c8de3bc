"""The cost report against hand-written SQL over the detail rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from salesctl.config import Settings
from salesctl.reports.costs import ReportOptions, cost_report, read_cost_report
from salesctl.reports.filters import build_filters
from salesctl.reports.rollups import fold
from salesctl.reports.synthetic import insert_calls, insert_leads, make_call, synthetic_calls

NOW = datetime(2025, 3, 10, 9, 20, tzinfo=UTC)


def money(engine, value) -> Decimal:  # type: ignore[no-untyped-def]
    """A SUM(cost_usd) straight from the database, in dollars (SQLite keeps 1e-10 units)."""
    if value is None:
        return Decimal(0)
    if engine.dialect.name == "sqlite":
        return Decimal(int(value)).scaleb(-10)
    return Decimal(value)


async def seed(engine, count: int = 500) -> list[int]:  # type: ignore[no-untyped-def]
    """Leads plus `count` synthetic calls over ten days; half folded, half left in the tail."""
    lead_ids = await insert_leads(engine, [f"Company {i}" for i in range(1, 9)])
    rows = list(
        synthetic_calls(count, start=NOW - timedelta(days=10), days=10, leads=8, users=4, seed=7)
    )
    rows += [
        make_call(agent_type="growth", model="unlisted-model", cost_usd=None, timestamp=NOW - d)
        for d in (timedelta(days=3), timedelta(days=5, minutes=7), timedelta(hours=30))
    ]
    rows.sort(key=lambda row: row["timestamp"])
    await insert_calls(engine, rows[: count // 2])
    await fold(engine)
    await insert_calls(engine, rows[count // 2 :])
    return lead_ids


async def direct(engine, sql: str, **params):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).all()


async def test_report_equals_direct_sql_over_detail_rows(engine) -> None:
    await seed(engine)
    settings = Settings(timezone="Asia/Kolkata")
    filters = build_filters(
        settings=settings, since="2025-03-01T07:13", until="2025-03-09T18:40", now=NOW
    )
    report = await cost_report(engine, filters, ReportOptions(top=0), now=NOW)
    window = {"since": filters.since, "until": filters.until}
    if engine.dialect.name == "sqlite":
        window = {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in window.items()}
    where = "timestamp >= :since AND timestamp < :until"

    [(requests, cost, unpriced)] = await direct(
        engine,
        "SELECT count(*), sum(cost_usd), sum(CASE WHEN unpriced THEN 1 ELSE 0 END) "
        f"FROM ai_cost_tracking WHERE {where}",
        **window,
    )
    assert requests > 100
    assert report.total_requests == requests
    assert report.total_cost_usd == money(engine, cost)
    assert report.unpriced_requests == unpriced > 0

    [(estimated, estimated_cost)] = await direct(
        engine,
        f"SELECT count(*), sum(cost_usd) FROM ai_cost_tracking WHERE {where} AND cost_estimated",
        **window,
    )
    assert report.estimated_requests == estimated > 0
    assert report.estimated_cost_usd == money(engine, estimated_cost)
    assert sum(a.estimated_requests for a in report.by_agent) == estimated
    assert sum(m.estimated_cost_usd for m in report.by_provider_model) == money(
        engine, estimated_cost
    )

    agents = await direct(
        engine,
        "SELECT agent_type, count(*), sum(cost_usd), avg(latency_ms), "
        "sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END) "
        f"FROM ai_cost_tracking WHERE {where} GROUP BY agent_type",
        **window,
    )
    by_agent = {a.agent_type: a for a in report.by_agent}
    assert set(by_agent) == {row[0] for row in agents}
    for agent_type, n, agent_cost, latency, failed in agents:
        assert by_agent[agent_type].total_requests == n
        assert by_agent[agent_type].total_cost_usd == money(engine, agent_cost)
        assert by_agent[agent_type].avg_latency_ms == round(float(latency), 1)
        assert by_agent[agent_type].failed_requests == failed

    leads = await direct(
        engine,
        "SELECT lead_id, count(*), sum(cost_usd) FROM ai_cost_tracking "
        f"WHERE {where} AND lead_id IS NOT NULL GROUP BY lead_id",
        **window,
    )
    used = await direct(
        engine,
        "SELECT DISTINCT lead_id, agent_type FROM ai_cost_tracking "
        f"WHERE {where} AND lead_id IS NOT NULL",
        **window,
    )
    agents_used: dict[int, set[str]] = defaultdict(set)
    for lead_id, agent_type in used:
        agents_used[lead_id].add(agent_type)
    by_lead = {lead.lead_id: lead for lead in report.by_lead}
    assert report.leads_total == len(leads) == len(by_lead)
    for lead_id, n, lead_cost in leads:
        assert by_lead[lead_id].total_requests == n
        assert by_lead[lead_id].total_cost_usd == money(engine, lead_cost)
        assert by_lead[lead_id].agents_used == sorted(agents_used[lead_id])
        assert by_lead[lead_id].company_name == f"Company {lead_id}"
    costs = [lead.total_cost_usd for lead in report.by_lead]
    assert costs == sorted(costs, reverse=True)

    [(hits, saved)] = await direct(
        engine,
        f"SELECT count(*), sum(saved_usd) FROM ai_cost_tracking WHERE {where} AND cache_hit",
        **window,
    )
    assert report.cache_stats.cache_hits == hits > 0
    assert report.cache_stats.estimated_savings_usd == money(engine, saved)
    assert report.cache_stats.cache_hit_rate == round(hits / requests, 4)

    # Days cut in Asia/Kolkata (UTC+05:30): the window's cuts fall mid-hour in UTC.
    local_day = (
        "date(timestamp, '+5 hours', '+30 minutes')"
        if engine.dialect.name == "sqlite"
        else "date(timestamp AT TIME ZONE 'Asia/Kolkata')"
    )
    days = await direct(
        engine,
        f"SELECT {local_day} AS day, count(*), sum(cost_usd) FROM ai_cost_tracking "
        f"WHERE {where} GROUP BY day ORDER BY day",
        **window,
    )
    series = {p.date: p for p in report.time_series}
    assert (report.time_series[0].date, report.time_series[-1].date) == ("2025-03-01", "2025-03-09")
    for day, n, day_cost in days:
        point = series[str(day)]
        assert (point.total_requests, point.total_cost_usd) == (n, money(engine, day_cost))
    assert sum(p.total_requests for p in report.time_series) == requests


async def test_unpriced_calls_are_counted_never_priced_at_zero(engine) -> None:
    when = NOW - timedelta(hours=3)
    await insert_calls(
        engine,
        [
            make_call(agent_type="growth", timestamp=when, model="mystery-1", cost_usd=None),
            make_call(agent_type="growth", timestamp=when, model="mystery-1", cost_usd=None),
            make_call(agent_type="qualification", timestamp=when, cost_usd="0.0000421"),
        ],
    )
    filters = build_filters(settings=Settings(), since="today", now=NOW)
    report = await cost_report(engine, filters, now=NOW)
    growth = next(a for a in report.by_agent if a.agent_type == "growth")
    assert growth.total_requests == 2
    assert growth.unpriced_requests == 2
    assert growth.total_cost_usd is None
    assert growth.avg_cost_per_request is None
    assert report.total_cost_usd == Decimal("0.0000421")
    assert report.unpriced_requests == 2
    [today] = report.time_series
    assert (today.total_requests, today.unpriced_requests) == (3, 2)


async def test_rollup_and_detail_paths_agree_with_every_section(engine) -> None:
    await seed(engine, count=300)
    settings = Settings(timezone="America/New_York")
    filters = build_filters(settings=settings, since="2025-03-02T10:30", now=NOW)
    options = ReportOptions(top=0, by_user=True, percentiles=True)
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session:
        rolled = await read_cost_report(session, filters, options, source="rollup", now=NOW)
        detail = await read_cost_report(session, filters, options, source="detail", now=NOW)
    assert rolled.by_user
    assert rolled.percentiles
    assert (rolled.source, detail.source) == ("rollup", "detail")
    assert {**vars(rolled), "source": None} == {**vars(detail), "source": None}


async def test_a_lead_filter_reads_detail_rows_and_matches(engine) -> None:
    [lead] = await insert_leads(engine, ["Acme"])
    when = NOW - timedelta(hours=1)
    await insert_calls(
        engine,
        [
            make_call(agent_type="qualification", lead_id=lead, timestamp=when),
            make_call(agent_type="enrichment", lead_id=lead, timestamp=when),
            make_call(agent_type="qualification", timestamp=when),
        ],
    )
    filters = build_filters(settings=Settings(), since="7d", lead_id=lead, now=NOW)
    report = await cost_report(engine, filters, now=NOW)
    assert report.total_requests == 2
    assert report.source == "detail"
    assert [(x.lead_id, x.agents_used) for x in report.by_lead] == [
        (lead, ["enrichment", "qualification"])
    ]


@pytest.mark.parametrize("granularity", ["week", "month"])
async def test_weeks_and_months_bucket_by_local_calendar(engine, granularity: str) -> None:
    times = [datetime(2025, 1, 31, 23, 30, tzinfo=UTC), datetime(2025, 2, 3, 0, 30, tzinfo=UTC)]
    await insert_calls(engine, [make_call(timestamp=t) for t in times])
    filters = build_filters(
        settings=Settings(timezone="Europe/Berlin"), since="2025-01-20", until="2025-02-10", now=NOW
    )
    report = await cost_report(engine, filters, ReportOptions(granularity=granularity), now=NOW)  # type: ignore[arg-type]
    counts = {p.date: p.total_requests for p in report.time_series if p.total_requests}
    # 23:30 UTC on Jan 31 is 00:30 on Feb 1 in Berlin; Feb 3 is a Monday.
    if granularity == "week":
        assert counts == {"2025-01-27": 1, "2025-02-03": 1}
    else:
        assert counts == {"2025-02-01": 2}


async def test_a_deleted_lead_leaves_by_lead_on_both_paths(engine) -> None:
    from sqlalchemy import delete

    from salesctl.db.models import Lead
    from salesctl.db.session import session_factory

    kept, gone = await insert_leads(engine, ["Kept", "Gone"])
    when = NOW - timedelta(hours=5)
    await insert_calls(
        engine, [make_call(lead_id=lead, timestamp=when) for lead in (kept, gone, gone)]
    )
    await fold(engine)
    async with engine.begin() as conn:
        await conn.execute(delete(Lead).where(Lead.id == gone))
    filters = build_filters(settings=Settings(), since="7d", now=NOW)
    async with session_factory(engine)() as session:
        rolled = await read_cost_report(session, filters, ReportOptions(top=0), now=NOW)
        detail = await read_cost_report(
            session, filters, ReportOptions(top=0), source="detail", now=NOW
        )
    assert [lead.lead_id for lead in rolled.by_lead] == [kept]
    assert (
        (rolled.by_lead, rolled.leads_total)
        == (detail.by_lead, detail.leads_total)
        == (
            rolled.by_lead,
            1,
        )
    )
    assert rolled.total_requests == 3
