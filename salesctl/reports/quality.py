"""`costs quality`: what answers cost against how people rated them.

Per agent, router tier and model: the answered calls, how many were rated, their mean score,
the cost per call and the cost per good answer (cost per call divided by the share of rated
calls whose mean rating is at least 0.5: what it takes, on average, to get one answer people
call good). The router's tiers are summed side by side, so a team sees what the cheap tier
really costs once its bad answers are counted. Read from the detail rows (ratings live there),
so calls pruned by `costs prune` are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesctl.llm.feedback import GOOD_AT
from salesctl.reports.filters import CostFilters
from salesctl.vocabulary import COMPLEXITIES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


@dataclass(frozen=True, slots=True)
class QualityRow:
    agent_type: str | None
    tier: str | None
    """The router's tier for smart-router calls; None for calls on a fixed model."""
    provider: str | None
    model: str | None
    calls: int
    rated_calls: int
    mean_score: float | None
    good_share: float | None
    """Rated calls whose mean rating is at least 0.5, over all rated calls."""
    cost_usd: Decimal | None
    cost_per_call_usd: Decimal | None
    cost_per_good_answer_usd: Decimal | None


@dataclass(frozen=True)
class QualityReport:
    since: datetime | None
    until: datetime | None
    rows: list[QualityRow]
    tiers: list[QualityRow]
    ratings: int
    notes: list[str] = field(default_factory=list)


@dataclass
class _Acc:
    calls: int = 0
    unpriced: int = 0
    cost: Decimal = Decimal(0)
    rated: int = 0
    score_sum: float = 0.0
    good: int = 0

    def add(self, row: Any) -> None:
        self.calls += row.calls
        self.unpriced += row.unpriced or 0
        self.cost += Decimal(row.cost or 0)
        self.rated += row.rated or 0
        self.score_sum += float(row.score_sum or 0)
        self.good += row.good or 0


def _row(key: tuple[str | None, str | None, str | None, str | None], acc: _Acc) -> QualityRow:
    agent_type, tier, provider, model = key
    cost = None if acc.unpriced else acc.cost.normalize()
    per_call = (acc.cost / acc.calls).quantize(Decimal("1e-10")).normalize() if acc.calls else None
    if acc.unpriced:
        per_call = None
    good_share = acc.good / acc.rated if acc.rated else None
    per_good = None
    if per_call is not None and good_share:
        per_good = (per_call / Decimal(str(good_share))).quantize(Decimal("1e-10")).normalize()
    return QualityRow(
        agent_type=agent_type,
        tier=tier,
        provider=provider,
        model=model,
        calls=acc.calls,
        rated_calls=acc.rated,
        mean_score=round(acc.score_sum / acc.rated, 4) if acc.rated else None,
        good_share=round(good_share, 4) if good_share is not None else None,
        cost_usd=cost,
        cost_per_call_usd=per_call,
        cost_per_good_answer_usd=per_good,
    )


async def read_quality(session: AsyncSession, filters: CostFilters) -> QualityReport:
    from sqlalchemy import Integer, case, cast, func, select

    from salesctl.db.models.feedback import CallFeedback
    from salesctl.db.models.tracking import AICostTracking
    from salesctl.reports.filters import verify_agents
    from salesctl.reports.rollups import _filter_conditions, _in_window

    filters = await verify_agents(session, filters)
    t = AICostTracking.__table__
    rated = t.c.feedback_count > 0
    tier = case((t.c.agent_mode == "smart_router", t.c.prompt_complexity), else_=None)
    query = (
        select(
            t.c.agent_type,
            tier.label("tier"),
            t.c.provider,
            t.c.model,
            func.count().label("calls"),
            func.sum(cast(t.c.unpriced, Integer)).label("unpriced"),
            func.sum(t.c.cost_usd).label("cost"),
            func.sum(case((rated, 1), else_=0)).label("rated"),
            func.sum(case((rated, t.c.quality_score), else_=0.0)).label("score_sum"),
            func.sum(case((t.c.quality_score >= GOOD_AT, 1), else_=0)).label("good"),
        )
        .where(
            t.c.status == "ok",
            *_in_window(t.c.timestamp, filters.since, filters.until),
            *_filter_conditions(t, filters, None),
        )
        .group_by(t.c.agent_type, tier, t.c.provider, t.c.model)
    )
    groups = (await session.execute(query)).all()
    by_key: dict[tuple[str | None, str | None, str | None, str | None], _Acc] = {}
    by_tier: dict[str, _Acc] = {}
    for row in groups:
        key = (row.agent_type, row.tier, row.provider, row.model)
        by_key.setdefault(key, _Acc()).add(row)
        if row.tier is not None:
            by_tier.setdefault(row.tier, _Acc()).add(row)
    rows = [_row(key, acc) for key, acc in by_key.items() if acc.rated]
    rows.sort(key=lambda r: (r.agent_type or "", _tier_rank(r.tier), r.provider or "", r.model))
    tiers = [
        _row((None, name, None, None), by_tier[name]) for name in COMPLEXITIES if name in by_tier
    ]
    f = CallFeedback.__table__
    ratings = (
        await session.execute(
            select(func.count())
            .select_from(f.join(t, t.c.request_id == f.c.request_id))
            .where(
                *_in_window(t.c.timestamp, filters.since, filters.until),
                *_filter_conditions(t, filters, None),
            )
        )
    ).scalar_one()
    notes = []
    if not rows:
        notes.append(
            "no rated calls in this window: rate answers with `salesctl feedback ID --good` "
            "(or /good in chat)"
        )
    return QualityReport(
        since=filters.since,
        until=filters.until,
        rows=rows,
        tiers=tiers,
        ratings=int(ratings),
        notes=notes,
    )


def _tier_rank(tier: str | None) -> int:
    return COMPLEXITIES.index(tier) if tier in COMPLEXITIES else len(COMPLEXITIES)


async def quality_report(engine: AsyncEngine, filters: CostFilters) -> QualityReport:
    from salesctl.db.session import session_factory

    async with session_factory(engine)() as session, session.begin():
        return await read_quality(session, filters)
