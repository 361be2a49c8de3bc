"""Exact-match response cache: Redis when `REDIS_URL` is set, else the `llm_cache` table.

The key is a SHA-256 of the normalised request (provider, model, system, messages, tools,
schema, temperature, max tokens). Values hold only the answer and its usage, never the prompt.
A cache that fails (Redis down, database locked) warns once and behaves as a miss: a cache
problem never fails a call. Redis is tried again after a pause that grows while it keeps
failing, so the cache comes back after an outage or a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from salesctl.llm.types import ProviderRequest, ProviderResponse, ToolCall, Usage

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import URL, Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from salesctl.config import Settings

log = logging.getLogger("salesctl.cache")

CACHE_FORMAT = 1
WRITE_WINDOW_S = 0.1
"""How long the database cache gathers stores before writing them in one transaction."""
"""Bumped when the key or value layout changes, so old entries simply miss."""

LEAD_AGENTS = frozenset(
    {"qualification", "enrichment", "growth", "marketing", "bdr", "conversation"}
)
CHAT_AGENTS = frozenset({"sr_bdr", "pipeline_manager", "customer_success"})


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A stored answer: what a cache hit returns (no prompt, by design)."""

    text: str
    model: str
    usage: Usage
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    reported_cost_usd: Decimal | None = None
    simulated: bool = False

    @classmethod
    def from_response(cls, response: ProviderResponse) -> CachedAnswer:
        return cls(
            text=response.text,
            model=response.model,
            usage=response.usage,
            tool_calls=response.tool_calls,
            finish_reason=response.finish_reason,
            reported_cost_usd=response.reported_cost_usd,
            simulated=response.simulated,
        )

    def to_json(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "v": CACHE_FORMAT,
            "text": self.text,
            "model": self.model,
            "usage": [
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_write_tokens,
                usage.cache_write_1h_tokens,
                usage.reasoning_tokens,
            ],
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ],
            "finish_reason": self.finish_reason,
            "reported_cost_usd": (
                None if self.reported_cost_usd is None else str(self.reported_cost_usd)
            ),
            "simulated": self.simulated,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CachedAnswer | None:
        """None for entries written by another format version or damaged ones."""
        if not isinstance(data, dict) or data.get("v") != CACHE_FORMAT:
            return None
        try:
            # Four counts in entries written before the finer ones were kept.
            input_tokens, output_tokens, cache_read, cache_write, *finer = data["usage"]
            cache_write_1h, reasoning = (*finer, 0, 0)[:2]
            reported = data.get("reported_cost_usd")
            return cls(
                text=data["text"],
                model=data["model"],
                usage=Usage(
                    int(input_tokens),
                    int(output_tokens),
                    int(cache_read),
                    int(cache_write),
                    int(cache_write_1h),
                    int(reasoning),
                ),
                tool_calls=tuple(
                    ToolCall(c["id"], c["name"], dict(c["arguments"]))
                    for c in data.get("tool_calls") or ()
                ),
                finish_reason=data.get("finish_reason"),
                reported_cost_usd=None if reported is None else Decimal(reported),
                simulated=bool(data.get("simulated", False)),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return None


def cache_key(provider: str, request: ProviderRequest) -> str:
    """SHA-256 of the normalised request; equal requests give equal keys on every machine."""
    normalised = {
        "v": CACHE_FORMAT,
        "provider": provider,
        "model": request.model,
        "system": request.system,
        "messages": [
            [
                m.role,
                m.content,
                [[c.id, c.name, c.arguments] for c in m.tool_calls],
                m.tool_call_id,
            ]
            for m in request.messages
        ],
        "tools": [[t.name, t.description, t.parameters] for t in request.tools],
        "schema": request.response_schema,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    encoded = json.dumps(
        normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(encoded.encode()).hexdigest()


def cache_enabled(agent_type: str, mode: str, explicit: bool | None, settings: Settings) -> bool:
    """The per-agent policy: lead agents cache by default, chat agents don't (live tool data)."""
    if explicit is not None:
        return explicit
    if agent_type in CHAT_AGENTS:
        return settings.router.chat_cache
    agent = settings.agents.get(agent_type)
    if agent is not None:
        return agent.cache
    if agent_type in LEAD_AGENTS:
        return True
    return mode == "passthrough"


class ResponseCache(Protocol):
    """Where answers are kept between calls (and between runs)."""

    name: str

    async def get(self, key: str) -> CachedAnswer | None: ...

    async def set(self, key: str, answer: CachedAnswer, ttl_seconds: int) -> None: ...

    async def aclose(self) -> None: ...


class _WarnOnce:
    def __init__(self, what: str, warn: Callable[[str], None] | None) -> None:
        self._what = what
        self._warn = warn or log.warning
        self.warned = False

    def __call__(self, exc: BaseException) -> None:
        if not self.warned:
            self.warned = True
            self._warn(f"{self._what} unavailable ({_describe(exc)}); continuing without it")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RedisCache:
    """The cache in Redis (`REDIS_URL`), entries expiring after the TTL.

    A failure (Redis down, a connection dropped, a command timed out under load) warns once
    and turns the cache off for a while: 1 s, then twice as long after each failure in a row,
    at most `RETRY_MAX_S`. Then the next lookup tries Redis again, and once it answers the
    cache is back (an info line says so, and a later outage warns again).
    """

    name = "redis"
    RETRY_FIRST_S = 1.0
    RETRY_MAX_S = 30.0

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "salesctl:llm:",
        warn: Callable[[str], None] | None = None,
        socket_timeout: float = 2.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.url = url
        self.prefix = prefix
        self._socket_timeout = socket_timeout
        self._client: Any = None
        self._warn = warn or log.warning
        self._clock = clock or time.monotonic
        self._off_until: float | None = None
        """While set, Redis failed: not asked again before this time."""
        self._pause = self.RETRY_FIRST_S

    @property
    def available(self) -> bool:
        return self._off_until is None or self._clock() >= self._off_until

    def _failed(self, exc: BaseException) -> None:
        if self._off_until is None:
            self._warn(
                f"response cache (Redis) unavailable ({_describe(exc)}); continuing without "
                f"it, trying again in {self._pause:g} s and less often after that"
            )
        else:
            self._pause = min(self._pause * 2, self.RETRY_MAX_S)
        self._off_until = self._clock() + self._pause

    def _answered(self) -> None:
        if self._off_until is not None:
            self._off_until = None
            self._pause = self.RETRY_FIRST_S
            log.info("response cache (Redis) reachable again")

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio as redis

            self._client = redis.Redis.from_url(
                self.url,
                socket_timeout=self._socket_timeout,
                socket_connect_timeout=self._socket_timeout,
                decode_responses=False,
            )
        return self._client

    async def get(self, key: str) -> CachedAnswer | None:
        if not self.available:
            return None
        try:
            raw = await self._redis().get(self.prefix + key)
        except Exception as exc:  # any Redis or socket failure is a miss, never a failed call
            self._failed(exc)
            return None
        self._answered()
        if raw is None:
            return None
        try:
            return CachedAnswer.from_json(json.loads(raw))
        except ValueError:
            return None

    async def set(self, key: str, answer: CachedAnswer, ttl_seconds: int) -> None:
        if not self.available:
            return
        value = json.dumps(answer.to_json(), separators=(",", ":"))
        try:
            await self._redis().set(self.prefix + key, value, ex=ttl_seconds or None)
        except Exception as exc:
            self._failed(exc)
            return
        self._answered()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await client.aclose()
            except Exception as exc:
                log.debug("closing Redis failed: %s", exc)


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


def cache_from_settings(
    settings: Settings, engine: AsyncEngine, *, warn: Callable[[str], None] | None = None
) -> ResponseCache:
    """Redis when `REDIS_URL` is set, else the database table."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, warn=warn)
    return DatabaseCache(engine, warn=warn)
