"""Tracking rows for `ai_cost_tracking`, written without slowing the call that made them.

`TrackingWriter.submit()` appends the record as one JSON line to the spool
(`<data dir>/spool/tracking.jsonl`, the write-ahead log, see `salesctl.llm.spool`) and queues
it; a background task gathers queued records for up to `BATCH_WINDOW_S` and inserts them in one
statement through its own connection (`INSERT … ON CONFLICT (request_id) DO NOTHING`), so the
caller's transaction is never touched and calls made one at a time do not each pay for a
transaction. Waiting risks nothing: a record is in the spool before it is queued, and
`flush()` does not wait for the window. After each batch commits, the byte ranges of its spool
lines are appended to `tracking.progress`, so `replay_spool()` inserts only what is missing
(and is idempotent by `request_id` anyway).

Committed batches are then folded into the report rollups (`salesctl.reports.rollups.fold`),
still off the caller's path: once `FOLD_MIN_ROWS` rows or `FOLD_EVERY_S` seconds have gathered
(checked after each batch and on `flush()`), and always when the writer is closed. So a report
after a bulk load reads sums rather than first folding the whole load: it folds at most the
last second's rows of a writer that is still open (a closed one leaves none), and rows written
by other means. A flush does not force a fold: a caller flushing every few calls would pay a
fold's fixed cost each time.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import sys
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from salesctl.llm.spool import (
    DATABASE_KEY,
    RECORD_START,
    Span,
    Spool,
    aside_dir,
    aside_files,
    compact,
    database_tag,
    is_settled,
    parse_line,
    pending_lines,
    read_header,
    read_progress,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("salesctl.tracking")

Status = Literal["ok", "error", "refused"]

BATCH_SIZE = 500
BATCH_WINDOW_S = 0.1
"""How long the writer gathers records before inserting them (cut short by a full batch or a
flush). One insert per call would cost each call a transaction on the caller's event loop."""
RETRY_DELAY_S = 0.2
"""Wait before the one retry of a batch whose PostgreSQL connection broke."""
FOLD_STEP = 20_000
"""Most ids one writer fold takes on: a backlog from before (rows inserted by other means)
drains a step per fold instead of stalling the writer for the whole of it."""
FOLD_MIN_ROWS = 1_000
FOLD_EVERY_S = 1.0
"""The writer folds once it has committed `FOLD_MIN_ROWS` rows or `FOLD_EVERY_S` seconds have
passed since its last fold: a fold's fixed cost (a dozen statements, ~5-15 ms of the event
loop's time) is paid at most about once a second, not once per 0.1 s batch."""

__all__ = [
    "BATCH_SIZE",
    "BATCH_WINDOW_S",
    "STDERR_MARKER",
    "ReplayResult",
    "TrackingRecord",
    "TrackingWriter",
    "fold_into_rollups",
    "import_records",
    "insert_rows",
    "replay",
    "replay_spool",
]


@dataclass(slots=True)
class TrackingRecord:
    """One call attempt outcome: exactly one `ai_cost_tracking` row."""

    request_id: str
    timestamp: datetime
    agent_type: str
    provider: str
    model: str
    agent_mode: str | None = None
    lead_id: int | None = None
    session_id: str | None = None
    user_id: str | None = None
    prompt_text: str | None = None
    prompt_tokens: int = 0
    prompt_complexity: str | None = None
    routing: dict[str, Any] | None = None
    completion_text: str | None = None
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Decimal | None = None
    saved_usd: Decimal | None = None
    price_source: str | None = None
    unpriced: bool = False
    latency_ms: int | None = None
    cache_hit: bool = False
    status: Status = "ok"
    error_type: str | None = None
    attempts: int = 1
    simulated: bool = False
    configured_model: str | None = None
    """The model id asked for; `model` is the one the provider says it served."""
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    cost_estimated: bool = False
    """`cost_usd` includes an estimate for what was served without a usage report."""

    def to_row(self) -> dict[str, Any]:
        """Column values for the insert (shallow: the record is not touched afterwards)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}

    def to_json_line(self, database: str | None = None) -> bytes:
        """One spool line; `request_id` comes first so tools can pick it out cheaply.

        `database` (a `database_tag`) names the database the record belongs to.
        """
        data = self.to_row()
        data["timestamp"] = self.timestamp.isoformat()
        data["cost_usd"] = None if self.cost_usd is None else str(self.cost_usd)
        data["saved_usd"] = None if self.saved_usd is None else str(self.saved_usd)
        if database is not None:
            data[DATABASE_KEY] = database
        return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrackingRecord:
        """A spooled record; lines written before a field existed take its default."""
        values = {k: v for k, v in data.items() if k in RECORD_FIELDS}
        values["timestamp"] = datetime.fromisoformat(values["timestamp"])
        for money in ("cost_usd", "saved_usd"):
            if values.get(money) is not None:
                values[money] = Decimal(values[money])
        return cls(**values)


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TrackingRecord))


# --- inserting ------------------------------------------------------------------------------


_POSTGRES_ARRAY_TYPES: dict[str, str] = {
    "request_id": "text",
    "timestamp": "timestamptz",
    "lead_id": "int4",
    "prompt_tokens": "int4",
    "routing": "text",
    "completion_tokens": "int4",
    "cache_read_tokens": "int4",
    "cache_write_tokens": "int4",
    "cost_usd": "numeric",
    "saved_usd": "numeric",
    "unpriced": "bool",
    "latency_ms": "int4",
    "cache_hit": "bool",
    "attempts": "int4",
    "simulated": "bool",
    "cache_write_1h_tokens": "int4",
    "reasoning_tokens": "int4",
    "cost_estimated": "bool",
}
"""Element types of the column arrays on PostgreSQL (the rest are text); `routing` travels as
JSON text and is cast to `json` in the statement."""


@dataclass(frozen=True, slots=True)
class _InsertPlan:
    """One fixed statement per dialect and the column types' bind processors, so a batch of
    any size is the same prepared statement and rows are converted in plain Python."""

    sql: str
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(column position, processor) for the columns whose values need converting."""
    by_column: bool
    """PostgreSQL: one array per column (`unnest`); SQLite: one tuple per row (executemany)."""

    def parameters(self, rows: list[dict[str, Any]]) -> Any:
        columns = [[row[name] for row in rows] for name in RECORD_FIELDS]
        for position, process in self.processors:
            columns[position] = list(map(process, columns[position]))  # None too, as SA does
        if self.by_column:
            return tuple(columns)
        return list(zip(*columns, strict=True))


_plans: dict[tuple[str, str], _InsertPlan] = {}


def _insert_plan(dialect: Dialect) -> _InsertPlan:
    """The batch insert for `dialect`'s kind, built once (building it costs more than a
    small batch); salesctl's engines all use the default JSON serializer."""
    key = (dialect.name, dialect.driver)
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _build_insert_plan(dialect)
    return plan


def _build_insert_plan(dialect: Dialect) -> _InsertPlan:
    """The batch insert for `dialect`.

    PostgreSQL gets `INSERT … SELECT … FROM unnest($1::text[], …)`: one statement whatever
    the batch size, so asyncpg prepares it once per connection and the server runs it once per
    batch, instead of once per row (executemany) or a new text per size (multi-VALUES).
    """
    from sqlalchemy import Table

    from salesctl.db.models.tracking import AICostTracking

    table = AICostTracking.__table__
    assert isinstance(table, Table)
    columns = ", ".join(f'"{name}"' for name in RECORD_FIELDS)
    processors = []
    for position, name in enumerate(RECORD_FIELDS):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((position, process))
    conflict = "ON CONFLICT (request_id) DO NOTHING"
    if dialect.name == "postgresql":
        arrays = ", ".join(
            f"${n}::{_POSTGRES_ARRAY_TYPES.get(name, 'text')}[]"
            for n, name in enumerate(RECORD_FIELDS, start=1)
        )
        selected = ", ".join(
            f'"{name}"::json' if name == "routing" else f'"{name}"' for name in RECORD_FIELDS
        )
        sql = (
            f"INSERT INTO ai_cost_tracking ({columns}) SELECT {selected} "
            f"FROM unnest({arrays}) AS batch({columns}) {conflict}"
        )
        return _InsertPlan(sql, tuple(processors), by_column=True)
    marks = ", ".join("?" for _ in RECORD_FIELDS)
    sql = f"INSERT INTO ai_cost_tracking ({columns}) VALUES ({marks}) {conflict}"
    return _InsertPlan(sql, tuple(processors), by_column=False)


async def _insert_batch(
    conn: AsyncConnection, rows: list[dict[str, Any]], *, count: bool = True
) -> int:
    """Insert `rows` (`TrackingRecord.to_row()` dicts) as one statement; with `count`,
    returns how many went in, else 0.

    Through `exec_driver_sql`, so driver errors still arrive as SQLAlchemy's exception types.
    The count is the statement's row count (PostgreSQL's `INSERT 0 n`, the sum of SQLite's
    changes over the executemany): rows skipped by ON CONFLICT are not in it.
    """
    plan = _insert_plan(conn.dialect)
    result = await conn.exec_driver_sql(plan.sql, plan.parameters(rows))
    return result.rowcount if count else 0


async def insert_rows(
    engine: AsyncEngine, rows: list[dict[str, Any]], *, count: bool = True
) -> int:
    """Insert tracking rows, skipping request ids already present; returns how many went in
    (0 without `count`).

    A batch that violates a constraint is retried row by row; a row whose lead no longer
    exists (or never did) is kept with `lead_id` cleared rather than lost.
    """
    from sqlalchemy.exc import IntegrityError

    if not rows:
        return 0
    try:
        if engine.dialect.name == "postgresql":
            # One statement is atomic by itself: no BEGIN and COMMIT round trips.
            async with _autocommit(engine).connect() as conn:
                return await _insert_batch(conn, rows, count=count)
        async with engine.begin() as conn:
            return await _insert_batch(conn, rows, count=count)
    except IntegrityError:
        pass
    inserted = 0
    for row in rows:
        try:
            async with engine.begin() as conn:
                inserted += await _insert_batch(conn, [row], count=count)
        except IntegrityError as exc:
            if row.get("lead_id") is None or not _is_foreign_key_error(exc):
                raise
            log.warning(
                "lead %s does not exist; call %s tracked without its lead",
                row["lead_id"],
                row["request_id"],
            )
            async with engine.begin() as conn:
                inserted += await _insert_batch(conn, [{**row, "lead_id": None}], count=count)
    return inserted


_autocommit_engines: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = (
    weakref.WeakKeyDictionary()
)


def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """`engine` in autocommit mode (same pool), made once per engine."""
    derived = _autocommit_engines.get(engine)
    if derived is None:
        derived = _autocommit_engines[engine] = engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )
    return derived


def _is_foreign_key_error(exc: BaseException) -> bool:
    """SQLite says "FOREIGN KEY constraint failed", PostgreSQL "violates foreign key …"."""
    return "foreign key" in str(getattr(exc, "orig", None) or exc).lower()


# --- the background writer ------------------------------------------------------------------


STDERR_MARKER = "salesctl-tracking-record"
"""Prefix of the stderr lines carrying records nothing else could keep (the last resort);
`salesctl costs flush --import FILE` reads them back."""

Settle = Callable[["AsyncConnection", list[Any]], Awaitable[None]]
"""Statements that must commit with some records' rows (a hard budget's settlements)."""


@dataclass(slots=True)
class _Queued:
    record: TrackingRecord
    span: Span | None
    generation: str | None = None
    """The spool generation `span` belongs to."""


@dataclass(slots=True)
class WriterStats:
    submitted: int = 0
    written: int = 0
    batches: int = 0
    """Inserts that succeeded (each one statement for its batch, in its own transaction)."""
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    to_stderr: int = 0
    """Records written to stderr because neither the database nor the spool took them."""
    folds: int = 0
    """Folds of committed batches into the report rollups."""
    fold_s: float = 0.0
    """Seconds those folds took (off the callers' path, inside the writer task)."""


_live_writers: weakref.WeakSet[TrackingWriter] = weakref.WeakSet()
_exit_hook_installed = False


class TrackingWriter:
    """Queues tracking records and inserts them in batches from a background task.

    A batch is what arrives within `window` seconds of its first record (at most
    `batch_size`); `flush()` and `aclose()` write at once, and so do the end of the event
    loop (`asyncio.run` returning) and the end of the interpreter, so a script that never
    closes its gateway still leaves its rows in the database.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        spool: Path | None,
        batch_size: int = BATCH_SIZE,
        window: float = BATCH_WINDOW_S,
        warn: Callable[[str], None] | None = None,
        fold: bool = True,
    ) -> None:
        self.engine = engine
        self.fold = fold
        """Fold committed rows into the report rollups as it goes (see the module doc)."""
        self._unfolded = 0
        """Rows this writer committed that no fold of its own has covered yet."""
        self._folded_at = time.monotonic()
        self.batch_size = batch_size
        self.window = window
        self._warn = warn or log.warning
        self.spool = Spool(spool, warn=self._warn) if spool is not None else None
        self.database = database_tag(engine.url)
        self.stats = WriterStats()
        self._queue: asyncio.Queue[_Queued] | None = None
        self._wake: asyncio.Event | None = None
        """Set to end the gathering window early (a full batch, a flush)."""
        self._flushing = 0
        """How many `flush()` calls are waiting: while any is, batches are written at once."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._carried: list[_Queued] = []
        self._task: asyncio.Task[None] | None = None
        self._warned_failure = False
        self._warned_stderr = False
        self.database_failure: str | None = None
        """Why the last insert failed; None once one succeeds."""
        self._settlements: dict[str, tuple[Settle, Any]] = {}
        self._holding: list[_Queued] = []
        """The batch the writer task is gathering or writing."""
        self._sentinel: AsyncGenerator[None, None] | None = None
        self._retired = False

    # --- no record, no call -------------------------------------------------------------

    async def ensure_keepable(self) -> None:
        """Raise `TrackingUnavailable` when a new call's record could be kept neither in the
        database nor in the spool. Costs two attribute reads while the spool works. When it
        does not, the database is the only place left: the records waiting for it are written
        first, so no further call is made until it is known to take them; and while both
        fail, the spool's file system is tried again each time, so calls resume once there
        is room."""
        if self.spool is None:
            if self.database_failure is None:
                return
        elif not self.spool.broken:
            return
        else:
            await self.flush()
            if self.database_failure is None or self.spool.probe():
                return
        from salesctl.errors import TrackingUnavailable

        where = "off" if self.spool is None else f"{self.spool.path}: {self._spool_error()}"
        raise TrackingUnavailable(
            f"cannot keep tracking records: the database failed ({self.database_failure}) "
            f"and so did the spool ({where}); no further provider calls are made: free disk "
            "space or fix the database, then run `salesctl costs flush`"
        )

    def attach(self, request_id: str, settle: Settle, item: Any) -> None:
        """Run `settle(conn, [item, …])` in the transaction that inserts this record's row
        (submit the record after attaching)."""
        self._settlements[request_id] = (settle, item)

    # --- queueing -----------------------------------------------------------------------

    def submit(self, record: TrackingRecord) -> None:
        """Spool the record (durable once the OS has it) and queue it for the database."""
        queued = _Queued(record, None)
        if self.spool is not None:
            queued.span = self.spool.append(record.to_json_line(self.database))
            queued.generation = self.spool.generation
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:
            self._adopt(loop)
        assert self._queue is not None
        assert self._wake is not None
        self._queue.put_nowait(queued)
        self.stats.submitted += 1
        if self._queue.qsize() + 1 >= self.batch_size:  # + the one the writer is holding
            self._wake.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="salesctl-tracking-writer")

    def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start queueing on `loop`, carrying over anything a previous (closed) loop left."""
        previous, self._queue = self._queue, asyncio.Queue()
        self._wake = asyncio.Event()
        carried, self._carried = self._carried, []
        for item in carried:
            self._queue.put_nowait(item)
        while previous is not None and not previous.empty():
            self._queue.put_nowait(previous.get_nowait())
        self._loop = loop
        self._task = None
        self._watch_loop()

    def _watch_loop(self) -> None:
        """Have the end of the running loop write what is still queued.

        `asyncio.run()` cancels every task when the main coroutine returns, then closes the
        loop's async generators (`shutdown_asyncgens`) while the loop still runs. An async
        generator parked at its first `yield` is registered with the loop as it starts, so its
        `finally` runs then, and writes the records the cancelled writer task left.
        """
        self._retire_sentinel()
        sentinel = self._at_loop_end()
        with contextlib.suppress(StopIteration):
            sentinel.asend(None).send(None)
        self._sentinel = sentinel
        self._retired = False
        global _exit_hook_installed
        _live_writers.add(self)
        if not _exit_hook_installed:
            _exit_hook_installed = True
            atexit.register(_write_at_exit)

    async def _at_loop_end(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if not self._retired:
                # The loop warns about async generators started after its shutdown began
                # (the database drivers use some); these are run to the end right here.
                hooks = sys.get_asyncgen_hooks()
                sys.set_asyncgen_hooks(firstiter=None, finalizer=None)
                try:
                    await self._write_leftovers(self.engine)
                finally:
                    sys.set_asyncgen_hooks(*hooks)

    def _retire_sentinel(self) -> None:
        """Close the parked generator without letting it write (the caller has written)."""
        sentinel, self._sentinel = self._sentinel, None
        if sentinel is None:
            return
        self._retired = True
        with contextlib.suppress(StopIteration, RuntimeError, StopAsyncIteration):
            sentinel.aclose().send(None)

    def _leftovers(self) -> list[_Queued]:
        """Records not known to be in the database that no task will write any more."""
        items, self._carried = self._carried, []
        queue = self._queue
        while queue is not None and not queue.empty():
            items.append(queue.get_nowait())
            queue.task_done()
        return items

    async def _write_leftovers(self, engine: AsyncEngine) -> None:
        items = self._leftovers()
        for first in range(0, len(items), self.batch_size):
            await self._write(items[first : first + self.batch_size], engine)
        if self._unfolded:
            await self._fold(engine, wait=True)

    def write_at_exit(self) -> None:
        """The interpreter is ending with records still queued (their loop ended without
        `shutdown_asyncgens`, or never ran the writer): insert them on a loop of our own."""
        if self._loop is not None and self._loop.is_running():
            return  # a loop in another thread still owns them
        self._retire_sentinel()
        # A writer task suspended on a loop that will never run again holds its batch.
        self._carried.extend(self._holding)
        self._holding = []
        if not self._carried and (self._queue is None or self._queue.empty()):
            return
        from salesctl.db.session import create_engine

        url = self.engine.url.render_as_string(hide_password=False)

        async def write() -> None:
            engine = create_engine(url)
            try:
                await self._write_leftovers(engine)
            finally:
                await engine.dispose()

        try:
            asyncio.run(write())
        except Exception as exc:  # the spool still has them for the next command
            log.debug("writing tracking rows at exit failed: %s", exc)

    async def flush(self) -> None:
        """Return once every submitted record is in the database (or known to have failed).

        On SQLite, call it outside your own write transaction: the writer needs the lock.
        """
        if self._queue is None:
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._adopt(loop)
            if not self._queue.empty():
                self._task = loop.create_task(self._run(), name="salesctl-tracking-writer")
        if self._task is not None and not self._task.done():
            assert self._wake is not None
            self._flushing += 1
            self._wake.set()
            try:
                await self._queue.join()
            finally:
                self._flushing -= 1
        if self._fold_due():
            await self._fold(self.engine, wait=True)

    async def aclose(self) -> None:
        """Flush; then fsync what failed to reach the database, or compact the spool when
        everything in it is committed and nobody else is using it."""
        await self.flush()
        if self._task is not None and self._loop is asyncio.get_running_loop():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._write_leftovers(self.engine)
        self._retire_sentinel()
        _live_writers.discard(self)
        if self.spool is None:
            return
        if self.stats.failed:
            self.spool.sync()
        self.spool.close()
        if not self.stats.failed and self.stats.submitted:
            try:
                if is_settled(self.spool.path):
                    compact(self.spool.path)
            except OSError as exc:
                log.debug("spool compaction skipped: %s", exc)

    async def _run(self) -> None:
        assert self._queue is not None
        assert self._wake is not None
        queue, wake = self._queue, self._wake
        while True:
            batch = [await queue.get()]
            self._holding = batch
            try:
                if not self._flushing and self.window > 0 and queue.qsize() + 1 < self.batch_size:
                    wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.window):
                            await wake.wait()
                while len(batch) < self.batch_size and not queue.empty():
                    batch.append(queue.get_nowait())
                await self._write(batch)
            except asyncio.CancelledError:
                # The loop is going away (asyncio.run ending) while gathering or mid-write: not
                # known to be in the database, so it is written again at the loop's end or by
                # the next loop (duplicates are ignored).
                self._carried.extend(batch)
                raise
            finally:
                self._holding = []
                for _ in batch:
                    queue.task_done()

    # --- writing ------------------------------------------------------------------------

    async def _write(self, batch: list[_Queued], engine: AsyncEngine | None = None) -> None:
        from salesctl.db.session import describe_db_error

        engine = engine or self.engine
        rows = [q.record.to_row() for q in batch]
        settlements = self._settlements_of(batch)
        try:
            try:
                await _insert_settling(engine, rows, settlements)
            except Exception:
                if engine.dialect.name != "postgresql":
                    raise
                # A dropped connection (server restart, pg_terminate_backend): the pool's
                # pre-ping opens a fresh one for the one retry.
                await asyncio.sleep(RETRY_DELAY_S)
                await _insert_settling(engine, rows, settlements)
        except Exception as exc:  # the call already succeeded: a tracking failure must not raise
            self._failed(batch, describe_db_error(exc))
            return
        self.database_failure = None
        self.stats.written += len(batch)
        self.stats.batches += 1
        if self.spool is not None and self.spool.generation is not None:
            current = self.spool.generation
            self.spool.mark_committed(
                q.span for q in batch if q.span is not None and q.generation == current
            )
        if self.fold:
            self._unfolded += len(batch)
            if self._fold_due():
                await self._fold(engine, wait=False)

    def _fold_due(self) -> bool:
        """Enough rows, or time, has gathered since this writer's last fold."""
        if not self._unfolded:
            return False
        waited = time.monotonic() - self._folded_at
        return waited >= FOLD_EVERY_S or self._unfolded >= FOLD_MIN_ROWS

    async def _fold(self, engine: AsyncEngine, *, wait: bool) -> None:
        """Fold what is unfolded (this batch, and any other writer's) into the rollups.

        Without `wait`, a fold that finds another one running (PostgreSQL) leaves the rows
        for the next one; `flush()` and closing wait for their turn, so a flushed writer
        leaves no tail of its own.
        """
        started = time.perf_counter()
        self._folded_at = time.monotonic()
        skipped = await fold_into_rollups(engine, wait=wait, limit=FOLD_STEP)
        if not skipped:
            self._unfolded = 0
        self.stats.folds += 1
        self.stats.fold_s += time.perf_counter() - started

    def _settlements_of(self, batch: list[_Queued]) -> dict[Settle, list[Any]]:
        if not self._settlements:
            return {}
        found: dict[Settle, list[Any]] = {}
        for queued in batch:
            attached = self._settlements.pop(queued.record.request_id, None)
            if attached is not None:
                found.setdefault(attached[0], []).append(attached[1])
        return found

    def _failed(self, batch: list[_Queued], reason: str) -> None:
        """The batch is not in the database: make sure each record is kept somewhere."""
        self.database_failure = reason
        self.stats.failed += len(batch)
        self.stats.errors.append(reason)
        unkept = [q for q in batch if q.span is None]
        if self.spool is not None:
            if self.spool.replaced():  # deleted or swapped meanwhile: our copies went with it
                self.spool.reopen()
                unkept = batch
            for queued in unkept:
                queued.span = self.spool.append(queued.record.to_json_line(self.database))
                queued.generation = self.spool.generation
            unkept = [q for q in unkept if q.span is None]
            self.spool.sync()  # now the only copy: make it survive a power loss too
        if len(unkept) < len(batch) and not self._warned_failure:
            self._warned_failure = True
            where = self.spool.path if self.spool is not None else "nowhere (spool off)"
            self._warn(
                f"tracking rows not written to the database ({reason}); "
                f"they are kept in {where}: run `salesctl costs flush` once it is reachable"
            )
        if unkept:
            self._to_stderr(unkept, reason)

    def _to_stderr(self, unkept: list[_Queued], reason: str) -> None:
        """The last resort: the records on stderr, in lines `costs flush --import` reads."""
        self.stats.to_stderr += len(unkept)
        if not self._warned_stderr:
            self._warned_stderr = True
            spool = "off" if self.spool is None else f"{self.spool.path}: {self._spool_error()}"
            self._warn(
                f"tracking records could be kept neither in the database ({reason}) nor in the "
                f"spool ({spool}); they follow on stderr as `{STDERR_MARKER}` lines: save them "
                "to a file and run `salesctl costs flush --import FILE` once there is room"
            )
        lines = "".join(
            f"{STDERR_MARKER} {q.record.to_json_line(self.database).decode()}" for q in unkept
        )
        try:
            sys.stderr.write(lines)
            sys.stderr.flush()
        except (OSError, ValueError) as exc:
            log.error("%d tracking records lost: stderr failed too (%s)", len(unkept), exc)

    def _spool_error(self) -> str:
        failure = self.spool.failure if self.spool is not None else None
        return (failure.strerror or str(failure)) if failure is not None else "unusable"


async def fold_into_rollups(
    engine: AsyncEngine, *, wait: bool = False, limit: int | None = None
) -> bool:
    """Fold committed tracking rows into the report rollups; True when another fold held
    the lock (PostgreSQL, without `wait`). Best effort: the rows are committed already, and
    a report folds whatever is left, so a failure is only logged."""
    from salesctl.reports.rollups import fold

    try:
        return (await fold(engine, wait=wait, limit=limit)).skipped
    except Exception as exc:  # e.g. a database without the rollup tables
        log.debug("folding tracking rows into the rollups failed: %s", exc)
        return False


def _write_at_exit() -> None:
    for writer in list(_live_writers):
        writer.write_at_exit()


async def _insert_settling(
    engine: AsyncEngine, rows: list[dict[str, Any]], settlements: dict[Settle, list[Any]]
) -> None:
    """Insert the rows; with settlements, in one transaction that also runs them."""
    from sqlalchemy.exc import IntegrityError

    if not settlements:
        await insert_rows(engine, rows, count=False)
        return
    try:
        async with engine.begin() as conn:
            await _insert_batch(conn, rows, count=False)
            for settle, items in settlements.items():
                await settle(conn, items)
        return
    except IntegrityError:
        pass  # a row for a deleted lead: insert row by row, then settle on its own
    await insert_rows(engine, rows, count=False)
    async with engine.begin() as conn:
        for settle, items in settlements.items():
            await settle(conn, items)


# --- replay ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay of the spool found and did."""

    inserted: int = 0
    """Records that were missing from the database and are in it now."""
    already_present: int = 0
    """Pending records whose `request_id` the database already had (nothing inserted)."""
    other_database: int = 0
    """Records spooled for another database, left in the spool."""
    damaged: int = 0
    """Lines that are not records (skipped)."""

    @property
    def replayed(self) -> int:
        return self.inserted + self.already_present


@dataclass(slots=True)
class _Pending:
    rows: list[tuple[Span | None, dict[str, Any]]] = field(default_factory=list)
    """Rows to insert, with their span in the current spool (None: from a set-aside one)."""
    other_database: int = 0
    damaged: int = 0


def _collect(
    pending: _Pending, lines: Iterable[tuple[Span, bytes]], database: str | None, *, main: bool
) -> None:
    for span, line in lines:
        if not line.strip():
            continue  # a probe of a spool that had been failing
        data = parse_line(line)
        try:
            if data is None:
                raise ValueError("not a JSON record")
            if database is not None and data.get(DATABASE_KEY, database) != database:
                pending.other_database += 1
                continue
            pending.rows.append((span if main else None, TrackingRecord.from_json(data).to_row()))
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            pending.damaged += 1
            log.warning("skipping a damaged spool line at byte %d: %s", span[0], exc)


def _load_pending(path: Path, generation: str | None, database: str | None) -> _Pending:
    pending = _Pending()
    if generation is not None and path.exists():
        header = read_header(path)
        if header is not None and header.generation == generation:
            committed = read_progress(path, generation)
            _collect(
                pending, pending_lines(path, committed, start=header.length), database, main=True
            )
    for aside in aside_files(path):
        _collect(pending, pending_lines(aside, []), database, main=False)
    return pending


async def replay(
    engine: AsyncEngine,
    path: Path,
    *,
    this_database_only: bool = False,
    batch_size: int = BATCH_SIZE,
) -> ReplayResult:
    """Insert every spooled record not yet in the database (spools set aside included),
    then compact the spool if no other process is using it.

    Safe to run any number of times, also while salesctl is tracking calls: rows already
    present (by `request_id`) are skipped. With `this_database_only`, records spooled for
    another database (by URL, ignoring the password) stay in the spool.
    """
    database = database_tag(engine.url) if this_database_only else None
    if is_settled(path) and not aside_dir(path).exists():
        return ReplayResult()
    spool = Spool(path)
    inserted = replayed = 0
    landed: set[str] = set()
    try:
        spool.hold()  # no compaction may move lines between reading them and marking them
        await asyncio.to_thread(spool.open, create=False)  # sets a damaged spool aside
        pending = await asyncio.to_thread(_load_pending, path, spool.generation, database)
        for first in range(0, len(pending.rows), batch_size):
            chunk = pending.rows[first : first + batch_size]
            inserted += await insert_rows(engine, [row for _, row in chunk])
            replayed += len(chunk)
            spool.mark_committed(span for span, _ in chunk if span is not None)
            landed.update(row["request_id"] for span, row in chunk if span is None)
    finally:
        spool.close()
    if replayed or pending.damaged or aside_dir(path).exists():
        with contextlib.suppress(OSError):
            await asyncio.to_thread(compact, path, landed=frozenset(landed))
    if inserted:
        await fold_into_rollups(engine)  # here, not in the next report
    return ReplayResult(
        inserted=inserted,
        already_present=replayed - inserted,
        other_database=pending.other_database,
        damaged=pending.damaged,
    )


async def replay_spool(engine: AsyncEngine, path: Path, *, batch_size: int = BATCH_SIZE) -> int:
    """Insert every spooled record not yet in the database; returns how many were inserted.

    Safe to run any number of times, also while salesctl is tracking calls: rows already
    present (by `request_id`) are skipped.
    """
    return (await replay(engine, path, batch_size=batch_size)).inserted


def read_exported(text: str) -> tuple[list[dict[str, Any]], int]:
    """The records in `text`: stderr lines marked `STDERR_MARKER` (or bare spool lines), and
    how many marked lines were damaged. Other lines (a whole stderr log) are ignored."""
    found: list[dict[str, Any]] = []
    damaged = 0
    for raw in text.splitlines():
        line = raw.strip()
        marked = line.startswith(STDERR_MARKER)
        if marked:
            line = line.removeprefix(STDERR_MARKER).strip()
        elif not line.startswith(RECORD_START.decode()):
            continue
        data = parse_line(line.encode())
        try:
            if data is None:
                raise ValueError("not a JSON record")
            found.append(TrackingRecord.from_json(data).to_row())
        except (ValueError, KeyError, TypeError, ArithmeticError):
            damaged += 1
    return found, damaged


async def import_records(engine: AsyncEngine, text: str) -> ReplayResult:
    """Insert the records `read_exported` finds in `text` (idempotent, by request id)."""
    rows, damaged = read_exported(text)
    inserted = 0
    for first in range(0, len(rows), BATCH_SIZE):
        inserted += await insert_rows(engine, rows[first : first + BATCH_SIZE])
    if inserted:
        await fold_into_rollups(engine)  # here, not in the next report
    return ReplayResult(inserted=inserted, already_present=len(rows) - inserted, damaged=damaged)
