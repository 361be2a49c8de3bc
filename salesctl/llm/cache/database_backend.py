"""The response cache in the `llm_cache` table, for runs without Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from salesctl.llm.cache.base import _WarnOnce
from salesctl.llm.cache.database_readers import _Entry, _open_reader, _Reader, _select_entry
from salesctl.llm.cache.entry import CachedAnswer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("salesctl.cache")

WRITE_WINDOW_S = 0.1
"""How long the database cache gathers stores before writing them in one transaction."""


class DatabaseCache:
    """The cache in the `llm_cache` table, shared by separate CLI runs on one database.

    It uses its own connections from the engine, never the caller's session, so it cannot
    interfere with the caller's transaction. Lookups (the hit path) go through a connection
    held for the cache's lifetime with the query prepared once, not a pool checkout and a
    statement execution through SQLAlchemy per get (see `_SQLiteReader`, `_PostgresReader`);
    whatever goes wrong there is retried once through the engine. Stores are gathered for
    `WRITE_WINDOW_S` and written in one transaction (a bulk run would otherwise queue one write
    transaction per lead behind SQLite's lock); a pending entry already answers this cache's
    lookups. Call `aclose()` to write what is pending and give the held connection back.
    """

    name = "database"

    def __init__(self, engine: AsyncEngine, *, warn: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self._failed = _WarnOnce("response cache (database)", warn)
        self._reader: _Reader | None = None
        self._direct = True
        """False when this database has no held-connection reader (the engine is used)."""
        self._opening = False
        self._pending: dict[str, dict[str, Any]] = {}
        self._writing: asyncio.Task[None] | None = None
        self._write_now = asyncio.Event()

    @property
    def available(self) -> bool:
        return not self._failed.warned

    async def get(self, key: str) -> CachedAnswer | None:
        if not self.available:
            return None
        pending = self._pending.get(key)
        if pending is not None:
            found: _Entry | None = (pending["value"], pending["expires_at"])
        else:
            try:
                found = await self._lookup(key)
            except Exception as exc:
                self._failed(exc)
                return None
        if found is None:
            return None
        value, expires_at = found
        if expires_at is not None and expires_at <= datetime.now(UTC):
            return None
        return CachedAnswer.from_json(value)

    async def _lookup(self, key: str) -> _Entry | None:
        reader = self._reader
        if reader is not None and reader.broken:
            self._reader = None
            await reader.aclose()
            reader = None
        if reader is None and self._direct and not self._opening:
            reader = await self._open_reader()
        if reader is not None and reader.usable_here():
            try:
                return await reader.read(key)
            except Exception as exc:  # locked, connection lost, table gone: ask the engine
                log.debug("cache lookup through the held connection failed: %s", exc)
        return await self._lookup_through_engine(key)

    async def _open_reader(self) -> _Reader | None:
        self._opening = True  # concurrent first lookups use the engine meanwhile
        try:
            self._reader = await _open_reader(self.engine)
        except Exception as exc:
            log.debug("cache lookups go through the engine this time: %s", exc)
            return None
        finally:
            self._opening = False
        self._direct = self._reader is not None
        return self._reader

    async def _lookup_through_engine(self, key: str) -> _Entry | None:
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One SELECT needs no transaction: spares the BEGIN and ROLLBACK round trips.
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await conn.execute(_select_entry(), {"key": key})).first()
        return None if row is None else (row.value, row.expires_at)

    async def set(self, key: str, answer: CachedAnswer, ttl_seconds: int) -> None:
        if not self.available:
            return
        now = datetime.now(UTC)
        self._pending[key] = {
            "key": key,
            "value": answer.to_json(),
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
        }
        if self._writing is None:
            self._writing = asyncio.get_running_loop().create_task(self._write_soon())

    async def flush(self) -> None:
        """Write the pending entries now (and wait for a write under way)."""
        writing = self._writing
        if writing is not None:
            self._write_now.set()
            await writing
        await self._write_pending()

    async def _write_soon(self) -> None:
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._write_now.wait(), WRITE_WINDOW_S)
                self._write_now.clear()
                await self._write_pending()
                if not self._pending:
                    return
        finally:
            self._writing = None

    async def _write_pending(self) -> None:
        entries, self._pending = list(self._pending.values()), {}
        if not entries or not self.available:
            return
        try:
            async with self.engine.begin() as conn:
                await conn.execute(_upsert_entry(conn.dialect.name), entries)
        except Exception as exc:
            self._failed(exc)

    async def purge_expired(self) -> int:
        """Delete expired entries; returns how many went."""
        from sqlalchemy import delete

        await self.flush()

        from salesctl.db.models.cache import CacheEntry

        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(CacheEntry).where(CacheEntry.expires_at <= datetime.now(UTC))
            )
        return int(result.rowcount or 0)

    async def aclose(self) -> None:
        await self.flush()
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.aclose()


@cache
def _upsert_entry(dialect: str) -> Any:
    """Insert-or-replace of one entry, built once per dialect (values are bound per call)."""
    from salesctl.db.models.cache import CacheEntry

    insert = _dialect_insert(dialect)(CacheEntry)
    return insert.on_conflict_do_update(
        index_elements=[CacheEntry.key],
        set_={
            "value": insert.excluded.value,
            "created_at": insert.excluded.created_at,
            "expires_at": insert.excluded.expires_at,
        },
    )


def _dialect_insert(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert
