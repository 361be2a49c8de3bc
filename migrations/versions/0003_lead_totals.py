"""Per-lead totals (all calls, and per agent type, provider and model) for the top-leads ranking;
the per-rep index covers the time too.

Revision ID: 0003_lead_totals
Revises: 0002_analytics
Create Date: 2026-11-24

The new rollup is filled from `ai_cost_lead_hourly`, which holds every folded call for a lead
(pruned detail rows included), so it starts at the same watermark as the other rollups.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_lead_totals"
down_revision: str | None = "0002_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACETS = {"all": "''", "agent_type": "agent_type", "provider": "provider", "model": "model"}

BACKFILL = """
INSERT INTO ai_cost_lead_totals (facet, value, lead_id, first_hour, last_hour,
                                 requests, priced_requests, unpriced_requests, cost_usd)
SELECT '{facet}', {value}, lead_id, min(hour), max(hour),
       sum(requests), sum(priced_requests), sum(unpriced_requests), sum(cost_usd)
FROM ai_cost_lead_hourly
GROUP BY {group}
"""


def _purge(tables: Sequence[str]) -> dict[str, list[str]]:
    """The trigger that takes a deleted lead's rows out of the lead rollups."""
    deletes = "\n".join(f"DELETE FROM {table} WHERE lead_id = OLD.id;" for table in tables)
    return {
        "postgresql": [
            f"""
            CREATE OR REPLACE FUNCTION ai_cost_purge_lead_rollups() RETURNS trigger AS $$
            BEGIN
                {deletes}
                RETURN OLD;
            END
            $$ LANGUAGE plpgsql"""
        ],
        "sqlite": [
            "DROP TRIGGER IF EXISTS ai_cost_purge_lead_rollups",
            f"""
            CREATE TRIGGER ai_cost_purge_lead_rollups AFTER DELETE ON leads
            FOR EACH ROW BEGIN
                {deletes}
            END""",
        ],
    }


OLD_TABLES = ("ai_cost_lead_daily", "ai_cost_lead_hourly")
NEW_TABLES = (*OLD_TABLES, "ai_cost_lead_totals")


def upgrade() -> None:
    op.create_table(
        "ai_cost_lead_totals",
        sa.Column("facet", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("lead_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_hour", sa.Integer(), nullable=False),
        sa.Column("last_hour", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("priced_requests", sa.BigInteger(), nullable=False),
        sa.Column("unpriced_requests", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("facet", "value", "lead_id", name=op.f("pk_ai_cost_lead_totals")),
    )
    for facet, value in FACETS.items():
        group = "lead_id" if facet == "all" else f"{value}, lead_id"
        op.execute(BACKFILL.format(facet=facet, value=value, group=group))
    with op.batch_alter_table("ai_cost_lead_totals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ai_cost_lead_totals_rank",
            ["facet", "value", "cost_usd", "requests", "lead_id", "first_hour", "last_hour"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ai_cost_lead_totals_last",
            ["facet", "value", "last_hour", "first_hour"],
            unique=False,
        )
    for statement in _purge(NEW_TABLES)[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("ai_cost_tracking", schema=None) as batch_op:
        batch_op.drop_index("idx_user_id")
        batch_op.create_index("idx_user_time", ["user_id", "timestamp"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_cost_tracking", schema=None) as batch_op:
        batch_op.drop_index("idx_user_time")
        batch_op.create_index("idx_user_id", ["user_id"], unique=False)
    for statement in _purge(OLD_TABLES)[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("ai_cost_lead_totals", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_cost_lead_totals_last")
        batch_op.drop_index("ix_ai_cost_lead_totals_rank")
    op.drop_table("ai_cost_lead_totals")
