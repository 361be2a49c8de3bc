"""Ratings of tracked calls: one row per rating (`salesctl feedback`).

Revision ID: 0006_feedback
Revises: 0003_lead_totals
Create Date: 2026-12-07

`ai_cost_tracking.quality_score` and `feedback_count` (there since 0001) hold each call's mean
rating and count; this table keeps every rating with who gave it, when and a note. Existing
rows are untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_feedback"
down_revision: str | None = "0005_reliability"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_call_feedback",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rated_by", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_call_feedback")),
    )
    op.create_index("idx_feedback_request_id", "ai_call_feedback", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index("idx_feedback_request_id", table_name="ai_call_feedback")
    op.drop_table("ai_call_feedback")
