"""`agent_runs`: each lead agent's run on a lead, its outcome, output and cost.

A row in status `running` with an unexpired lease is a worker's claim on the lead, so several
processes can share a bulk run without doing a lead twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from salesctl.db.base import USD, Base, IntPK, UTCDateTime, utcnow

RUN_STATUSES = ("running", "ok", "error")


class AgentRun(Base):
    __tablename__ = "agent_runs"
    __table_args__ = (Index("ix_agent_runs_agent_lead", "agent", "lead_id", "status"),)

    id: Mapped[int] = mapped_column(IntPK, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(50))
    lead_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("leads.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="running")
    worker_id: Mapped[str | None] = mapped_column(String(100))
    worker_host: Mapped[str | None] = mapped_column(String(255))
    """The host name of the process holding the claim (with `worker_pid`): a claim whose
    process no longer runs on this host is taken over at once, not after its lease."""
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(100))
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal | None] = mapped_column(USD)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
