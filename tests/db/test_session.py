"""The engine factory and the schema check: SQLite tuned for concurrent use, clear refusals."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from salesctl.db import migrate
from salesctl.db.session import (
    SCHEMA_HEAD,
    SQLITE_BUSY_TIMEOUT_MS,
    create_engine,
    ensure_schema_current,
)
from salesctl.errors import DatabaseError, SchemaOutdated


async def pragmas(url: str) -> tuple[str, int, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
            foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
            return journal, busy, foreign_keys
    finally:
        await engine.dispose()


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "salesctl.db"
    journal, busy, foreign_keys = asyncio.run(pragmas(f"sqlite+aiosqlite:///{path}"))
    assert journal == "wal"
    assert busy == SQLITE_BUSY_TIMEOUT_MS
    assert foreign_keys == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def check(url: str) -> None:
    engine = create_engine(url)
    try:
        await ensure_schema_current(engine)
    finally:
        await engine.dispose()


def test_unmigrated_database_names_init(empty_database_url: str) -> None:
    with pytest.raises(SchemaOutdated, match=r"not initialised: run `salesctl init`"):
        asyncio.run(check(empty_database_url))


def test_outdated_database_names_db_upgrade(database_url: str) -> None:
    async def step_back() -> None:
        engine = create_engine(database_url)
        await migrate.downgrade(engine, "0001_foundation")
        await engine.dispose()

    asyncio.run(step_back())
    with pytest.raises(SchemaOutdated, match=r"'0001_foundation'.*run `salesctl db upgrade`"):
        asyncio.run(check(database_url))


def test_database_newer_than_this_salesctl_says_upgrade_salesctl(database_url: str) -> None:
    async def pretend_newer() -> None:
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
        await engine.dispose()

    asyncio.run(pretend_newer())
    with pytest.raises(SchemaOutdated, match=r"'0099_future', newer .*upgrade salesctl"):
        asyncio.run(check(database_url))


def test_current_database_passes(database_url: str) -> None:
    asyncio.run(check(database_url))
    assert SCHEMA_HEAD


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:1/salesctl", "database unreachable"),
        ("postgresql+asyncpg://postgres@host.invalid/salesctl", "database unreachable"),
        ("postgresql+asyncpg://postgres@127.0.0.1:notaport/x", "cannot use the database URL"),
        ("sqlite+aiosqlite:////proc/no/such/dir/salesctl.db", "cannot use the database URL"),
    ],
)
def test_unusable_databases_are_database_errors(url: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message):
        asyncio.run(check(url))


@pytest.mark.postgres
def test_unknown_postgres_database_is_a_database_error(
    postgres_template: tuple[str, str],
) -> None:
    from sqlalchemy.engine import make_url

    server, _ = postgres_template
    missing = make_url(server).set(database="salesctl_no_such_database")
    with pytest.raises(DatabaseError, match="does not exist"):
        asyncio.run(check(missing.render_as_string(hide_password=False)))


def test_unknown_url_option_is_a_database_error() -> None:
    with pytest.raises(DatabaseError, match="option the driver does not take"):
        asyncio.run(check("postgresql+asyncpg://postgres@127.0.0.1:1/x?frobnicate=1"))
