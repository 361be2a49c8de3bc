"""Usage detail: the configured model id, one-hour cache writes, reasoning tokens, estimated
costs; the rollups count estimated calls and their cost.

Revision ID: 0004_usage_detail
Revises: 0003_lead_totals
Create Date: 2026-12-08

Existing rows are untouched: they were all priced from reported usage, so the new counts
start at zero (`cost_estimated` false) and `configured_model` is unknown (NULL). The rollups
add the same zero, so folded figures stay equal to the detail rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_usage_detail"
down_revision: str | None = "0003_lead_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = (
    "ai_cost_hourly",
    "ai_cost_daily",
    "ai_cost_hourly_totals",
    "ai_cost_lead_hourly",
    "ai_cost_lead_daily",
    "ai_cost_session_hourly",
    "ai_cost_lead_totals",
)
TRACKING_COLUMNS = (
    "configured_model",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "cost_estimated",
)
ROLLUP_COLUMNS = ("estimated_requests", "estimated_cost_usd")


def upgrade() -> None:
    op.add_column("ai_cost_tracking", sa.Column("configured_model", sa.String(length=100)))
    for name in ("cache_write_1h_tokens", "reasoning_tokens"):
        op.add_column(
            "ai_cost_tracking",
            sa.Column(name, sa.Integer(), server_default="0", nullable=False),
        )
    op.add_column(
        "ai_cost_tracking",
        sa.Column(
            "cost_estimated", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
    )
    # Rollup money is integer units of 1e-10 USD on both databases (see Units).
    for table in ROLLUPS:
        for name in ROLLUP_COLUMNS:
            op.add_column(
                table, sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
            )


def downgrade() -> None:
    for table in ROLLUPS:
        for name in reversed(ROLLUP_COLUMNS):
            op.drop_column(table, name)
    for name in reversed(TRACKING_COLUMNS):
        op.drop_column("ai_cost_tracking", name)
