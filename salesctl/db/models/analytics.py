"""Tables behind reports and budget checks (rollups, alert state)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from salesctl.db.base import Base, UTCDateTime, utcnow


class BudgetAlert(Base):
    """A budget threshold already notified for a period, so cron notifies each crossing once."""

    __tablename__ = "budget_alerts"
    __table_args__ = (UniqueConstraint("scope", "threshold_pct", "period", name="uq_budget_alert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(100))
    threshold_pct: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(20))
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
