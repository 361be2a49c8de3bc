"""Hard budget limits shared by every process: one ledger row per limit and period, and a
hold per call in flight (see `salesctl.llm.hard_limits`).

A call is admitted by one conditional `UPDATE … SET reserved_usd = reserved_usd + :most WHERE
spent_usd + reserved_usd + :most <= :limit`, so two processes can never both take the last
room under a limit. Money is an exact BIGINT count of 1e-10 USD on both databases.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from salesctl.db.base import Base, UTCDateTime, utcnow
from salesctl.db.models.analytics import MONEY


class BudgetLedger(Base):
    """A hard limit's period (`daily:UTC:2026-12-07`, `monthly:…`, `agent:qualification:…`):
    the spend settled into it and the maximum cost of the calls in flight."""

    __tablename__ = "budget_ledger"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(MONEY)
    reserved_usd: Mapped[Decimal] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BudgetHold(Base):
    """One call's reservation against one ledger row, until its tracking row lands (or the
    hold expires: its process died)."""

    __tablename__ = "budget_holds"
    __table_args__ = (Index("ix_budget_holds_expires_at", "expires_at"),)

    hold_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    amount_usd: Mapped[Decimal] = mapped_column(MONEY)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
