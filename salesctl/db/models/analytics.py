"""Tables behind reports and budget checks: rollups of `ai_cost_tracking`, alert state.

The rollups are caches of the detail table, folded in by `salesctl.reports.rollups.fold` just
before a report (never on the write path). Their time key is the UTC hour (`hour`, hours since
the Unix epoch), so any time zone can cut days from them, or the UTC day (`day`, days since the
epoch) for the tables that answer whole days cheaply. Key columns that are NULL in the detail
table are stored as '' (a NULL in a key would defeat the upsert).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from salesctl.db.base import Base, UTCDateTime, utcnow
from salesctl.db.models.tracking import AICostTracking

UNITS_PER_USD = 10**10


class Units(TypeDecorator[Decimal]):
    """Money as an exact BIGINT count of 1e-10 USD on every database.

    The rollups sum money on every report; integer sums are about twice as fast as NUMERIC
    ones on PostgreSQL and exact everywhere (the cap, 2**63 units, is $922 million per row).
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        exact = value if isinstance(value, Decimal) else Decimal(str(value))
        return int(exact.scaleb(10).to_integral_exact())

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-10)


MONEY = Units()


class BudgetAlert(Base):
    """A budget threshold already notified for a period, so cron notifies each crossing once."""

    __tablename__ = "budget_alerts"
    __table_args__ = (UniqueConstraint("scope", "threshold_pct", "period", name="uq_budget_alert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(100))
    threshold_pct: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(20))
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RollupState(Base):
    """How far the rollups have folded the detail table, and how far it has been pruned.

    Every tracking id <= `folded_through_id` is in the rollups, except the ids listed in
    `ai_cost_rollup_gaps` (not visible when that range was folded).
    """

    __tablename__ = "ai_cost_rollup_state"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    folded_through_id: Mapped[int] = mapped_column(BigInteger, default=0)
    folded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pruned_before: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RollupGap(Base):
    """Ids at or below the watermark that were missing when folded (PostgreSQL only).

    A missing id is either a transaction still in flight (it will commit later) or one that
    never will (rolled back, or an `ON CONFLICT DO NOTHING` duplicate). Each fold re-checks
    these ranges; `horizon_xid` lets it drop a range once no transaction that could own it is
    still running.
    """

    __tablename__ = "ai_cost_rollup_gaps"

    lo: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hi: Mapped[int] = mapped_column(BigInteger)
    horizon_xid: Mapped[int | None] = mapped_column(BigInteger)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class _CostBreakdown:
    """What the hourly and daily rollups share: their dimensions (after the time key) and sums."""

    agent_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    agent_mode: Mapped[str] = mapped_column(String(20), primary_key=True)
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    cache_hit: Mapped[bool] = mapped_column(Boolean, primary_key=True)

    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    priced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    unpriced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    estimated_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    estimated_cost_usd: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal(0), server_default="0"
    )
    saved_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_count: Mapped[int] = mapped_column(BigInteger, default=0)


class HourlyCost(_CostBreakdown, Base):
    """Calls per UTC hour x agent x mode x provider x model x status x cache hit."""

    __tablename__ = "ai_cost_hourly"

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, sort_order=-1)


class DailyCost(_CostBreakdown, Base):
    """Calls per UTC day x agent x mode x provider x model x status x cache hit."""

    __tablename__ = "ai_cost_daily"

    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, sort_order=-1)


class HourlyTotal(Base):
    """All calls per UTC hour: the time series in any time zone, without scanning dimensions."""

    __tablename__ = "ai_cost_hourly_totals"

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    priced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    unpriced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    estimated_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    estimated_cost_usd: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal(0), server_default="0"
    )


class LeadHourlyCost(Base):
    """Calls made for a lead per UTC hour x agent x provider x model."""

    __tablename__ = "ai_cost_lead_hourly"
    __table_args__ = (Index("ix_ai_cost_lead_hourly_lead", "lead_id", "hour"),)

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    lead_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agent_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), primary_key=True)

    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    priced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    unpriced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    estimated_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    estimated_cost_usd: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal(0), server_default="0"
    )


class LeadDailyCost(Base):
    """Calls made for a lead per UTC day: ranks leads over whole days."""

    __tablename__ = "ai_cost_lead_daily"

    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    lead_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)

    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    priced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    unpriced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    estimated_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    estimated_cost_usd: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal(0), server_default="0"
    )


class SessionHourlyCost(Base):
    """Chat calls per UTC hour x user x session x agent (rows with a user or a session)."""

    __tablename__ = "ai_cost_session_hourly"
    __table_args__ = (Index("ix_ai_cost_session_hourly_user", "user_id", "hour"),)

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(50), primary_key=True)

    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    priced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    unpriced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    estimated_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    estimated_cost_usd: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal(0), server_default="0"
    )


class LeadTotal(Base):
    """Each lead's calls in all (facet 'all', value '') and per agent type, provider or model.

    One row per (facet, value, lead) with the first and last UTC hour it had a call: the
    top-leads ranking walks these rows by cost and stops as soon as no lead further down can
    reach the top (a lead's cost in any window is at most its total), instead of summing
    every lead active in the window.
    """

    __tablename__ = "ai_cost_lead_totals"
    __table_args__ = (
        Index(
            "ix_ai_cost_lead_totals_rank",
            "facet",
            "value",
            "cost_usd",
            "requests",
            "lead_id",
            "first_hour",
            "last_hour",
        ),
        Index("ix_ai_cost_lead_totals_last", "facet", "value", "last_hour", "first_hour"),
    )

    facet: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    lead_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_hour: Mapped[int] = mapped_column(Integer)
    last_hour: Mapped[int] = mapped_column(Integer)

    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    priced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    unpriced_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    estimated_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    estimated_cost_usd: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal(0), server_default="0"
    )


USER_INDEX = Index("idx_user_time", AICostTracking.user_id, AICostTracking.timestamp)
"""Reports filtered by rep (`--user`) read detail rows, that rep's calls in the window only;
the seed indexed session_id only."""
