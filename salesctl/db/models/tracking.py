"""`ai_cost_tracking`: one row per LLM call attempt outcome (the seed's table, extended)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from salesctl.db.base import USD, Base, IntPK, UTCDateTime, utcnow

TRACKING_STATUSES = ("ok", "error", "refused")


class AICostTracking(Base):
    __tablename__ = "ai_cost_tracking"
    __table_args__ = (
        Index("idx_agent_type", "agent_type"),
        Index("idx_lead_id", "lead_id"),
        Index("idx_session_id", "session_id"),
        Index("idx_timestamp", "timestamp"),
        Index("idx_cache_hit", "cache_hit"),
    )

    id: Mapped[int] = mapped_column(IntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    timestamp: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )

    agent_type: Mapped[str] = mapped_column(String(50))
    agent_mode: Mapped[str | None] = mapped_column(String(20))
    lead_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("leads.id", ondelete="SET NULL")
    )
    session_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))

    prompt_text: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    prompt_complexity: Mapped[str | None] = mapped_column(String(20))
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    completion_text: Mapped[str | None] = mapped_column(Text)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    provider: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(100))
    cost_usd: Mapped[Decimal | None] = mapped_column(USD)
    saved_usd: Mapped[Decimal | None] = mapped_column(USD)
    price_source: Mapped[str | None] = mapped_column(String(50))
    unpriced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    latency_ms: Mapped[int | None] = mapped_column(Integer)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")
    error_type: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    quality_score: Mapped[float | None] = mapped_column(Float)
    feedback_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    configured_model: Mapped[str | None] = mapped_column(String(100))
    """The model id the call asked for (`model` is the one the provider says it served)."""
    cache_write_1h_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of `cache_write_tokens`: written to the cache for one hour (Anthropic), billed higher."""
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of `completion_tokens`: reasoning (thinking) output."""
    cost_estimated: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    """`cost_usd` is partly estimated: the provider reported no usage for what it served (a
    cut stream, a timeout after the request was sent, a call cancelled in flight)."""
