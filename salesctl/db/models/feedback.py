"""`ai_call_feedback`: every rating a person gave a tracked call's answer (`salesctl feedback`).

The call's row in `ai_cost_tracking` carries the summary (`quality_score`, the mean of its
ratings, and `feedback_count`); this table keeps each rating, who gave it, when, and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from salesctl.db.base import Base, IntPK, UTCDateTime, utcnow


class CallFeedback(Base):
    __tablename__ = "ai_call_feedback"
    __table_args__ = (Index("idx_feedback_request_id", "request_id"),)

    id: Mapped[int] = mapped_column(IntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    rated_by: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
