"""`costs outcomes`: AI cost per sales outcome, by agent and by month.

Outcomes in a period (months cut in the configured time zone):
  qualified  leads whose qualification finished in it (`qualified_at`) and that came out
             qualified (status qualified/customer, or tier hot/warm)
  hot        those with tier `hot`
  meetings   deals whose current stage is qualification or later (a discovery meeting was
             held: qualification, proposal, negotiation, closed_won), dated by `stage_changed_at`
  won        deals in `closed_won`, dated by `stage_changed_at`
Cost per outcome is the AI spend in the same period divided by the count: what the pipeline's
AI work cost per result, whichever lead the spend was on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.reports.filters import CostFilters

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

MEETING_STAGES = ("qualification", "proposal", "negotiation", "closed_won")
QUALIFIED_STATUSES = ("qualified", "customer")
QUALIFIED_TIERS = ("hot", "warm")
OUTCOMES = ("qualified", "hot", "meetings", "won")


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    label: str
    spend_usd: Decimal | None
    qualified: int
    hot: int
    meetings: int
    won: int
    per_qualified_usd: Decimal | None
    per_hot_usd: Decimal | None
    per_meeting_usd: Decimal | None
    per_won_usd: Decimal | None
    unpriced_requests: int = 0


@dataclass(frozen=True)
class OutcomeReport:
    since: datetime | None
    until: datetime | None
    timezone: str
    total: OutcomeRow
    by_agent: list[OutcomeRow]
    by_month: list[OutcomeRow]
    definitions: dict[str, str] = field(
        default_factory=lambda: {
            "qualified": (
                "leads qualified in the period (status qualified/customer or tier hot/warm)"
            ),
            "hot": "leads qualified in the period with tier hot",
            "meetings": "deals whose stage changed in the period to " + ", ".join(MEETING_STAGES),
            "won": "deals closed_won in the period",
        }
    )
    notes: list[str] = field(default_factory=list)


def _per(spend: Decimal | None, count: int) -> Decimal | None:
    if spend is None or not count:
        return None
    return (spend / count).quantize(Decimal("1e-10")).normalize()


def outcome_row(
    label: str, spend: Decimal | None, counts: dict[str, int], unpriced: int = 0
) -> OutcomeRow:
    return OutcomeRow(
        label=label,
        spend_usd=spend,
        qualified=counts.get("qualified", 0),
        hot=counts.get("hot", 0),
        meetings=counts.get("meetings", 0),
        won=counts.get("won", 0),
        per_qualified_usd=_per(spend, counts.get("qualified", 0)),
        per_hot_usd=_per(spend, counts.get("hot", 0)),
        per_meeting_usd=_per(spend, counts.get("meetings", 0)),
        per_won_usd=_per(spend, counts.get("won", 0)),
        unpriced_requests=unpriced,
    )


def _bucket(column: ColumnElement[Any], cuts: list[datetime]) -> ColumnElement[int]:
    """0 before the first cut, 1 between the first and second, …"""
    from sqlalchemy import case, literal

    if not cuts:
        return literal(0)
    return case(*((column < cut, i) for i, cut in enumerate(cuts)), else_=len(cuts))


async def _outcome_counts(
    session: AsyncSession, since: datetime, until: datetime | None, cuts: list[datetime]
) -> dict[int, dict[str, int]]:
    """Outcome counts per month bucket."""
    from sqlalchemy import and_, case, func, or_, select

    from salesctl.db.models.crm import Deal, Lead

    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    leads = Lead.__table__
    qualified = or_(
        leads.c.status.in_(QUALIFIED_STATUSES), leads.c.qualification_tier.in_(QUALIFIED_TIERS)
    )
    lead_window = [leads.c.qualified_at >= since] + (
        [leads.c.qualified_at < until] if until is not None else []
    )
    bucket = _bucket(leads.c.qualified_at, cuts)
    hot = func.sum(case((leads.c.qualification_tier == "hot", 1), else_=0))
    query = (
        select(bucket.label("bucket"), func.count().label("qualified"), hot.label("hot"))
        .where(*lead_window, qualified)
        .group_by(bucket)
    )
    for row in (await session.execute(query)).all():
        counts[int(row.bucket)]["qualified"] += int(row.qualified)
        counts[int(row.bucket)]["hot"] += int(row.hot or 0)
    deals = Deal.__table__
    deal_window = [deals.c.stage_changed_at >= since] + (
        [deals.c.stage_changed_at < until] if until is not None else []
    )
    bucket = _bucket(deals.c.stage_changed_at, cuts)
    won = func.sum(case((deals.c.stage == "closed_won", 1), else_=0))
    query = (
        select(bucket.label("bucket"), func.count().label("meetings"), won.label("won"))
        .where(and_(*deal_window), deals.c.stage.in_(MEETING_STAGES))
        .group_by(bucket)
    )
    for row in (await session.execute(query)).all():
        counts[int(row.bucket)]["meetings"] += int(row.meetings)
        counts[int(row.bucket)]["won"] += int(row.won or 0)
    return counts


async def read_outcomes(
    session: AsyncSession, filters: CostFilters, *, now: datetime | None = None
) -> OutcomeReport:
    from salesctl.reports.costs import bucket_starts, cut_points
    from salesctl.reports.filters import verify_agents
    from salesctl.reports.rollups import (
        COUNT_METRICS,
        Sums,
        aggregate,
        bucket_index,
        plan_window,
        read_state,
    )

    filters = await verify_agents(session, filters)
    now = now or datetime.now(UTC)
    if filters.since is None:
        raise ValueError("an outcome report needs a start (CostFilters.since)")
    end = filters.until or now
    months: list[date] = bucket_starts(
        filters.since, max(end, filters.since), filters.timezone, "month"
    )
    cuts = cut_points(months, filters.timezone)
    plan = plan_window(filters.since, filters.until, await read_state(session), cuts)
    groups = await aggregate(
        session,
        plan,
        filters,
        "all",
        ("agent_type",),
        source="rollup",
        by_hour=True,
        metrics=COUNT_METRICS,
    )
    per_agent: dict[str, Sums] = defaultdict(Sums)
    per_month = [Sums() for _ in months]
    for (agent_type, hour, after_cut), sums in groups:
        per_agent[agent_type].add(sums)
        per_month[min(bucket_index(plan, hour, after_cut), len(months) - 1)].add(sums)
    counts = await _outcome_counts(
        session, plan.since or filters.since, plan.until, list(plan.cuts)
    )
    totals: dict[str, int] = defaultdict(int)
    for bucket_counts in counts.values():
        for key, value in bucket_counts.items():
            totals[key] += value
    overall = Sums()
    for sums in per_month:
        overall.add(sums)
    by_agent = [
        outcome_row(name, s.known_cost, totals, s.unpriced_requests)
        for name, s in sorted(per_agent.items(), key=lambda kv: (-(kv[1].cost_usd), kv[0]))
    ]
    by_month = [
        outcome_row(day.strftime("%Y-%m"), s.known_cost, counts.get(i, {}), s.unpriced_requests)
        for i, (day, s) in enumerate(zip(months, per_month, strict=True))
    ]
    notes = []
    if overall.unpriced_requests:
        notes.append(f"{overall.unpriced_requests} unpriced call(s) are not in the spend")
    return OutcomeReport(
        since=filters.since,
        until=filters.until,
        timezone=filters.timezone,
        total=outcome_row("total", overall.known_cost, totals, overall.unpriced_requests),
        by_agent=by_agent,
        by_month=by_month,
        notes=notes,
    )


async def outcome_report(engine: AsyncEngine, filters: CostFilters) -> OutcomeReport:
    """Fold, then read the unit economics."""
    from salesctl.db.session import session_factory
    from salesctl.reports.rollups import fold

    await fold(engine)
    async with session_factory(engine)() as session, session.begin():
        return await read_outcomes(session, filters)
