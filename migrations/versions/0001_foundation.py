"""Foundation: cost tracking, leads, deals, agent runs, response cache, chat sessions.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _exact(precision: int, scale: int) -> sa.types.TypeEngine:
    """Exact decimals: NUMERIC on PostgreSQL, integer units of 10**-scale on SQLite."""
    return sa.Numeric(precision, scale).with_variant(sa.BigInteger(), "sqlite")


AGENT_COST_SUMMARY = {
    "postgresql": """
        CREATE VIEW agent_cost_summary AS
        SELECT agent_type,
               COUNT(*) AS total_requests,
               SUM(cost_usd) AS total_cost_usd,
               AVG(cost_usd) AS avg_cost_per_request,
               AVG(latency_ms) AS avg_latency_ms,
               SUM(CASE WHEN cache_hit THEN 1 ELSE 0 END)::FLOAT / NULLIF(COUNT(*), 0) AS cache_hit_rate
        FROM ai_cost_tracking
        GROUP BY agent_type""",
    # SQLite keeps money as integer units of 1e-10 USD (see ExactDecimal); the views show dollars.
    "sqlite": """
        CREATE VIEW agent_cost_summary AS
        SELECT agent_type,
               COUNT(*) AS total_requests,
               SUM(cost_usd) / 1e10 AS total_cost_usd,
               AVG(cost_usd) / 1e10 AS avg_cost_per_request,
               AVG(latency_ms) AS avg_latency_ms,
               CAST(SUM(CASE WHEN cache_hit THEN 1 ELSE 0 END) AS REAL) / NULLIF(COUNT(*), 0) AS cache_hit_rate
        FROM ai_cost_tracking
        GROUP BY agent_type""",
}

LEAD_COST_SUMMARY = {
    "postgresql": """
        CREATE VIEW lead_cost_summary AS
        SELECT lead_id,
               COUNT(*) AS ai_calls,
               SUM(cost_usd) AS total_cost_usd,
               array_agg(DISTINCT agent_type) AS agents_used
        FROM ai_cost_tracking
        WHERE lead_id IS NOT NULL
        GROUP BY lead_id""",
    "sqlite": """
        CREATE VIEW lead_cost_summary AS
        SELECT lead_id,
               COUNT(*) AS ai_calls,
               SUM(cost_usd) / 1e10 AS total_cost_usd,
               json_group_array(DISTINCT agent_type) AS agents_used
        FROM ai_cost_tracking
        WHERE lead_id IS NOT NULL
        GROUP BY lead_id""",
}


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=50), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("company_name", sa.String(length=255), nullable=False),
        sa.Column("contact_name", sa.String(length=255), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("contact_title", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("industry", sa.String(length=255), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("region", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="new", nullable=False),
        sa.Column("qualification_score", sa.Integer(), nullable=True),
        sa.Column("qualification_tier", sa.String(length=10), nullable=True),
        sa.Column("qualification_reasoning", sa.Text(), nullable=True),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrichment", sa.JSON(), nullable=True),
        sa.Column("insights", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_qualification_score", ["qualification_score"], unique=False)
        batch_op.create_index("ix_leads_status", ["status"], unique=False)

    op.create_table(
        "llm_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_llm_cache")),
    )
    with op.batch_alter_table("llm_cache", schema=None) as batch_op:
        batch_op.create_index("ix_llm_cache_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "agent_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent", sa.String(length=50), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=50), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("llm_calls", sa.Integer(), nullable=False),
        sa.Column("cost_usd", _exact(20, 10), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_agent_runs_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_runs")),
    )
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_runs_agent_lead", ["agent", "lead_id", "status"], unique=False
        )

    op.create_table(
        "ai_cost_tracking",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column(
            "timestamp",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        sa.Column("agent_mode", sa.String(length=20), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("prompt_text", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("prompt_complexity", sa.String(length=20), nullable=True),
        sa.Column("routing", sa.JSON(), nullable=True),
        sa.Column("completion_text", sa.Text(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_read_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("cost_usd", _exact(20, 10), nullable=True),
        sa.Column("saved_usd", _exact(20, 10), nullable=True),
        sa.Column("price_source", sa.String(length=50), nullable=True),
        sa.Column("unpriced", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("cache_hit", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="ok", nullable=False),
        sa.Column("error_type", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("simulated", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("feedback_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_ai_cost_tracking_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_cost_tracking")),
        sa.UniqueConstraint("request_id", name=op.f("uq_ai_cost_tracking_request_id")),
    )
    with op.batch_alter_table("ai_cost_tracking", schema=None) as batch_op:
        batch_op.create_index("idx_agent_type", ["agent_type"], unique=False)
        batch_op.create_index("idx_cache_hit", ["cache_hit"], unique=False)
        batch_op.create_index("idx_lead_id", ["lead_id"], unique=False)
        batch_op.create_index("idx_session_id", ["session_id"], unique=False)
        batch_op.create_index("idx_timestamp", ["timestamp"], unique=False)

    op.create_table(
        "chat_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("tool_calls", sa.JSON(), nullable=True),
        sa.Column("tool_call_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_messages_session_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index("ix_chat_messages_session_seq", ["session_id", "seq"], unique=True)

    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("amount", _exact(14, 2), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_deals_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_lead_id", ["lead_id"], unique=False)
        batch_op.create_index("ix_deals_stage", ["stage"], unique=False)

    dialect = op.get_bind().dialect.name
    op.execute(AGENT_COST_SUMMARY[dialect])
    op.execute(LEAD_COST_SUMMARY[dialect])


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS lead_cost_summary")
    op.execute("DROP VIEW IF EXISTS agent_cost_summary")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_stage")
        batch_op.drop_index("ix_deals_lead_id")

    op.drop_table("deals")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_session_seq")

    op.drop_table("chat_messages")
    with op.batch_alter_table("ai_cost_tracking", schema=None) as batch_op:
        batch_op.drop_index("idx_timestamp")
        batch_op.drop_index("idx_session_id")
        batch_op.drop_index("idx_lead_id")
        batch_op.drop_index("idx_cache_hit")
        batch_op.drop_index("idx_agent_type")

    op.drop_table("ai_cost_tracking")
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_runs_agent_lead")

    op.drop_table("agent_runs")
    with op.batch_alter_table("llm_cache", schema=None) as batch_op:
        batch_op.drop_index("ix_llm_cache_expires_at")

    op.drop_table("llm_cache")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_status")
        batch_op.drop_index("ix_leads_qualification_score")

    op.drop_table("leads")
    op.drop_table("chat_sessions")
