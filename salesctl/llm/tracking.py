"""Tracking rows for `ai_cost_tracking`, written without slowing the call that made them.

`TrackingWriter.submit()` appends the record as one JSON line to the spool
(`<data dir>/spool/tracking.jsonl`, the write-ahead log) and queues it; a background task
inserts queued records in batches through its own connection (`INSERT … ON CONFLICT
(request_id) DO NOTHING`), so the caller's transaction is never touched. After each batch
commits, the byte ranges of its spool lines are appended to `tracking.progress`, so
`replay_spool()` inserts only what is missing (and is idempotent by `request_id` anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("salesctl.tracking")

Status = Literal["ok", "error", "refused"]
Span = tuple[int, int]

SPOOL_NAME = "tracking.jsonl"
PROGRESS_NAME = "tracking.progress"
BATCH_SIZE = 500


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

    def to_row(self) -> dict[str, Any]:
        """Column values for the insert (shallow: the record is not touched afterwards)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}

    def to_json_line(self) -> bytes:
        """One spool line; `request_id` comes first so tools can pick it out cheaply."""
        data = self.to_row()
        data["timestamp"] = self.timestamp.isoformat()
        data["cost_usd"] = None if self.cost_usd is None else str(self.cost_usd)
        data["saved_usd"] = None if self.saved_usd is None else str(self.saved_usd)
        return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrackingRecord:
        values = {k: v for k, v in data.items() if k in RECORD_FIELDS}
        values["timestamp"] = datetime.fromisoformat(values["timestamp"])
        for money in ("cost_usd", "saved_usd"):
            if values.get(money) is not None:
                values[money] = Decimal(values[money])
        return cls(**values)


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TrackingRecord))


# --- the spool (write-ahead log) -------------------------------------------------------------


def spool_path(data_dir: Path) -> Path:
    return data_dir / "spool" / SPOOL_NAME


def progress_path(spool: Path) -> Path:
    return spool.with_name(PROGRESS_NAME)


def _open_private(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


class Spool:
    """Append-only JSON lines (0600), no fsync per call; knows where each line landed."""

    def __init__(self, path: Path, *, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._fd: int | None = None
        self._progress_fd: int | None = None
        self._warn = warn or log.warning
        self.broken = False

    def append(self, line: bytes) -> Span | None:
        """Write one line; its byte range in the file, or None when the spool is unusable."""
        if self.broken:
            return None
        try:
            if self._fd is None:
                self._fd = _open_private(self.path)
            written = os.write(self._fd, line)
            while written < len(line):  # a short write (disk nearly full): finish the line
                written += os.write(self._fd, line[written:])
            end = os.lseek(self._fd, 0, os.SEEK_CUR)
        except OSError as exc:
            self.broken = True
            self._warn(
                f"tracking spool {self.path} unusable ({exc.strerror or exc}); "
                "rows still go to the database but are not protected against a crash"
            )
            return None
        return (end - len(line), end)

    def mark_committed(self, spans: Iterable[Span]) -> None:
        """Record that these lines are in the database (merged into as few ranges as possible)."""
        merged = _merge(spans)
        if not merged or self.broken:
            return
        try:
            if self._progress_fd is None:
                self._progress_fd = _open_private(progress_path(self.path))
            os.write(self._progress_fd, "".join(f"{s} {e}\n" for s, e in merged).encode())
        except OSError as exc:
            log.debug("cannot record spool progress: %s", exc)

    def close(self) -> None:
        for fd in (self._fd, self._progress_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._progress_fd = None


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def read_progress(spool: Path) -> list[Span]:
    """The merged byte ranges of spool lines known to be in the database."""
    path = progress_path(spool)
    if not path.exists():
        return []
    spans: list[Span] = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            spans.append((int(parts[0]), int(parts[1])))
    return _merge(spans)


# --- inserting ------------------------------------------------------------------------------


def _insert_statement(dialect: str) -> Any:
    from sqlalchemy import Table
    from sqlalchemy.dialects import postgresql, sqlite

    from salesctl.db.models import AICostTracking

    table = AICostTracking.__table__
    assert isinstance(table, Table)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: Any = insert(table)
    return statement.on_conflict_do_nothing(index_elements=["request_id"]).returning(
        table.c.request_id
    )


async def _insert_batch(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    result = await conn.execute(_insert_statement(conn.dialect.name), rows)
    return len(result.all())


async def insert_rows(engine: AsyncEngine, rows: list[dict[str, Any]]) -> int:
    """Insert tracking rows, skipping request ids already present; returns how many went in.

    A batch that violates a constraint is retried row by row; a row whose lead no longer
    exists (or never did) is kept with `lead_id` cleared rather than lost.
    """
    from sqlalchemy.exc import IntegrityError

    if not rows:
        return 0
    try:
        async with engine.begin() as conn:
            return await _insert_batch(conn, rows)
    except IntegrityError:
        pass
    inserted = 0
    for row in rows:
        try:
            async with engine.begin() as conn:
                inserted += await _insert_batch(conn, [row])
        except IntegrityError:
            if row.get("lead_id") is None:
                raise
            log.warning(
                "lead %s does not exist; call %s tracked without its lead",
                row["lead_id"],
                row["request_id"],
            )
            async with engine.begin() as conn:
                inserted += await _insert_batch(conn, [{**row, "lead_id": None}])
    return inserted


# --- the background writer ------------------------------------------------------------------


@dataclass(slots=True)
class _Queued:
    record: TrackingRecord
    span: Span | None


@dataclass(slots=True)
class WriterStats:
    submitted: int = 0
    written: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class TrackingWriter:
    """Queues tracking records and inserts them in batches from a background task."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        spool: Path | None,
        batch_size: int = BATCH_SIZE,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self._warn = warn or log.warning
        self.spool = Spool(spool, warn=self._warn) if spool is not None else None
        self.stats = WriterStats()
        self._queue: asyncio.Queue[_Queued] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._carried: list[_Queued] = []
        self._task: asyncio.Task[None] | None = None
        self._warned_failure = False

    def submit(self, record: TrackingRecord) -> None:
        """Spool the record (durable once the OS has it) and queue it for the database."""
        span = self.spool.append(record.to_json_line()) if self.spool is not None else None
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:
            self._adopt(loop)
        assert self._queue is not None
        self._queue.put_nowait(_Queued(record, span))
        self.stats.submitted += 1
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="salesctl-tracking-writer")

    def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start queueing on `loop`, carrying over anything a previous (closed) loop left."""
        previous, self._queue = self._queue, asyncio.Queue()
        carried, self._carried = self._carried, []
        for item in carried:
            self._queue.put_nowait(item)
        while previous is not None and not previous.empty():
            self._queue.put_nowait(previous.get_nowait())
        self._loop = loop
        self._task = None

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
            await self._queue.join()

    async def aclose(self) -> None:
        await self.flush()
        if self._task is not None and self._loop is asyncio.get_running_loop():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.spool is not None:
            self.spool.close()

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self.batch_size and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                # The loop is going away mid-write (asyncio.run ending): not known to be in
                # the database, so the next loop writes it again (duplicates are ignored).
                self._carried.extend(batch)
                raise
            finally:
                for _ in batch:
                    queue.task_done()

    async def _write(self, batch: list[_Queued]) -> None:
        from salesctl.db.session import describe_db_error

        try:
            await insert_rows(self.engine, [q.record.to_row() for q in batch])
        except Exception as exc:  # the call already succeeded: a tracking failure must not raise
            self.stats.failed += len(batch)
            self.stats.errors.append(describe_db_error(exc))
            if not self._warned_failure:
                self._warned_failure = True
                where = self.spool.path if self.spool is not None else "nowhere (spool off)"
                self._warn(
                    f"tracking rows not written to the database ({describe_db_error(exc)}); "
                    f"they are kept in {where}: run `salesctl costs flush` once it is reachable"
                )
            return
        self.stats.written += len(batch)
        if self.spool is not None:
            self.spool.mark_committed(q.span for q in batch if q.span is not None)


# --- replay ---------------------------------------------------------------------------------


def _pending_lines(path: Path, committed: list[Span]) -> Iterable[tuple[Span, bytes]]:
    """Complete spool lines not covered by a committed range, with their byte ranges."""
    index = 0
    offset = 0
    with path.open("rb") as spool:
        for line in spool:
            start, offset = offset, offset + len(line)
            if not line.endswith(b"\n"):
                break  # a line cut short by a crash: not a record
            while index < len(committed) and committed[index][1] <= start:
                index += 1
            if (
                index < len(committed)
                and committed[index][0] <= start
                and offset <= committed[index][1]
            ):
                continue
            yield (start, offset), line


def _load_pending(path: Path) -> list[tuple[Span, dict[str, Any]]]:
    if not path.exists():
        return []
    pending: list[tuple[Span, dict[str, Any]]] = []
    for span, line in _pending_lines(path, read_progress(path)):
        try:
            pending.append((span, TrackingRecord.from_json(json.loads(line)).to_row()))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("skipping a damaged spool line at byte %d: %s", span[0], exc)
    return pending


async def replay_spool(engine: AsyncEngine, path: Path, *, batch_size: int = BATCH_SIZE) -> int:
    """Insert every spooled record not yet in the database; returns how many were inserted.

    Safe to run any number of times, also while salesctl is tracking calls: rows already
    present (by `request_id`) are skipped.
    """
    pending = await asyncio.to_thread(_load_pending, path)
    if not pending:
        return 0
    spool = Spool(path)
    inserted = 0
    try:
        for first in range(0, len(pending), batch_size):
            chunk = pending[first : first + batch_size]
            inserted += await insert_rows(engine, [row for _, row in chunk])
            spool.mark_committed(span for span, _ in chunk)
    finally:
        spool.close()
    return inserted
