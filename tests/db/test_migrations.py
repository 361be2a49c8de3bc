"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from salesctl.db import migrate
from salesctl.db.base import USD, ExactDecimal
from salesctl.db.models import Base
from salesctl.db.session import SCHEMA_HEAD, create_engine, current_revision

REPO = Path(__file__).resolve().parents[2]
VIEWS = {"agent_cost_summary", "lead_cost_summary"}


def schema_diff(connection: sa.Connection, metadata: sa.MetaData = Base.metadata) -> list[Any]:
    """What `alembic revision --autogenerate` would emit, types and server defaults included."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return compare_metadata(context, metadata)


async def diff_of(url: str, metadata: sa.MetaData = Base.metadata) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: schema_diff(sync, metadata))
    finally:
        await engine.dispose()


async def tables_and_views(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def names(sync: sa.Connection) -> set[str]:
                inspector = sa.inspect(sync)
                return set(inspector.get_table_names()) | set(inspector.get_view_names())

            return await conn.run_sync(names)
    finally:
        await engine.dispose()


async def run_migration(url: str, verb: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        await getattr(migrate, verb)(engine, revision)
    finally:
        await engine.dispose()


async def revision_of(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def test_migrated_schema_equals_the_models(database_url: str) -> None:
    assert asyncio.run(diff_of(database_url)) == []
    assert asyncio.run(tables_and_views(database_url)) >= VIEWS


def test_the_comparison_sees_money_column_types(database_url: str) -> None:
    """Proof the check above is not blind to ExactDecimal: the other dialect's storage type
    (NUMERIC on SQLite, where it would be a float; BIGINT on PostgreSQL) is a difference."""
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    wrong_type = sa.Numeric(20, 10) if dialect == "sqlite" else sa.BigInteger()

    async def create_probe() -> None:
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            probe = sa.MetaData()
            sa.Table("money_probe", probe, sa.Column("id", sa.Integer, primary_key=True))
            probe.tables["money_probe"].append_column(sa.Column("amount", wrong_type))
            await conn.run_sync(probe.create_all)
        await engine.dispose()

    asyncio.run(create_probe())
    expected = sa.MetaData()
    sa.Table(
        "money_probe",
        expected,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("amount", ExactDecimal(20, 10)),
    )
    # Column changes come as lists of tuples; everything else here is the other tables.
    changes = [d for d in asyncio.run(diff_of(database_url, expected)) if isinstance(d, list)]
    assert len(changes) == 1
    ((op, _schema, table, column, *_),) = changes[0]
    assert (op, table, column) == ("modify_type", "money_probe", "amount")


def test_money_is_numeric_on_postgresql_and_integer_units_on_sqlite() -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    assert isinstance(USD.load_dialect_impl(postgresql.dialect()), sa.Numeric)
    assert USD.load_dialect_impl(postgresql.dialect()).scale == 10
    assert isinstance(USD.load_dialect_impl(sqlite.dialect()), sa.BigInteger)


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    asyncio.run(run_migration(database_url, "downgrade", "base"))
    assert asyncio.run(tables_and_views(database_url)) == {"alembic_version"}
    assert asyncio.run(revision_of(database_url)) is None
    asyncio.run(run_migration(database_url, "upgrade", "head"))
    assert asyncio.run(revision_of(database_url)) == SCHEMA_HEAD
    assert asyncio.run(diff_of(database_url)) == []


def test_lead_totals_are_filled_from_the_rollups_of_an_older_schema(database_url: str) -> None:
    """0003 backfills the per-lead totals from `ai_cost_lead_hourly`, so a database folded
    under 0002 (pruned detail rows included) ranks its leads as one folded from scratch."""
    from datetime import UTC, datetime

    from salesctl.reports.rollups import ROLLUPS, fold_statement, lead_totals_fold_statement
    from salesctl.reports.synthetic import insert_leads, synthetic_calls

    totals = sa.table(
        "ai_cost_lead_totals",
        *(
            sa.column(name)
            for name in (
                "facet",
                "value",
                "lead_id",
                "first_hour",
                "last_hour",
                "requests",
                "priced_requests",
                "unpriced_requests",
                "cost_usd",
            )
        ),
    )

    async def read_totals(conn: Any) -> list[Any]:
        return sorted((await conn.execute(sa.select(totals))).all())

    async def scenario() -> tuple[list[Any], list[Any]]:
        await run_migration(database_url, "downgrade", "0002_analytics")
        engine = create_engine(database_url)
        try:
            await insert_leads(engine, [f"Lead {i}" for i in range(1, 9)])
            start = datetime(2025, 5, 1, tzinfo=UTC)
            rows = synthetic_calls(400, start=start, days=10, leads=8, seed=5)
            async with engine.begin() as conn:  # the columns 0002 had
                await conn.execute(sa.insert(tracking_table_of_0003()), of_0003(rows))
            async with engine.begin() as conn:  # a fold as 0002 did it (no estimated sums)
                for rollup in ROLLUPS:
                    metrics = tuple(m for m in rollup.metrics if not m.startswith("estimated_"))
                    old = dataclasses.replace(rollup, metrics=metrics)
                    await conn.execute(fold_statement(old, conn.dialect.name, sa.true()))
            await run_migration(database_url, "upgrade", "head")
            async with engine.begin() as conn:
                backfilled = await read_totals(conn)
                await conn.execute(sa.delete(totals))
                await conn.execute(lead_totals_fold_statement(conn.dialect.name, sa.true()))
                folded = await read_totals(conn)
            return backfilled, folded
        finally:
            await engine.dispose()

    backfilled, folded = asyncio.run(scenario())
    assert backfilled == folded
    assert {row.facet for row in folded} == {"all", "agent_type", "provider", "model"}


USAGE_DETAIL = ("configured_model", "cache_write_1h_tokens", "reasoning_tokens", "cost_estimated")
"""The `ai_cost_tracking` columns 0004 adds."""


def tracking_table_of_0003() -> sa.Table:
    """`ai_cost_tracking` as it was before 0004, for writing rows into an older schema."""
    from salesctl.db.models import AICostTracking

    columns = [c for c in AICostTracking.__table__.columns if c.name not in USAGE_DETAIL]
    return sa.Table(
        "ai_cost_tracking",
        sa.MetaData(),
        *(sa.Column(c.name, c.type, primary_key=c.primary_key) for c in columns),
    )


def of_0003(rows: Any) -> list[dict[str, Any]]:
    """Synthetic tracking rows without the columns 0004 adds."""
    return [{k: v for k, v in row.items() if k not in USAGE_DETAIL} for row in rows]


def test_schema_head_is_the_migrations_head() -> None:
    assert migrate.head_revision() == SCHEMA_HEAD


def test_plain_alembic_upgrade_from_the_repo_root(empty_database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database_url}
    alembic = Path(sys.executable).with_name("alembic")
    completed = subprocess.run(
        [str(alembic), "upgrade", "head"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert asyncio.run(revision_of(empty_database_url)) == SCHEMA_HEAD
    assert asyncio.run(diff_of(empty_database_url)) == []


def test_a_failed_migration_leaves_no_half_schema(empty_database_url: str) -> None:
    """A clash part-way through the first migration rolls all of it back, on SQLite too."""

    async def create_clash() -> None:
        engine = create_engine(empty_database_url)
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE deals (x INTEGER)"))
        await engine.dispose()

    asyncio.run(create_clash())
    with pytest.raises(sa.exc.DBAPIError):
        asyncio.run(run_migration(empty_database_url, "upgrade", "head"))
    assert asyncio.run(tables_and_views(empty_database_url)) == {"deals"}
    assert asyncio.run(revision_of(empty_database_url)) is None


def test_usage_detail_keeps_existing_rows_and_downgrades_cleanly(database_url: str) -> None:
    """0004 adds the usage-detail columns without touching the rows already tracked or folded:
    they read as reported-usage calls (nothing estimated, configured model unknown)."""
    from datetime import UTC, datetime

    from salesctl.reports.rollups import ROLLUPS, fold_statement
    from salesctl.reports.synthetic import insert_leads, synthetic_calls

    old = tracking_table_of_0003()
    hourly = sa.table("ai_cost_hourly", sa.column("requests"), sa.column("cost_usd"))

    async def read(conn: Any, *columns: str) -> list[Any]:
        table = sa.table("ai_cost_tracking", *(sa.column(c) for c in columns))
        return list((await conn.execute(sa.select(table).order_by(sa.text("id")))).all())

    async def scenario() -> None:
        await run_migration(database_url, "downgrade", "0003_lead_totals")
        engine = create_engine(database_url)
        names = [c.name for c in old.columns]
        try:
            schema_0003 = await reflected(engine)
            await insert_leads(engine, [f"Lead {i}" for i in range(1, 5)])
            start = datetime(2025, 5, 1, tzinfo=UTC)
            rows = synthetic_calls(60, start=start, days=2, leads=4, seed=3)
            async with engine.begin() as conn:
                await conn.execute(sa.insert(old), of_0003(rows))
                for rollup in ROLLUPS:
                    metrics = tuple(m for m in rollup.metrics if not m.startswith("estimated_"))
                    folded = dataclasses.replace(rollup, metrics=metrics)
                    await conn.execute(fold_statement(folded, conn.dialect.name, sa.true()))
                before = await read(conn, *names)
                sums_before = (await conn.execute(sa.select(hourly))).all()
            await run_migration(database_url, "upgrade", "0004_usage_detail")
            async with engine.connect() as conn:
                assert await read(conn, *names) == before
                detail = await read(conn, *USAGE_DETAIL)
                assert set(detail) == {(None, 0, 0, False)}
                assert (await conn.execute(sa.select(hourly))).all() == sums_before
                estimated = sa.text("SELECT sum(estimated_requests) FROM ai_cost_hourly")
                assert (await conn.execute(estimated)).scalar() == 0
            await run_migration(database_url, "downgrade", "0003_lead_totals")
            async with engine.connect() as conn:
                assert await conn.run_sync(lambda sync: schema_diff(sync, schema_0003)) == []
            async with engine.connect() as conn:
                assert await read(conn, *names) == before
        finally:
            await engine.dispose()

    asyncio.run(scenario())
    asyncio.run(run_migration(database_url, "upgrade", "head"))
    assert asyncio.run(diff_of(database_url)) == []


async def reflected(engine: Any) -> sa.MetaData:
    """The database's schema as it is now, to compare with after a round trip."""

    def reflect(sync: sa.Connection) -> sa.MetaData:
        metadata = sa.MetaData()
        metadata.reflect(sync)
        return metadata

    async with engine.connect() as conn:
        return await conn.run_sync(reflect)
