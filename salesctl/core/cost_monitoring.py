"""The seed's cost monitoring utilities (`app.core.cost_monitoring`), same shapes and wording.

Each takes the caller's `AsyncSession` and only reads: figures come from the rollups plus the
detail rows not folded yet, so they are exact without writing anything (`salesctl costs` and
`budget check` fold; a process that only calls these stays correct, just slower as the
unfolded tail grows). Days are cut in `settings.timezone` (UTC by default).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.reports.filters import CostFilters
from salesctl.timewindow import load_zone, local_date

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from salesctl.reports.rollups import Sums

__all__ = ["check_cost_alerts", "get_cache_hit_rate", "get_cost_per_lead_avg", "get_daily_spend"]

WARNING_PCT = 80.0


def _zone_name(timezone: str | None) -> str:
    if timezone is not None:
        return timezone
    from salesctl.config import get_settings

    return get_settings().timezone


async def _today(db: AsyncSession, zone_name: str, now: datetime) -> tuple[str, Sums]:
    """Today's date (local) and its calls' sums, from the rollups plus the unfolded tail."""
    from salesctl.reports.rollups import COUNT_METRICS, aggregate, plan_window, read_state, total
    from salesctl.timewindow import local_midnight

    zone = load_zone(zone_name)
    today = local_date(now, zone)
    since = local_midnight(today, zone)
    until = local_midnight(today + timedelta(days=1), zone)
    plan = plan_window(since, until, await read_state(db))
    window = CostFilters(since=since, until=until, timezone=zone_name)
    groups = await aggregate(db, plan, window, "all", (), source="rollup", metrics=COUNT_METRICS)
    return today.isoformat(), total([sums for _, sums in groups])


async def get_daily_spend(
    db: AsyncSession, *, timezone: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Today's spend: `{"date": "2025-01-15", "total_cost_usd": 0.0421, "total_requests": 1247}`,
    plus how much of it is estimated and how many calls are unpriced (not in the total):
    `estimated_cost_usd`, `estimated_requests`, `unpriced_requests`."""
    day, sums = await _today(db, _zone_name(timezone), now or datetime.now(UTC))
    return {
        "date": day,
        "total_cost_usd": float(sums.cost_usd),
        "total_requests": sums.requests,
        "estimated_cost_usd": float(sums.estimated_cost_usd),
        "estimated_requests": sums.estimated_requests,
        "unpriced_requests": sums.unpriced_requests,
    }


async def get_cost_per_lead_avg(
    db: AsyncSession, days: int = 7, *, now: datetime | None = None
) -> float:
    """Average AI cost per lead worked in the last `days` days (0.0 when none was)."""
    from sqlalchemy import func, select

    from salesctl.db.models.analytics import MONEY
    from salesctl.reports.rollups import (
        COUNT_METRICS,
        outer_sums,
        plan_window,
        read_state,
        union_query,
    )

    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    filters = CostFilters(since=since, until=now)
    plan = plan_window(since, now, await read_state(db))
    facts = union_query(
        db.get_bind().dialect.name,
        plan,
        filters,
        "leads",
        ("lead_id",),
        source="rollup",
        metrics=COUNT_METRICS,
    )
    summed = select(facts.c.lead_id, *outer_sums(facts, ("cost_usd",)))
    per_lead = summed.group_by(facts.c.lead_id).subquery()
    total = func.sum(per_lead.c.cost_usd, type_=MONEY)
    leads, cost = (await db.execute(select(func.count(), total))).one()
    if not leads:
        return 0.0
    return float(Decimal(cost or 0) / leads)


async def get_cache_hit_rate(
    db: AsyncSession, hours: int = 24, *, now: datetime | None = None
) -> dict[str, Any]:
    """`{"cache_hit_rate": 0.23, "total_requests": 450, "cache_hits": 104}` over `hours`."""
    from salesctl.reports.rollups import aggregate, plan_window, read_state

    now = now or datetime.now(UTC)
    since = now - timedelta(hours=hours)
    plan = plan_window(since, now, await read_state(db))
    groups = await aggregate(
        db,
        plan,
        CostFilters(since=since, until=now),
        "all",
        ("cache_hit",),
        source="rollup",
        metrics=("requests",),
    )
    total = sum(s.requests for _, s in groups)
    hits = sum(s.requests for (hit,), s in groups if hit)
    rate = round(hits / total, 4) if total else 0.0
    return {"cache_hit_rate": rate, "total_requests": total, "cache_hits": hits}


async def check_cost_alerts(
    db: AsyncSession,
    daily_budget: float = 10.0,
    *,
    timezone: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Today's spend against `daily_budget`: info, warning from 80 %, critical from 100 %.

    `{"severity": "info", "message": "Daily spend within budget: $0.0421/$10.00 (0.4%)",
    "current_spend": 0.0421}`
    """
    _day, sums = await _today(db, _zone_name(timezone), now or datetime.now(UTC))
    spend = sums.cost_usd
    budget = Decimal(str(daily_budget))
    percent = float(spend / budget * 100) if budget > 0 else (float("inf") if spend else 0.0)
    figures = f"${spend:.4f}/${budget:.2f} ({percent:.1f}%)"
    if percent >= 100:
        severity, message = "critical", f"Daily spend exceeded budget: {figures}"
    elif percent >= WARNING_PCT:
        severity, message = "warning", f"Daily spend approaching budget: {figures}"
    else:
        severity, message = "info", f"Daily spend within budget: {figures}"
    return {"severity": severity, "message": message, "current_spend": float(spend)}
