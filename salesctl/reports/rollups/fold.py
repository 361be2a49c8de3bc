"""The write path: fold new detail rows into the rollups exactly once (see the package doc)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from salesctl.reports.rollups.sums import COUNT_METRICS
from salesctl.reports.rollups.tables import (
    FACETS,
    LEAD_TOTALS,
    ROLLUPS,
    STATE_NAME,
    Rollup,
    detail_metric,
    gap_table,
    group_key,
    hour_of,
    scope_condition,
    state_table,
    time_of,
    tracking_table,
)

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Table
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

FOLD_CHUNK = 500_000
"""Ids folded per transaction, so a first fold over millions of rows commits as it goes."""
GAP_SETTLE = timedelta(seconds=10)
"""How long after a gap is seen its xid horizon is taken (the owner has its xid by then)."""
FOLD_LOCK_KEY = 0x5A1E_C051
"""PostgreSQL advisory lock serialising folds and prunes."""
ANALYZE_AFTER = 50_000
"""Rows folded at once after which the rollups' planner statistics are refreshed; small folds
(a writer's batches) refresh them each time the watermark passes a power of two above this,
so the statistics keep up at a cost that stays proportional to the rows folded."""
ID_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class FoldResult:
    """What one `fold()` did."""

    rows: int = 0
    watermark: int = 0
    gaps_open: int = 0
    skipped: bool = False
    seconds: float = 0.0


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def fold_statement(rollup: Rollup, dialect: str, rows: ColumnElement[bool]) -> Any:
    """INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE adding `rows` into `rollup`."""
    from sqlalchemy import select

    t = tracking_table()
    when = time_of(rollup.grain, dialect, t.c.timestamp)
    keys = [when, *(group_key(t, d) for d in rollup.dims)]
    scope = scope_condition(rollup.scope, t)
    conditions = [rows] + ([scope] if scope is not None else [])
    query = (
        select(
            when.label(rollup.time_key),
            *(k.label(d) for k, d in zip(keys[1:], rollup.dims, strict=True)),
            *(detail_metric(m, t, dialect).label(m) for m in rollup.metrics),
        )
        .where(*conditions)
        .group_by(*keys)
    )
    target = rollup.table
    columns = [rollup.time_key, *rollup.dims, *rollup.metrics]
    insert = _insert(dialect, target).from_select(columns, query, include_defaults=False)
    return insert.on_conflict_do_update(
        index_elements=[rollup.time_key, *rollup.dims],
        set_={m: target.c[m] + insert.excluded[m] for m in rollup.metrics},
    )


def lead_totals_fold_statement(dialect: str, rows: ColumnElement[bool]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding `rows` into the per-lead totals, every facet in
    one pass over the detail rows (first/last hours take the min/max, sums add)."""
    from sqlalchemy import case, func, literal_column, select, true, union_all

    from salesctl.db.models.analytics import LeadTotal

    t = tracking_table()
    # A UNION of literals rather than VALUES: SQLAlchemy caches this statement's compiled form.
    facet_type = LeadTotal.facet.type
    facets = union_all(
        *(select(literal_column(f"'{f}'", facet_type).label("facet")) for f in FACETS)
    ).cte("facets")
    value = case(
        (facets.c.facet == "agent_type", t.c.agent_type),
        (facets.c.facet == "provider", t.c.provider),
        (facets.c.facet == "model", t.c.model),
        else_=literal_column("''"),
    )
    query = (
        select(
            facets.c.facet,
            value.label("value"),
            t.c.lead_id,
            hour_of(dialect, func.min(t.c.timestamp)).label("first_hour"),
            hour_of(dialect, func.max(t.c.timestamp)).label("last_hour"),
            *(detail_metric(m, t, dialect).label(m) for m in COUNT_METRICS),
        )
        .select_from(t.join(facets, true()))
        .where(rows, t.c.lead_id.is_not(None))
        .group_by(facets.c.facet, value, t.c.lead_id)
    )
    target = LeadTotal.__table__
    names = ["facet", "value", "lead_id", "first_hour", "last_hour", *COUNT_METRICS]
    insert = _insert(dialect, target).from_select(names, query)
    least, greatest = (
        (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
    )
    updates: dict[str, Any] = {m: target.c[m] + insert.excluded[m] for m in COUNT_METRICS}
    updates["first_hour"] = least(target.c.first_hour, insert.excluded.first_hour)
    updates["last_hour"] = greatest(target.c.last_hour, insert.excluded.last_hour)
    return insert.on_conflict_do_update(index_elements=["facet", "value", "lead_id"], set_=updates)


def fold_statements(dialect: str, rows: ColumnElement[bool]) -> list[Any]:
    """Every rollup's fold statement for the detail rows `rows`."""
    return [
        *(fold_statement(rollup, dialect, rows) for rollup in ROLLUPS),
        lead_totals_fold_statement(dialect, rows),
    ]


_range_statements: dict[str, list[Any]] = {}


def _id_range_statements(dialect: str) -> list[Any]:
    """`fold_statements` for the ids in (:fold_lo, :fold_hi], built once per dialect:
    building them costs more than folding a writer's batch."""
    statements = _range_statements.get(dialect)
    if statements is None:
        from sqlalchemy import and_, bindparam

        t = tracking_table()
        rows = and_(t.c.id > bindparam("fold_lo"), t.c.id <= bindparam("fold_hi"))
        statements = _range_statements[dialect] = fold_statements(dialect, rows)
    return statements


async def fold(
    engine: AsyncEngine,
    *,
    wait: bool = False,
    chunk: int = FOLD_CHUNK,
    gap_settle: timedelta = GAP_SETTLE,
    limit: int | None = None,
) -> FoldResult:
    """Fold new detail rows into the rollups (own connection, commits per chunk).

    On PostgreSQL concurrent folds are serialised by an advisory lock; without `wait` a fold
    that finds the lock taken returns at once (reports stay exact, reading the tail instead).
    With `limit`, at most that many ids above the watermark are taken on (one transaction);
    the rest wait for the next fold.
    """
    import time

    started = time.perf_counter()
    if limit is not None:
        chunk = min(chunk, max(1, limit))
    once = limit is not None
    if engine.dialect.name == "postgresql":
        result, before = await _fold_postgres(
            engine, wait=wait, chunk=chunk, gap_settle=gap_settle, once=once
        )
    else:
        result, before = await _fold_sqlite(engine, chunk=chunk, once=once)
    if result.rows >= ANALYZE_AFTER or _passed_a_power_of_two(before, result.watermark):
        await _analyze_rollups(engine)
    return FoldResult(
        rows=result.rows,
        watermark=result.watermark,
        gaps_open=result.gaps_open,
        skipped=result.skipped,
        seconds=time.perf_counter() - started,
    )


def _passed_a_power_of_two(before: int, after: int) -> bool:
    return after >= ANALYZE_AFTER and after.bit_length() > before.bit_length()


async def _analyze_rollups(engine: AsyncEngine) -> None:
    """Fresh planner statistics once a fold has grown the rollups noticeably; on PostgreSQL
    also a VACUUM, so the visibility map lets reads scan the rollups' indexes alone."""
    from sqlalchemy import text

    verb = "VACUUM (ANALYZE)" if engine.dialect.name == "postgresql" else "ANALYZE"
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in (*(rollup.table_name for rollup in ROLLUPS), LEAD_TOTALS):
            await conn.execute(text(f"{verb} {name}"))


async def _fold_sqlite(engine: AsyncEngine, *, chunk: int, once: bool) -> tuple[FoldResult, int]:
    rows = 0
    before: int | None = None
    async with engine.connect() as conn:
        # BEGIN IMMEDIATE: the transaction holds SQLite's write lock from its start (waiting
        # for it, as writer processes folding at once do), so every read below sees one
        # stable state and no other fold can move the watermark meanwhile.
        await conn.execution_options(sqlite_begin="IMMEDIATE")
        while True:
            async with conn.begin():
                folded, start, watermark, done = await _fold_pass(conn, chunk=chunk)
            before = start if before is None else before
            rows += folded
            if done or once:
                return FoldResult(rows=rows, watermark=watermark), before


async def _fold_postgres(
    engine: AsyncEngine, *, wait: bool, chunk: int, gap_settle: timedelta, once: bool
) -> tuple[FoldResult, int]:
    from sqlalchemy import func, select

    rows = 0
    before: int | None = None
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        lock = func.pg_advisory_lock if wait else func.pg_try_advisory_lock
        got = (await conn.execute(select(lock(FOLD_LOCK_KEY)))).scalar()
        await conn.commit()
        if got is False:
            return FoldResult(skipped=True), 0
        try:
            # One snapshot per pass: every rollup sees exactly the same detail rows.
            await conn.execution_options(isolation_level="REPEATABLE READ")
            first = True
            while True:
                async with conn.begin():
                    if first:
                        rows += await _refold_gaps(conn, gap_settle=gap_settle)
                    folded, start, watermark, done = await _fold_pass(conn, chunk=chunk)
                    open_gaps = await _count_gaps(conn)
                first = False
                before = start if before is None else before
                rows += folded
                if done or once:
                    result = FoldResult(rows=rows, watermark=watermark, gaps_open=open_gaps)
                    return result, before
        finally:
            if conn.in_transaction():
                await conn.rollback()
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(select(func.pg_advisory_unlock(FOLD_LOCK_KEY)))
            await conn.commit()


async def _ensure_state(conn: AsyncConnection) -> int:
    """Create the state row if missing and return the watermark."""
    from sqlalchemy import select

    state = state_table()
    dialect = conn.dialect.name
    await conn.execute(
        _insert(dialect, state)
        .values(name=STATE_NAME, folded_through_id=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    watermark = (
        await conn.execute(select(state.c.folded_through_id).where(state.c.name == STATE_NAME))
    ).scalar_one()
    return int(watermark)


async def _fold_pass(conn: AsyncConnection, *, chunk: int) -> tuple[int, int, int, bool]:
    """Fold up to `chunk` ids above the watermark: (rows folded, old and new watermark, done)."""
    from sqlalchemy import func, select, update

    t = tracking_table()
    dialect = conn.dialect.name
    watermark = await _ensure_state(conn)
    max_id = (await conn.execute(select(func.max(t.c.id)))).scalar()
    if max_id is None or max_id <= watermark:
        return 0, watermark, watermark, True
    high = min(int(max_id), watermark + chunk)
    in_range = t.c.id > watermark, t.c.id <= high
    present = (await conn.execute(select(func.count()).where(*in_range))).scalar_one()
    for statement in _id_range_statements(dialect):
        await conn.execute(statement, {"fold_lo": watermark, "fold_hi": high})
    if dialect == "postgresql" and present < high - watermark:
        await _record_gaps(conn, watermark, high)
    state = state_table()
    await conn.execute(
        update(state)
        .where(state.c.name == STATE_NAME)
        .values(folded_through_id=high, folded_at=datetime.now(UTC))
    )
    return int(present), watermark, high, high >= max_id


async def _record_gaps(conn: AsyncConnection, watermark: int, high: int) -> None:
    """Store the ids in (watermark, high] that this snapshot does not show, as ranges."""
    from sqlalchemy import func, select

    t = tracking_table()
    pairs = select(t.c.id.label("id"), func.lead(t.c.id).over(order_by=t.c.id).label("next_id"))
    ids = pairs.where(t.c.id > watermark, t.c.id <= high).subquery()
    inner = select(ids.c.id + 1, ids.c.next_id - 1).where(ids.c.next_id > ids.c.id + 1)
    ranges = [(int(lo), int(hi)) for lo, hi in (await conn.execute(inner)).all()]
    bounds = (
        await conn.execute(
            select(func.min(t.c.id), func.max(t.c.id)).where(t.c.id > watermark, t.c.id <= high)
        )
    ).one()
    if bounds[0] is None:
        ranges.append((watermark + 1, high))
    else:
        if bounds[0] > watermark + 1:
            ranges.append((watermark + 1, int(bounds[0]) - 1))
        if bounds[1] < high:
            ranges.append((int(bounds[1]) + 1, high))
    if ranges:
        now = datetime.now(UTC)
        await conn.execute(
            gap_table().insert(), [{"lo": lo, "hi": hi, "found_at": now} for lo, hi in ranges]
        )


async def _refold_gaps(conn: AsyncConnection, *, gap_settle: timedelta) -> int:
    """Fold rows that appeared in gaps, split the ranges around them, drop settled gaps."""
    from sqlalchemy import and_, delete, select, text, update

    gaps = gap_table()
    t = tracking_table()
    open_gaps = (await conn.execute(select(gaps).order_by(gaps.c.lo))).all()
    if not open_gaps:
        return 0
    found = [
        int(i)
        for i in (
            await conn.execute(
                select(t.c.id)
                .join(gaps, and_(t.c.id >= gaps.c.lo, t.c.id <= gaps.c.hi))
                .order_by(t.c.id)
            )
        ).scalars()
    ]
    for start in range(0, len(found), ID_BATCH):
        batch = found[start : start + ID_BATCH]
        for statement in fold_statements("postgresql", t.c.id.in_(batch)):
            await conn.execute(statement)
    if found:
        await _split_gaps(conn, open_gaps, found)
    snapshot = (
        await conn.execute(
            text(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
                "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
            )
        )
    ).one()
    xmin, xmax = int(snapshot[0]), int(snapshot[1])
    now = datetime.now(UTC)
    await conn.execute(
        delete(gaps).where(gaps.c.horizon_xid.is_not(None), gaps.c.horizon_xid < xmin)
    )
    await conn.execute(
        update(gaps)
        .where(gaps.c.horizon_xid.is_(None), gaps.c.found_at <= now - gap_settle)
        .values(horizon_xid=xmax)
    )
    return len(found)


async def _split_gaps(conn: AsyncConnection, open_gaps: Sequence[Any], found: list[int]) -> None:
    from sqlalchemy import delete

    gaps = gap_table()
    found_set = set(found)
    for gap in open_gaps:
        inside = sorted(i for i in found_set if gap.lo <= i <= gap.hi)
        if not inside:
            continue
        pieces: list[tuple[int, int]] = []
        cursor = gap.lo
        for i in inside:
            if i > cursor:
                pieces.append((cursor, i - 1))
            cursor = i + 1
        if cursor <= gap.hi:
            pieces.append((cursor, gap.hi))
        await conn.execute(delete(gaps).where(gaps.c.lo == gap.lo))
        if pieces:
            await conn.execute(
                gaps.insert(),
                [
                    {"lo": lo, "hi": hi, "horizon_xid": gap.horizon_xid, "found_at": gap.found_at}
                    for lo, hi in pieces
                ],
            )


async def _count_gaps(conn: AsyncConnection) -> int:
    from sqlalchemy import func, select

    return int((await conn.execute(select(func.count()).select_from(gap_table()))).scalar_one())
