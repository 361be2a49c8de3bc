"""Limits held and claims taken over: hard budget limits reserved in the database (a ledger
row per limit and period, a hold per call in flight), and the host and pid of the process
holding each claim.

Revision ID: 0005_reliability
Revises: 0003_lead_totals
Create Date: 2026-12-07

Existing claims keep NULL host and pid: they are taken over after their lease, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_reliability"
down_revision: str | None = "0004_usage_detail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "budget_ledger",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("spent_usd", sa.BigInteger(), nullable=False),
        sa.Column("reserved_usd", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_budget_ledger")),
    )
    op.create_table(
        "budget_holds",
        sa.Column("hold_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("amount_usd", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hold_id", "key", name=op.f("pk_budget_holds")),
    )
    with op.batch_alter_table("budget_holds", schema=None) as batch_op:
        batch_op.create_index("ix_budget_holds_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("worker_pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.drop_column("worker_pid")
        batch_op.drop_column("worker_host")
    with op.batch_alter_table("budget_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_budget_holds_expires_at")
    op.drop_table("budget_holds")
    op.drop_table("budget_ledger")
