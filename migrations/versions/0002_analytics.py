"""Analytics: budget alert state and the rollups reports answer from.

Revision ID: 0002_analytics
Revises: 0001_foundation
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_analytics"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Rollup money columns hold integer units of 1e-10 USD on both databases (see Units).


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


# A deleted lead's calls lose their lead_id (ON DELETE SET NULL); its lead rollup rows go too,
# so reports from the rollups keep matching the detail rows.
PURGE_LEAD_ROLLUPS = {
    "postgresql": [
        """
        CREATE FUNCTION ai_cost_purge_lead_rollups() RETURNS trigger AS $$
        BEGIN
            DELETE FROM ai_cost_lead_daily WHERE lead_id = OLD.id;
            DELETE FROM ai_cost_lead_hourly WHERE lead_id = OLD.id;
            RETURN OLD;
        END
        $$ LANGUAGE plpgsql""",
        """
        CREATE TRIGGER ai_cost_purge_lead_rollups AFTER DELETE ON leads
        FOR EACH ROW EXECUTE FUNCTION ai_cost_purge_lead_rollups()""",
    ],
    "sqlite": [
        """
        CREATE TRIGGER ai_cost_purge_lead_rollups AFTER DELETE ON leads
        FOR EACH ROW BEGIN
            DELETE FROM ai_cost_lead_daily WHERE lead_id = OLD.id;
            DELETE FROM ai_cost_lead_hourly WHERE lead_id = OLD.id;
        END""",
    ],
}
DROP_PURGE = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS ai_cost_purge_lead_rollups ON leads",
        "DROP FUNCTION IF EXISTS ai_cost_purge_lead_rollups()",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS ai_cost_purge_lead_rollups"],
}


def upgrade() -> None:
    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("threshold_pct", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_alerts")),
        sa.UniqueConstraint("scope", "threshold_pct", "period", name="uq_budget_alert"),
    )
    op.create_table(
        "ai_cost_rollup_state",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("folded_through_id", sa.BigInteger(), nullable=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pruned_before", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ai_cost_rollup_state")),
    )
    op.create_table(
        "ai_cost_rollup_gaps",
        sa.Column("lo", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("horizon_xid", sa.BigInteger(), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lo", name=op.f("pk_ai_cost_rollup_gaps")),
    )
    op.create_table(
        "ai_cost_hourly",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        sa.Column("agent_mode", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        *_counts("requests", "priced_requests", "unpriced_requests"),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
        sa.Column("saved_usd", sa.BigInteger(), nullable=False),
        *_counts(
            "prompt_tokens",
            "completion_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "latency_ms_sum",
            "latency_count",
        ),
        sa.PrimaryKeyConstraint(
            "hour",
            "agent_type",
            "agent_mode",
            "provider",
            "model",
            "status",
            "cache_hit",
            name=op.f("pk_ai_cost_hourly"),
        ),
    )
    op.create_table(
        "ai_cost_daily",
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        sa.Column("agent_mode", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        *_counts("requests", "priced_requests", "unpriced_requests"),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
        sa.Column("saved_usd", sa.BigInteger(), nullable=False),
        *_counts(
            "prompt_tokens",
            "completion_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "latency_ms_sum",
            "latency_count",
        ),
        sa.PrimaryKeyConstraint(
            "day",
            "agent_type",
            "agent_mode",
            "provider",
            "model",
            "status",
            "cache_hit",
            name=op.f("pk_ai_cost_daily"),
        ),
    )
    op.create_table(
        "ai_cost_hourly_totals",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        *_counts("requests", "priced_requests", "unpriced_requests"),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", name=op.f("pk_ai_cost_hourly_totals")),
    )
    op.create_table(
        "ai_cost_lead_daily",
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer(), autoincrement=False, nullable=False),
        *_counts("requests", "priced_requests", "unpriced_requests"),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "lead_id", name=op.f("pk_ai_cost_lead_daily")),
    )
    op.create_table(
        "ai_cost_lead_hourly",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        *_counts("requests", "priced_requests", "unpriced_requests"),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour",
            "lead_id",
            "agent_type",
            "provider",
            "model",
            name=op.f("pk_ai_cost_lead_hourly"),
        ),
    )
    with op.batch_alter_table("ai_cost_lead_hourly", schema=None) as batch_op:
        batch_op.create_index("ix_ai_cost_lead_hourly_lead", ["lead_id", "hour"], unique=False)

    op.create_table(
        "ai_cost_session_hourly",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        *_counts("requests", "priced_requests", "unpriced_requests"),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour", "user_id", "session_id", "agent_type", name=op.f("pk_ai_cost_session_hourly")
        ),
    )
    with op.batch_alter_table("ai_cost_session_hourly", schema=None) as batch_op:
        batch_op.create_index("ix_ai_cost_session_hourly_user", ["user_id", "hour"], unique=False)

    with op.batch_alter_table("ai_cost_tracking", schema=None) as batch_op:
        batch_op.create_index("idx_user_id", ["user_id"], unique=False)

    for statement in PURGE_LEAD_ROLLUPS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_PURGE[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("ai_cost_tracking", schema=None) as batch_op:
        batch_op.drop_index("idx_user_id")
    with op.batch_alter_table("ai_cost_session_hourly", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_cost_session_hourly_user")
    op.drop_table("ai_cost_session_hourly")
    with op.batch_alter_table("ai_cost_lead_hourly", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_cost_lead_hourly_lead")
    op.drop_table("ai_cost_lead_hourly")
    op.drop_table("ai_cost_lead_daily")
    op.drop_table("ai_cost_hourly_totals")
    op.drop_table("ai_cost_daily")
    op.drop_table("ai_cost_hourly")
    op.drop_table("ai_cost_rollup_gaps")
    op.drop_table("ai_cost_rollup_state")
    op.drop_table("budget_alerts")
