"""Keeping the tracking record whole and private: spool replay, and redacting stored text.

`replay_at_start` runs when a command opens a current database (a stat of the spool when
there is nothing to do); `flush_spool` is `salesctl costs flush`; `redact_existing` applies
`store_prompts = redacted | none` to text stored before the setting changed: tracking rows,
the spool, the response cache, chat transcripts and the chat REPL's input history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from salesctl.errors import InvalidInput, SpoolUnreadable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from salesctl.config import Settings
    from salesctl.llm.tracking import ReplayResult

log = logging.getLogger("salesctl.maintenance")

RedactMode = Literal["redacted", "none"]
REDACT_BATCH = 1000
REDIS_PREFIX = "salesctl:llm:"
"""The key prefix `RedisCache` uses (its default)."""


# --- the spool ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What `salesctl costs flush` did."""

    spool: str
    """The spool file's path."""
    inserted: int
    """Records that were missing from the database and are in it now."""
    already_present: int
    """Spooled records the database already had: nothing inserted twice."""
    other_database: int
    """Records spooled for another database, still in the spool."""
    damaged: int
    """Lines that are not records (skipped)."""
    pending: int
    """Records still in the spool and not known to be in this database."""


async def flush_spool(
    engine: AsyncEngine,
    settings: Settings,
    *,
    any_database: bool = False,
    imported: str | None = None,
) -> FlushResult:
    """Insert every spooled tracking record the database lacks (idempotent, by request id),
    and with `imported` the records in that text as well (the `salesctl-tracking-record`
    lines a run wrote to stderr when it could keep them nowhere else).

    Records spooled for another database stay unless `any_database` is set. An unreadable
    spool file raises `SpoolUnreadable` (one line naming the file and the fix).
    """
    import asyncio

    from salesctl.llm.spool import count_pending, spool_path
    from salesctl.llm.tracking import import_records, replay

    path = spool_path(settings.data_dir)
    try:
        result = await replay(engine, path, this_database_only=not any_database)
        pending = await asyncio.to_thread(count_pending, path)
    except OSError as exc:
        raise _unreadable(exc, path) from exc
    if imported is not None:
        extra = await import_records(engine, imported)
        result = replace(
            result,
            inserted=result.inserted + extra.inserted,
            already_present=result.already_present + extra.already_present,
            damaged=result.damaged + extra.damaged,
        )
    return FlushResult(
        spool=str(path),
        inserted=result.inserted,
        already_present=result.already_present,
        other_database=result.other_database,
        damaged=result.damaged,
        pending=pending,
    )


def _unreadable(exc: OSError, spool: Path) -> SpoolUnreadable:
    where = exc.filename or spool
    why = exc.strerror or str(exc)
    return SpoolUnreadable(
        f"cannot read the tracking spool file {where}: {why}; it must be a file you can read "
        f"and write (mode 600, in {spool.parent} with mode 700): fix that, then run "
        "`salesctl costs flush` again"
    )


async def replay_at_start(engine: AsyncEngine, settings: Settings) -> ReplayResult | None:
    """Replay what earlier runs left in the spool; None (after one stat) when it holds
    nothing the database may lack. A failure is logged, never raised: the command the user
    asked for comes first."""
    from salesctl.llm.spool import is_settled, spool_path

    path = spool_path(settings.data_dir)
    try:
        if is_settled(path):
            return None
        from salesctl.llm.tracking import replay  # only now: every command starts here

        return await replay(engine, path, this_database_only=True)
    except Exception as exc:  # the spool keeps its records for the next try
        from salesctl.db.session import describe_db_error

        log.warning(
            "could not replay the tracking spool %s (%s): run `salesctl costs flush` later",
            path,
            describe_db_error(exc),
        )
        return None


# --- redacting stored text ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RedactResult:
    """What `salesctl maintenance redact-existing` changed."""

    mode: RedactMode
    tracking_rows: int
    """Tracking rows whose prompt or completion text changed."""
    chat_messages: int
    """Stored chat messages whose text (or tool-call arguments) changed."""
    history_entries: int
    """Entries of the chat REPL's input history file that changed (or were removed)."""
    cache_entries: int
    """Cached answers removed (database table and Redis keys)."""
    spool_records: int
    """Spooled records rewritten (those not in the database yet)."""
    spool_in_use: bool
    """True when another process was using the spool, so it was left as it was."""
    flushed: int
    """Spooled records inserted into the database first."""


def text_policy(mode: RedactMode) -> Callable[[str | None], str | None]:
    """What `mode` does to one stored text (the policy new text is stored under, too)."""
    from salesctl.llm.redact import text_policy as policy

    return policy(mode)


def resolve_mode(mode: str | None, settings: Settings) -> RedactMode:
    """The mode to apply: the one asked for, else the configured `store_prompts`."""
    chosen = mode or settings.store_prompts
    if chosen not in ("redacted", "none"):
        raise InvalidInput(
            f"store_prompts is {settings.store_prompts!r}, so there is nothing to redact to: "
            "pass --mode redacted or --mode none (and set store_prompts to match)"
            if mode is None
            else f"--mode {mode!r} is not one of: redacted, none"
        )
    return chosen  # type: ignore[return-value]  # one of the two, checked above


async def redact_existing(
    engine: AsyncEngine,
    settings: Settings,
    *,
    mode: RedactMode,
    redis_prefix: str = REDIS_PREFIX,
) -> RedactResult:
    """Apply `mode` to every stored prompt and completion: tracking rows, the spool, the
    response cache (emptied: its entries are answer text), chat transcripts and the chat
    REPL's input history."""
    import asyncio

    from salesctl.llm.spool import compact, spool_path
    from salesctl.repl.history import rewrite_history

    flushed = await flush_spool(engine, settings)
    rows = await _redact_tracking(engine, mode)
    messages = await _redact_chat(engine, mode)
    history = await asyncio.to_thread(rewrite_history, settings.data_dir, mode)
    cache_entries = await _clear_database_cache(engine)
    if settings.redis_url:
        cache_entries += await _clear_redis_cache(settings.redis_url, redis_prefix)
    policy = text_policy(mode)

    def rewrite(record: dict[str, Any]) -> dict[str, Any]:
        for name in ("prompt_text", "completion_text"):
            if record.get(name) is not None:
                record[name] = policy(record[name])
        return record

    compaction = await asyncio.to_thread(compact, spool_path(settings.data_dir), transform=rewrite)
    return RedactResult(
        mode=mode,
        tracking_rows=rows,
        chat_messages=messages,
        history_entries=history,
        cache_entries=cache_entries,
        spool_records=compaction.kept,
        spool_in_use=not compaction.done,
        flushed=flushed.inserted,
    )


async def _redact_tracking(engine: AsyncEngine, mode: RedactMode) -> int:
    from sqlalchemy import or_, update

    from salesctl.db.models import AICostTracking as T

    has_text = or_(T.prompt_text.is_not(None), T.completion_text.is_not(None))
    if mode == "none":
        async with engine.begin() as conn:
            result = await conn.execute(
                update(T).where(has_text).values(prompt_text=None, completion_text=None)
            )
        return int(result.rowcount or 0)

    policy = text_policy(mode)
    return await _rewrite_rows(
        engine,
        T.__table__,
        ("prompt_text", "completion_text"),
        lambda prompt, completion: (policy(prompt), policy(completion)),
        where=has_text,
    )


async def _redact_chat(engine: AsyncEngine, mode: RedactMode) -> int:
    """Chat messages as `mode` would have stored them; under `none` their turns can no
    longer be replayed when the session is resumed (the session says so)."""
    from salesctl.agents.chat.sessions import stored_tool_calls
    from salesctl.db.models import ChatMessage

    policy = text_policy(mode)
    return await _rewrite_rows(
        engine,
        ChatMessage.__table__,
        ("content", "tool_calls"),
        lambda content, calls: (policy(content), stored_tool_calls(calls, mode)),
    )


async def _rewrite_rows(
    engine: AsyncEngine,
    table: Any,
    columns: tuple[str, ...],
    rewrite: Callable[..., tuple[Any, ...]],
    where: Any = None,
) -> int:
    """Walk `table` by id, REDACT_BATCH rows per transaction, and store `rewrite(*values)` as
    the new values of `columns` wherever they differ; returns how many rows changed.

    Walking by id in short transactions keeps locks brief on a large table and lets an
    interrupted run be repeated: rows already rewritten come out unchanged.
    """
    from sqlalchemy import bindparam, select, update

    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
    )
    query = select(table.c.id, *(table.c[name] for name in columns))
    if where is not None:
        query = query.where(where)
    changed = 0
    after = 0
    while True:
        async with engine.begin() as conn:
            batch = (
                await conn.execute(
                    query.where(table.c.id > after).order_by(table.c.id).limit(REDACT_BATCH)
                )
            ).all()
            if not batch:
                return changed
            after = batch[-1].id
            updates = []
            for row_id, *values in batch:
                new = rewrite(*values)
                if tuple(new) != tuple(values):
                    named = zip(columns, new, strict=True)
                    updates.append({"row_id": row_id, **{f"new_{n}": v for n, v in named}})
            if updates:
                await conn.execute(statement, updates)
            changed += len(updates)


async def _clear_database_cache(engine: AsyncEngine) -> int:
    from sqlalchemy import delete

    from salesctl.db.models import CacheEntry

    async with engine.begin() as conn:
        result = await conn.execute(delete(CacheEntry))
    return int(result.rowcount or 0)


async def _clear_redis_cache(url: str, prefix: str) -> int:
    """Delete salesctl's cached answers from Redis (its own key prefix only)."""
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    removed = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                removed += int(await client.delete(*batch))
                batch = []
        if batch:
            removed += int(await client.delete(*batch))
    except Exception as exc:  # Redis down: say so, the database side is done
        from salesctl.errors import DatabaseError

        raise DatabaseError(
            f"could not clear the Redis cache at {_masked(url)} ({type(exc).__name__}): "
            "rerun once Redis is reachable"
        ) from exc
    finally:
        await client.aclose()
    return removed


def _masked(url: str) -> str:
    from salesctl.config import mask_url

    return mask_url(url)
