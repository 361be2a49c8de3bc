"""Held-connection lookups for the database cache: raw `sqlite3` and asyncpg fast paths.

A lookup through SQLAlchemy costs a pool checkout and a statement execution; these readers
keep one connection and one prepared query for the cache's lifetime instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import URL, Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


_Entry = tuple[Any, "datetime | None"]
"""An entry's decoded value and expiry."""


class _Reader(Protocol):
    broken: bool

    def usable_here(self) -> bool: ...

    async def read(self, key: str) -> _Entry | None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Lookup:
    """The lookup as the driver runs it, and the column types' own decoders for its row."""

    sql: str
    decode_value: Callable[[Any], Any] | None
    decode_expiry: Callable[[Any], Any] | None

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> _Lookup:
        from salesctl.db.models.cache import CacheEntry

        table = CacheEntry.__table__
        return cls(
            sql=str(_select_entry().compile(dialect=dialect)),
            decode_value=table.c.value.type.dialect_impl(dialect).result_processor(dialect, None),
            decode_expiry=table.c.expires_at.type.dialect_impl(dialect).result_processor(
                dialect, None
            ),
        )

    def entry(self, row: Any) -> _Entry | None:
        if row is None:
            return None
        value, expires_at = row[0], row[1]
        if self.decode_value is not None:
            value = self.decode_value(value)
        if self.decode_expiry is not None:
            expires_at = self.decode_expiry(expires_at)
        return value, expires_at


async def _open_reader(engine: AsyncEngine) -> _Reader | None:
    """A held-connection reader for this database; None when there is none for its driver."""
    dialect = engine.dialect
    if dialect.name == "sqlite":
        path = _sqlite_file(engine.url)
        return None if path is None else _SQLiteReader(path, _Lookup.for_dialect(dialect))
    if dialect.name == "postgresql" and dialect.driver == "asyncpg":
        return await _PostgresReader.open(engine, _Lookup.for_dialect(dialect))
    return None


def _sqlite_file(url: URL) -> Path | None:
    """The file of a plain SQLite file URL (not in-memory, no URI options)."""
    from pathlib import Path

    if url.query or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


class _SQLiteReader:
    """Lookups on a read-only `sqlite3` connection of its own, run on the event loop.

    A primary-key read of a local WAL database takes a few microseconds, less than one hop to
    aiosqlite's thread (a lookup through SQLAlchemy makes several). It never waits for a lock
    (busy timeout 0): in the rare case it would, the lookup goes through the engine instead.
    """

    broken = False

    def __init__(self, path: Path, lookup: _Lookup) -> None:
        import sqlite3

        self._lookup = lookup
        self._conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw",
            uri=True,
            timeout=0,
            isolation_level=None,
            check_same_thread=False,
        )
        self._conn.execute("PRAGMA query_only = ON")

    def usable_here(self) -> bool:
        return True

    async def read(self, key: str) -> _Entry | None:
        # fetchall() steps the statement to its end, so no read transaction stays open (one
        # would keep checkpoints from recycling the WAL).
        rows = self._conn.execute(self._lookup.sql, (key,)).fetchall()
        return self._lookup.entry(rows[0] if rows else None)

    async def aclose(self) -> None:
        self._conn.close()


class _PostgresReader:
    """Lookups through an asyncpg prepared statement on one pooled connection, held.

    One statement at a time per connection, so concurrent lookups queue for it (each is a
    single round trip). After any failure the connection is treated as broken: the cache
    drops it and opens another on its next lookup.
    """

    def __init__(self, conn: AsyncConnection, prepared: Any, lookup: _Lookup) -> None:
        self._conn = conn
        self._prepared = prepared
        self._lookup = lookup
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self.broken = False

    @classmethod
    async def open(cls, engine: AsyncEngine, lookup: _Lookup) -> _PostgresReader:
        conn = await engine.connect()
        try:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            prepared = await driver.prepare(lookup.sql)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, prepared, lookup)

    def usable_here(self) -> bool:
        """Only on the event loop the connection was made on."""
        return not self.broken and self._loop is asyncio.get_running_loop()

    async def read(self, key: str) -> _Entry | None:
        async with self._lock:
            try:
                row = await self._prepared.fetchrow(key)
            except BaseException:
                self.broken = True
                raise
        return self._lookup.entry(row)

    async def aclose(self) -> None:
        if self._loop is not asyncio.get_running_loop():
            return  # its loop is gone, and the connection with it
        with contextlib.suppress(Exception):
            if self.broken:
                await self._conn.invalidate()
            await self._conn.close()


@cache
def _select_entry() -> Any:
    """The hit path's query, built once (building a statement costs about as much as running
    it on a warm connection)."""
    from sqlalchemy import bindparam, select

    from salesctl.db.models.cache import CacheEntry

    return select(CacheEntry.value, CacheEntry.expires_at).where(CacheEntry.key == bindparam("key"))
