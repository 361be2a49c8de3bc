"""The async engine and session factory, one per process, and the schema-version check."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesctl.errors import DatabaseError, SchemaOutdated

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

SCHEMA_HEAD = "0006_feedback"
"""The Alembic revision this code expects; a test keeps it equal to the migrations' head."""

SQLITE_BUSY_TIMEOUT_MS = 30_000


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and in-memory SQLite."""
    from sqlalchemy.engine import make_url

    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database).expanduser()


def prepare_sqlite_file(url: str) -> None:
    """Create the SQLite file owner-only (0600) in an owner-only (0700) directory."""
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    _check_openable(path)


def _check_openable(path: Path) -> None:
    """Fail here, in this thread, rather than in aiosqlite's worker thread, whose cleanup after
    a failed connect can outlive the event loop and print a stray traceback."""
    import sqlite3

    try:
        sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True).close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"database unreachable: {exc}") from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 driver only opens a transaction before DML, so CREATE TABLE would commit on
    # its own and a failed migration would leave half a schema. Take over: no implicit
    # transactions, and an explicit BEGIN whenever SQLAlchemy starts one (_sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes while another connection commits
    # fails at once with "database is locked" (SQLite cannot upgrade a stale WAL snapshot; the
    # busy timeout does not apply). Sessions that read-modify-write ask for IMMEDIATE, which
    # takes the write lock up front and waits for it; plain readers stay deferred and never
    # block writers.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url` (already normalised by settings), tuned per dialect."""
    from sqlalchemy import event
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.ext.asyncio import create_async_engine

    try:
        if url.startswith("sqlite"):
            prepare_sqlite_file(url)
            engine = create_async_engine(
                url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
            )
            event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
            event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
            return engine
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    except (ArgumentError, ImportError, OSError, ValueError) as exc:
        raise DatabaseError(f"cannot use the database URL: {exc}") from exc


def session_factory(
    engine: AsyncEngine, *, immediate: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; `immediate` ones take SQLite's write lock when they begin.

    Commands use immediate sessions (their transactions are short read-modify-writes); never
    hold one open across `gateway.flush()`, whose writer needs the same lock.
    """
    from sqlalchemy.ext.asyncio import async_sessionmaker

    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if immediate else engine
    return async_sessionmaker(bind, expire_on_commit=False)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's Alembic revision, or None when it was never migrated."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

    try:
        async with engine.connect() as conn:
            has_table = await conn.run_sync(
                lambda sync: sync.dialect.has_table(sync, "alembic_version")
            )
            if not has_table:
                return None
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except (OperationalError, ProgrammingError, DBAPIError, OSError) as exc:
        raise DatabaseError(
            f"database unreachable at {database_location(engine)}: {describe_db_error(exc)}"
        ) from exc
    except TypeError as exc:
        # asyncpg rejects unknown URL query options as unexpected connect() arguments.
        raise DatabaseError(f"DATABASE_URL has an option the driver does not take: {exc}") from exc


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Refuse to run against an unmigrated or outdated database, naming the fix."""
    revision = await current_revision(engine)
    if revision is None:
        raise SchemaOutdated("the database is not initialised: run `salesctl init`")
    if revision != SCHEMA_HEAD and not _is_known_revision(revision):
        raise SchemaOutdated(
            f"the database schema is at {revision!r}, newer than this salesctl knows "
            f"({SCHEMA_HEAD!r}): upgrade salesctl"
        )
    if revision != SCHEMA_HEAD:
        raise SchemaOutdated(
            f"the database schema is at {revision!r}, this salesctl needs {SCHEMA_HEAD!r}: "
            "run `salesctl db upgrade`"
        )


def _is_known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from salesctl.db.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    return any(script.revision == revision for script in scripts.walk_revisions())


def database_location(engine: AsyncEngine) -> str:
    """Where the database is, for messages: `db.example.com:5432/salesctl` or the SQLite
    file (never the password)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return str(url.database or ":memory:")
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"{host}{port}/{url.database or ''}"


def describe_db_error(exc: BaseException) -> str:
    """The useful first line of a driver error, without SQLAlchemy's boilerplate."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, ConnectionRefusedError):
        return "connection refused"  # asyncpg: "[Errno 111] Connect call failed (host, port)"
    message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return message.removeprefix("(sqlite3.OperationalError) ")


@contextlib.asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Turn a failure of the database (a driver or SQLAlchemy error, a lost socket) into one
    `DatabaseError` line, `database error: …`, for library calls whose caller prints it."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseError(f"database error: {describe_db_error(exc)}") from exc


def unreachable_reason(exc: BaseException) -> str | None:
    """One line saying why, when `exc` means the database is gone or refuses work (down, its
    connection dropped, locked, full, read-only); None for other failures (a constraint
    violated, a bug), which are not the database's availability."""
    from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

    if isinstance(exc, DatabaseError):
        return str(exc)
    if isinstance(exc, IntegrityError | ProgrammingError | DataError):
        return None
    if isinstance(exc, DBAPIError | OSError | TimeoutError):
        return describe_db_error(exc)
    return None
